"""Signing in, in the browser: first sign-in, lock-out, keyboard only, signing out."""

from __future__ import annotations

import re

from browser_helpers import PASSWORD, WebServer, sign_in
from playwright.sync_api import BrowserContext, expect

from precursorwatch.web.i18n import gettext

INBOX = re.compile(r"/inbox(\?.*)?$")


def test_first_sign_in_asks_for_a_password_of_ones_own(web_server: WebServer,
                                                      context: BrowserContext,
                                                      other_context: BrowserContext) -> None:
    email, one_time = web_server.add_new("MX", "new.officer@mx.example", "officer")
    page = context.new_page()
    sign_in(page, web_server, email, one_time)
    expect(page).to_have_url(re.compile(r"/password"))
    expect(page.locator("h1")).to_have_text("Choose your password")
    # Anything else first sends them back to choose it.
    page.goto(f"{web_server.url}/inbox")
    expect(page).to_have_url(re.compile(r"/password"))
    form = page.locator("#password-form")
    form.get_by_label("New password", exact=True).fill("short")
    form.get_by_label("New password again").fill("short")
    form.locator("button[type=submit]").click()
    # The browser's own minlength check or the server's message: either way no change.
    expect(page).to_have_url(re.compile(r"/password"))
    form.get_by_label("New password", exact=True).fill("a password of my own")
    form.get_by_label("New password again").fill("a password of my own")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(INBOX)

    # The one-time password is spent; the new one opens the inbox at once.
    again = other_context.new_page()
    sign_in(again, web_server, email, one_time)
    expect(again.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(again, web_server, email, "a password of my own")
    expect(again).to_have_url(INBOX)


def test_five_wrong_passwords_lock_the_person_out(web_server: WebServer,
                                                 context: BrowserContext) -> None:
    email = web_server.add("US", "careless@us.example", "observer")
    page = context.new_page()
    for attempt in range(1, 5):
        sign_in(page, web_server, email, f"not the password {attempt}")
        expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(page, web_server, email, "not the password 5")
    locked = gettext("en", "Too many failed sign-ins. Try again in %(minutes)s minutes.",
                     minutes=15)
    expect(page.get_by_role("alert")).to_have_text(locked)
    # Locked: even the right password is refused, with the same message.
    sign_in(page, web_server, email, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page).to_have_url(re.compile(r"/login"))


def test_sign_in_with_the_keyboard_alone(web_server: WebServer,
                                         context: BrowserContext) -> None:
    email = web_server.add("CN", "keyboard@cn.example", "observer")
    page = context.new_page()
    page.goto(f"{web_server.url}/login")
    # The e-mail field has the focus on arrival; Tab goes to the password; Enter sends.
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    # Where the focus is can be seen: an outline of at least 2 px (the browser's own is 1 px).
    style, width = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                                 " return [s.outlineStyle, s.outlineWidth]; })()")
    assert style not in ("none", "auto") and float(width.removesuffix("px")) >= 2, (style, width)
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(INBOX)
    # Tabbing from the top reaches the sign-out button, and Enter signs out.
    button = page.locator("form[action='/logout'] button")
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    expect(button).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_page_asks_for_sign_in_and_returns_there(web_server: WebServer,
                                                  context: BrowserContext) -> None:
    email = web_server.add("MX", "returning@mx.example", "observer")
    page = context.new_page()
    page.goto(f"{web_server.url}/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    form = page.locator("#login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
