"""Two authorities at work in two browsers: MX notifies US, US answers, MX sees the answer; in
English, Spanish and Chinese; and what another authority cannot open."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from browser_helpers import WebServer, sign_in
from playwright.sync_api import BrowserContext, Page, expect

from precursorwatch.exchange.notifications import send_notification
from precursorwatch.exchange.schemas import NotificationIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import public_authorities
from precursorwatch.web.i18n import gettext

NOTIFICATION_PAGE = re.compile(r"/notifications/([0-9a-f-]{36})(\?.*)?$")


def fill_notification(page: Page, substance: str, reference: str) -> None:
    """The new-notification form as an MX officer fills it, importer US."""
    form = page.locator("#notification-form")
    form.locator("[name=substance]").fill(substance)
    form.locator("[name=quantity]").fill("12.5")
    form.locator("[name=unit]").select_option("kg")
    form.locator("[name='exporter.name']").fill("Química Ejemplo S.A. de C.V.")
    form.locator("[name='exporter.country']").fill("MX")
    form.locator("[name='exporter.address']").fill("Av. Ejemplo 100, Zapopan, Jalisco")
    form.locator("[name='importer.name']").fill("Example Pharma Ingredients LLC")
    form.locator("[name='importer.country']").fill("US")
    form.locator("[name='importer.address']").fill("400 Example Blvd, Newark, NJ")
    form.locator("[name=importing_authority]").select_option("US")
    shipping = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    form.locator("[name=planned_shipment_date]").fill(shipping.isoformat())
    form.locator("[name=point_of_entry]").fill("Laredo")
    form.locator("[name=exporter_reference]").fill(reference)


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_notify_answer_and_see_the_answer(web_server: WebServer, context: BrowserContext,
                                          other_context: BrowserContext, lang: str) -> None:
    def t(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    if lang != "en":  # the pages below must really be in the language, not in English
        assert t("Inbox") != "Inbox" and t("Objection") != "Objection"
    officer = web_server.add("MX", f"officer.{lang}@mx.example", "officer", lang)
    approver = web_server.add("US", f"approver.{lang}@us.example", "approver", lang)

    us = other_context.new_page()
    sign_in(us, web_server, approver)
    expect(us.locator("h1")).to_have_text(t("Inbox"))

    mx = context.new_page()
    sign_in(mx, web_server, officer)
    mx.goto(f"{web_server.url}/notifications/new")
    expect(mx.locator("h1")).to_have_text(t("New notification"))
    reference = f"REF-{lang}-{uuid.uuid4().hex[:6]}"
    fill_notification(mx, "NPP", reference)
    with mx.expect_navigation():
        mx.locator("#notification-form button[type=submit]").click()
    expect(mx).to_have_url(NOTIFICATION_PAGE)
    found = NOTIFICATION_PAGE.search(mx.url)
    assert found is not None
    notification_id = found.group(1)
    status = mx.locator("h1 [data-testid=status]")
    expect(status).to_have_attribute("data-status", "sent")
    expect(status).to_have_text(t("Awaiting answer"))
    expect(mx.locator("main")).to_contain_text(reference)

    # It arrives in US's inbox, awaiting an answer.
    us.reload()
    row = us.locator(f"[data-testid=notification-row][data-id='{notification_id}']")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("status")).to_have_text(t("Awaiting answer"))
    with us.expect_navigation():
        row.get_by_role("link").first.click()
    expect(us).to_have_url(NOTIFICATION_PAGE)
    answer = us.locator("#answer-form")
    answer.locator("input[name=decision][value=objection]").check()
    reason = f"The importer holds no licence for this substance ({lang})."
    answer.locator("[name=reason]").fill(reason)
    with us.expect_navigation():
        answer.locator("button[type=submit]").click()
    answered = us.locator("h1 [data-testid=status]")
    expect(answered).to_have_attribute("data-status", "objection")
    expect(answered).to_have_text(t("Objection"))
    expect(us.get_by_test_id("answer")).to_contain_text(t("Objection"))
    expect(us.locator("main")).to_contain_text(reason)
    expect(us.locator("#answer-form")).to_have_count(0)

    # MX sees the objection, with its reason, on the notification and in its inbox.
    mx.reload()
    expect(mx.locator("h1 [data-testid=status]")).to_have_text(t("Objection"))
    expect(mx.locator("main")).to_contain_text(reason)
    mx.goto(f"{web_server.url}/inbox")
    sent_row = mx.locator(f"[data-testid=notification-row][data-id='{notification_id}']")
    expect(sent_row.get_by_test_id("status")).to_have_attribute("data-status", "objection")
    expect(sent_row.get_by_test_id("status")).to_have_text(t("Objection"))


def _send(web_server: WebServer, exporter: str, importer: str) -> str:
    """A notification sent through the service (not the browser); its id."""
    authority = next(a for a in public_authorities(web_server.ex) if a.code == exporter)
    party = {"name": "Example Trading Co.", "address": "1 Example Road", "country": exporter}
    body = NotificationIn.model_validate_json(json.dumps({
        "substance": "4-piperidone hydrochloride monohydrate", "quantity": 5, "unit": "kg",
        "exporter": party, "importer": {**party, "country": importer},
        "importing_authority": importer,
        "planned_shipment_date": (dt.date.today() + dt.timedelta(days=10)).isoformat(),
        "point_of_entry": "Laredo"}))
    written = send_notification(web_server.ex, Caller(authority.id, authority.code,
                                                      authority.name), body)
    return str(json.loads(written.text)["id"])


def test_another_authority_gets_the_not_found_page(web_server: WebServer,
                                                   context: BrowserContext) -> None:
    notification_id = _send(web_server, "MX", "US")
    page = context.new_page()
    sign_in(page, web_server, web_server.add("CN", "officer.isolation@cn.example", "officer"))
    response = page.goto(f"{web_server.url}/notifications/{notification_id}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text("4-piperidone")
    # Exactly what a notification that does not exist at all looks like.
    missing = page.goto(f"{web_server.url}/notifications/{uuid.uuid4()}")
    assert missing is not None and missing.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    # Nor is it in CN's inbox.
    page.goto(f"{web_server.url}/inbox?status=sent")
    expect(page.locator(f"[data-id='{notification_id}']")).to_have_count(0)


def test_an_observer_cannot_answer(web_server: WebServer, context: BrowserContext) -> None:
    notification_id = _send(web_server, "CN", "US")
    page = context.new_page()
    sign_in(page, web_server, web_server.add("US", "observer.answer@us.example", "observer"))
    page.goto(f"{web_server.url}/notifications/{notification_id}")
    expect(page.locator("h1 [data-testid=status]")).to_have_attribute("data-status", "sent")
    expect(page.locator("#answer-form")).to_have_count(0)


def test_language_chosen_in_the_switcher_stays_with_the_person(
        web_server: WebServer, context: BrowserContext, other_context: BrowserContext) -> None:
    email = web_server.add("MX", "switcher@mx.example", "observer")
    page = context.new_page()
    sign_in(page, web_server, email)
    expect(page.locator("h1")).to_have_text("Inbox")
    # Choosing a language changes nothing until it is sent (WCAG 3.2.2: a keyboard user
    # moving through the options must not load a page at each one).
    page.locator("#language").select_option("zh")
    expect(page.locator("h1")).to_have_text("Inbox")
    with page.expect_navigation():
        page.locator("#language-form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(gettext("zh", "Inbox"))
    expect(page.locator("html")).to_have_attribute("lang", re.compile(r"^zh"))
    page.goto(f"{web_server.url}/dashboard")
    expect(page.locator("h1")).to_have_text(gettext("zh", "Dashboard"))
    # Kept with the account: another browser, asking for English, gets Chinese after sign-in.
    other = other_context.new_page()
    sign_in(other, web_server, email)
    expect(other.locator("h1")).to_have_text(gettext("zh", "Inbox"))
