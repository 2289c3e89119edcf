"""Screenshots of the web app's main pages for the README, taken from the `pwatch demo` data.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Seeds a fresh demo database in a temporary folder (as `pwatch demo` does), serves it on a free
loopback port and drives the machine's Chromium with Playwright: the inbox, a notification, the
new-notification form with a substance checked, a screened manifest and the dashboard in
English (as the US approver and officer), MX's import permit with its QR code in English (as
the MX approver, switched to English), the shipment alerts MX received with the red-flag
rules' figures in Spanish (as the MX officer), and the inbox in Chinese (as the CN approver).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from precursorwatch.demo import DEMO_PASSWORD, open_demo
from precursorwatch.exchange.http import server_options

VIEWPORT = ViewportSize(width=1280, height=860)


@contextmanager
def demo_server() -> Iterator[str]:
    """A freshly seeded demo behind uvicorn on a free loopback port; its address."""
    with tempfile.TemporaryDirectory() as folder:
        app = open_demo(Path(folder) / "exchange.db")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="off",
                                               **server_options()))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:  # uvicorn offers no event to wait on
            if time.monotonic() > deadline or not thread.is_alive():
                raise SystemExit("the demo server did not start")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.exchange.engine.dispose()


def signed_in(browser: Browser, url: str, email: str, locale: str = "en-US") -> Page:
    """A window of a browser in `locale` (its date fields follow it), signed in as `email`."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale, device_scale_factor=1)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.locator("#login-form input[name=email]").fill(email)
    page.locator("#login-form input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("#login-form button[type=submit]").click()
    return page


def shoot(page: Page, out: Path, name: str, *, at: str | None = None,
          until: str | None = None, margin: int = 12) -> None:
    """The top of the page as a person first sees it, or scrolled down to the element of
    test id `at`; with `until` (a CSS selector), a window just tall enough to end `margin`
    pixels below that element, so the picture does not stop halfway through a table row or
    a box."""
    page.locator("main h1").first.wait_for()
    page.set_viewport_size(VIEWPORT)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    top = 0.0
    if at is not None:
        top = page.get_by_test_id(at).evaluate(
            "e => e.getBoundingClientRect().top + window.scrollY - 12")
    if until is not None:
        bottom = page.locator(until).last.evaluate(
            "e => e.getBoundingClientRect().bottom + window.scrollY")
        page.set_viewport_size(ViewportSize(width=VIEWPORT["width"],
                                            height=round(bottom - top + margin)))
    page.evaluate(f"window.scrollTo(0, {top})")
    path = out / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"wrote {path}")


def take(browser: Browser, url: str, out: Path) -> None:
    approver = signed_in(browser, url, "approver@us.example")
    approver.goto(f"{url}/inbox")
    shoot(approver, out, "inbox")
    # The designer notification MX sent to US, still awaiting US's answer.
    row = approver.locator("[data-testid=notification-row]", has_text="benzylpiperidin")
    with approver.expect_navigation():
        row.get_by_role("link").first.click()
    shoot(approver, out, "notification")
    approver.goto(f"{url}/dashboard")
    shoot(approver, out, "dashboard")

    officer = signed_in(browser, url, "officer@us.example")
    officer.goto(f"{url}/notifications/new")
    officer.locator("#notification-form [name=substance]").fill("1-boc-4-AP")
    # The page checks the substance as it is typed; the picture shows the verdict.
    expect(officer.get_by_test_id("substance-check")).not_to_be_empty(timeout=15_000)
    officer.locator("#notification-form [name=quantity]").fill("25")
    officer.locator("#notification-form [name=unit]").select_option("kg")
    shoot(officer, out, "notification-new")
    officer.goto(f"{url}/screen")
    manifest = Path(str(files("precursorwatch.samples").joinpath("manifest.csv")))
    officer.locator("#screen-form input[type=file]").set_input_files(str(manifest))
    with officer.expect_navigation():
        officer.locator("#screen-form button[type=submit]").click()
    officer.get_by_test_id("screen-summary").wait_for()
    shoot(officer, out, "screen")

    # MX's permit for NPP from a CN exporter, read in English: the MX approver switches.
    permits = signed_in(browser, url, "approver@mx.example")
    permits.locator("#language").select_option("en")
    with permits.expect_navigation():
        permits.locator("#language-form button[type=submit]").click()
    permits.goto(f"{url}/permits")
    row = permits.locator("[data-testid=permit-row]", has_text="COFEPRIS-2026-000118")
    with permits.expect_navigation():
        row.get_by_role("link").first.click()
    permits.get_by_test_id("qr").locator("svg").wait_for()
    # Below the substance's evidence: the compact form and QR code to hand over, signed.
    shoot(permits, out, "permit", at="compact-form",
          until="section[aria-labelledby=h-signature]")

    # The alerts CN shared with MX, MX's answers and the rules' figures, in Spanish.
    alerts = signed_in(browser, url, "officer@mx.example", locale="es-MX")
    alerts.goto(f"{url}/alerts")
    alerts.get_by_test_id("rule-row").first.wait_for()
    shoot(alerts, out, "alerts", until="[data-testid=rule-country][data-rule=EXPRESS_OR_POST]",
          margin=1)

    chinese = signed_in(browser, url, "approver@cn.example")  # CN people read Chinese
    chinese.goto(f"{url}/inbox")
    shoot(chinese, out, "inbox-zh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium)
        try:
            take(browser, url, args.out)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
