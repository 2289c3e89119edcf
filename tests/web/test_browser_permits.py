"""An import permit in the browser: its page's copy button puts the compact form on the
clipboard (or selects it) and says so, and the check page reads that compact form as valid."""

from __future__ import annotations

import datetime as dt
import json

from browser_helpers import WebServer, sign_in
from playwright.sync_api import Browser, expect

from precursorwatch.exchange.permit_store import issue_permit
from precursorwatch.exchange.permits import PERMIT_EXAMPLE, PermitIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import public_authorities


def test_a_permits_compact_form_is_copied_and_checks_as_valid(browser: Browser,
                                                              web_server: WebServer) -> None:
    ex = web_server.ex
    mx = next(Caller(a.id, a.code, a.name) for a in public_authorities(ex) if a.code == "MX")
    p = json.loads(issue_permit(ex, mx, PermitIn.model_validate({
        **PERMIT_EXAMPLE, "valid_from": dt.date.today().isoformat(),
        "valid_until": (dt.date.today() + dt.timedelta(days=9)).isoformat()})).text)
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    email = f"copy.{len(web_server.people)}@mx.example"
    sign_in(page, web_server, web_server.add("MX", email, "approver"))
    page.goto(f"{web_server.url}/permits/{p['id']}")
    button = page.locator("button[data-copy=compact]")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("[data-copy-status=compact]")).to_have_text("Copied.")
    page.goto(f"{web_server.url}/permits/verify")
    page.locator("#permit").fill(p["compact"])
    with page.expect_navigation():
        page.locator("#verify-form button[type=submit]").click()
    expect(page.get_by_test_id("verification")).to_have_attribute("data-valid", "true")
    ctx.close()
