"""Accessibility of the main pages, checked in the browser by axe-core (the copy bundled in the
axe-playwright-python package, MPL-2.0; nothing is downloaded): no serious or critical
violation (contrast, labels, names of links and buttons, landmarks, language of the page)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import WebServer, sign_in
from playwright.sync_api import Browser, Page, expect

from precursorwatch.exchange.alerts import ALERT_EXAMPLE, AlertIn, send_alert
from precursorwatch.exchange.incidents import report_incident
from precursorwatch.exchange.notifications import send_notification
from precursorwatch.exchange.permit_store import issue_permit
from precursorwatch.exchange.permits import PERMIT_EXAMPLE, PermitIn
from precursorwatch.exchange.schemas import IncidentIn, NotificationIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import public_authorities

SERIOUS = {"serious", "critical"}
PAGES = ["/inbox", "/notifications/{notification}", "/notifications/new", "/incidents",
         "/incidents/{incident}", "/incidents/new", "/screen", "/dashboard", "/audit", "/docs",
         "/permits", "/permits/{permit}", "/permits/new", "/permits/verify", "/alerts",
         "/alerts/{alert}"]


@pytest.fixture(scope="module")
def records(web_server: WebServer) -> dict[str, str]:
    """A notification CN -> MX, an incident MX shares with CN, a permit MX issues and an
    alert CN shares with MX, made through the services."""
    ex = web_server.ex
    callers = {a.code: Caller(a.id, a.code, a.name) for a in public_authorities(ex)}
    party = {"name": "Example Trading Co.", "address": "1 Example Road", "country": "CN"}
    body = NotificationIn.model_validate_json(json.dumps({
        "substance": "NPP", "quantity": 5, "unit": "kg", "exporter": party,
        "importer": {**party, "country": "MX"}, "importing_authority": "MX",
        "planned_shipment_date": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
        "point_of_entry": "Manzanillo"}))
    notification = json.loads(send_notification(ex, callers["CN"], body).text)["id"]
    incident = IncidentIn.model_validate_json(json.dumps({
        "kind": "seizure", "substance": "4-piperidone", "quantity": 2, "unit": "kg",
        "incident_date": dt.date.today().isoformat(), "shared_with": ["CN"]}))
    incident_id = json.loads(report_incident(ex, callers["MX"], incident).text)["id"]
    permit = PermitIn.model_validate({
        **PERMIT_EXAMPLE, "valid_from": dt.date.today().isoformat(),
        "valid_until": (dt.date.today() + dt.timedelta(days=180)).isoformat()})
    permit_id = json.loads(issue_permit(ex, callers["MX"], permit).text)["id"]
    alert = AlertIn.model_validate({**ALERT_EXAMPLE, "share_with": ["MX"]})
    alert_id = json.loads(send_alert(ex, callers["CN"], alert).text)["id"]
    return {"notification": notification, "incident": incident_id, "permit": permit_id,
            "alert": alert_id}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture
def approver_page(browser: Browser, web_server: WebServer) -> Iterator[Page]:
    """An MX approver's page: every form there is (sending, answering, reporting)."""
    email = f"approver.a11y.{len(web_server.people)}@mx.example"
    ctx = browser.new_context(locale="en-US", bypass_csp=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, web_server, web_server.add("MX", email, "approver"))
    yield page
    ctx.close()


def serious_violations(axe: Axe, page: Page, context: dict[str, Any] | None = None
                       ) -> list[dict[str, Any]]:
    """axe's serious and critical findings, each with the elements concerned."""
    found = axe.run(page, context=context).response["violations"]
    return [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found if v.get("impact") in SERIOUS]


def test_sign_in_page_is_accessible(browser: Browser, web_server: WebServer, axe: Axe) -> None:
    ctx = browser.new_context(locale="en-US", bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{web_server.url}/login")
    page.locator("#login-form").wait_for()
    found = serious_violations(axe, page)
    assert not found, found
    ctx.close()


@pytest.mark.parametrize("path", PAGES)
def test_main_pages_are_accessible(approver_page: Page, web_server: WebServer,
                                   records: dict[str, str], axe: Axe, path: str) -> None:
    response = approver_page.goto(web_server.url + path.format(**records))
    assert response is not None and response.status == 200, path
    approver_page.locator("main h1").first.wait_for()
    if path.startswith("/notifications/{"):
        approver_page.locator("#answer-form").wait_for()  # MX answers this one
    # /docs embeds Swagger UI as shipped (its own colours and nested controls): the page around
    # it is checked, the third-party widget is not ours to change.
    context = {"exclude": [["#swagger-ui"]]} if path == "/docs" else None
    found = serious_violations(axe, approver_page, context)
    assert not found, f"{path}: {found}"


def test_screening_report_is_accessible(approver_page: Page, web_server: WebServer,
                                        axe: Axe) -> None:
    approver_page.goto(f"{web_server.url}/screen")
    manifest = Path(str(files("precursorwatch.samples").joinpath("manifest.csv")))
    approver_page.locator("#screen-form input[type=file]").set_input_files(str(manifest))
    with approver_page.expect_navigation():
        approver_page.locator("#screen-form button[type=submit]").click()
    approver_page.get_by_test_id("screen-summary").wait_for()
    expect(approver_page.get_by_test_id("flagged-row").first).to_be_visible()
    found = serious_violations(axe, approver_page)
    assert not found, found


@pytest.mark.parametrize("lang", ["es", "zh"])
def test_translated_inbox_is_accessible(browser: Browser, web_server: WebServer,
                                        records: dict[str, str], axe: Axe, lang: str) -> None:
    ctx = browser.new_context(locale="en-US", bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, web_server, web_server.add("MX", f"reader.{lang}@mx.example", "observer",
                                             lang))
    page.goto(f"{web_server.url}/inbox")
    page.locator("main h1").first.wait_for()
    assert page.locator("html").get_attribute("lang", timeout=5_000) in (lang, "zh-Hans",
                                                                         "es-MX", "zh-CN")
    found = serious_violations(axe, page)
    assert not found, found
    ctx.close()
