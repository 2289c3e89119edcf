"""What the browser tests share: the live server's handle and what a person does in a page."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page

from precursorwatch.demo import DemoPerson, enrol
from precursorwatch.exchange.service import Exchange

PASSWORD = "browser-test-password"


@dataclass
class WebServer:
    """The live app: its address, the running exchange, and who may sign in. Every person of
    `people` has `PASSWORD`; `one_time` holds people who still have their first password."""

    url: str
    ex: Exchange
    kind: str
    people: dict[str, DemoPerson] = field(default_factory=dict)
    one_time: dict[str, str] = field(default_factory=dict)

    def add(self, authority: str, email: str, role: str, language: str | None = None) -> str:
        """A person who signs in with PASSWORD (no change asked); their e-mail."""
        person = DemoPerson(authority, email, role, language)
        enrol(self.ex, person, PASSWORD)
        self.people[email] = person
        return email

    def add_new(self, authority: str, email: str, role: str) -> tuple[str, str]:
        """A person as `pwatch admin add-user` leaves them: e-mail and one-time password."""
        from precursorwatch.exchange.people import add_person

        new = add_person(self.ex.engine, authority, email, role)
        self.one_time[new.email] = new.password
        return new.email, new.password


# -- what a person does -----------------------------------------------------------------------
def sign_in(page: Page, server: WebServer, email: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-in form (waits for the next page to load)."""
    page.goto(f"{server.url}/login")
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
