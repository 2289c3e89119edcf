"""The web app's pages over HTTP (FastAPI's TestClient) on SQLite and PostgreSQL: each page for a
signed-in person, isolation between authorities, roles, answering, sending with a mistake kept,
Spanish and Chinese, and nothing loaded from outside the server."""

from __future__ import annotations

import html as html_lib
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from precursorwatch.exchange import alerts, incidents, notifications, people, service
from precursorwatch.exchange.schemas import IncidentIn, NotificationIn, ResponseIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange


def _exchange_fixtures() -> Any:
    """The exchange tests' conftest (databases, settings, app, authorities, clock)."""
    folder = Path(__file__).resolve().parents[1] / "exchange"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("exchange_fixtures_pages",
                                                  folder / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


_fixtures = _exchange_fixtures()
database = _fixtures.database
settings = _fixtures.settings
engine = _fixtures.engine
clock = _fixtures.clock
app = _fixtures.app
authorities = _fixtures.authorities

from exchange_helpers import incident, notification  # noqa: E402  (path set just above)

GOOD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
ASSET = re.compile(r'<(?:script|img|link|iframe|source|audio|video)\b[^>]*?\s'
                   r'(?:src|href)="([^"]*)"', re.IGNORECASE)


@pytest.fixture
def web(app: FastAPI, authorities: Any) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield client


def exchange(client: TestClient) -> Exchange:
    ex: Exchange = client.app.state.exchange  # type: ignore[attr-defined]
    return ex


def caller(client: TestClient, code: str) -> Caller:
    found = {a.code: a for a in service.public_authorities(exchange(client))}[code]
    return Caller(found.id, found.code, found.name)


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:500]
    return found[1]


def sign_in(client: TestClient, code: str, email: str, role: str) -> str:
    """`email` of `code` with `role`, signed in on `client`; their CSRF token."""
    ex = exchange(client)
    new = people.add_person(ex.engine, code, email, role)
    signed = people.sign_in(ex, new.email, new.password)
    people.set_password(ex, signed.person_id, GOOD)
    form = client.get("/login")
    done = client.post("/login", data={"email": email, "password": GOOD, "next": "/inbox",
                                       "csrf_token": csrf(form.text)})
    assert done.status_code == 303, done.text[:300]
    return csrf(client.get("/inbox").text)


def notified(client: TestClient, **changes: Any) -> str:
    """A notification CN sends to MX (US in transit); its id."""
    written = notifications.send_notification(exchange(client), caller(client, "CN"),
                                        NotificationIn.model_validate(notification(**changes)))
    found: str = json.loads(written.text)["id"]
    return found


def reported(client: TestClient, code: str = "CN", **changes: Any) -> str:
    written = incidents.report_incident(exchange(client), caller(client, code),
                                      IncidentIn.model_validate(incident(**changes)))
    found: str = json.loads(written.text)["id"]
    return found


# -- every page --------------------------------------------------------------------------------
PAGES = ["/inbox", "/notifications/{n}", "/notifications/new", "/incidents", "/incidents/new",
         "/incidents/{i}", "/screen", "/dashboard", "/audit", "/docs"]


def test_each_page_renders_for_a_signed_in_person(web: TestClient) -> None:
    n = notified(web)
    i = reported(web, "MX", shared_with=["CN"], notification_ids=[n])
    sign_in(web, "MX", "officer@mx.example", "officer")
    for path in PAGES:
        response = web.get(path.format(n=n, i=i))
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert 'id="language"' in html
        assert "officer@mx.example" in html and "COFEPRIS" in html
        assert 'action="/logout"' in html
    home = web.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/inbox"


def test_pages_need_a_sign_in(web: TestClient) -> None:
    response = web.get("/inbox?status=sent")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_the_inbox_lists_what_awaits_an_answer_by_deadline_and_marks_the_near_ones(
        web: TestClient, clock: Any) -> None:
    first = notified(web)
    clock.advance(days=3)
    second = notified(web, substance="1-boc-4-AP")
    clock.advance(days=2)  # the first is due in 2 days (7-day replies), the second in 5
    sign_in(web, "MX", "approver@mx.example", "approver")
    html = web.get("/inbox").text
    incoming = html.split('data-testid="section-incoming"')[1].split("</section>")[0]
    rows = re.findall(r'data-testid="notification-row" data-id="([^"]+)"( class="\w+")?',
                      incoming)
    assert [r[0] for r in rows] == [first, second]
    assert rows[0][1] == ' class="soon"' and rows[1][1] == ""
    clock.advance(days=3)  # the first went unanswered past its deadline
    sign_in(web, "MX", "approver2@mx.example", "approver")  # the first session has expired
    html = web.get("/inbox").text
    assert 'class="overdue"' in html and "Overdue" in html
    only = web.get("/inbox", params={"substance": "boc"}).text
    assert second in only and first not in only
    searched = web.get("/inbox", params={"q": "hubei", "country": "CN"}).text
    assert first in searched and second in searched
    none = web.get("/inbox", params={"since": "2027-01-01", "status": "sent"}).text
    assert first not in none
    bad = web.get("/inbox", params={"since": "yesterday"})
    assert bad.status_code == 200 and "Give a date as YYYY-MM-DD." in bad.text


def test_the_sender_sees_its_notification_with_its_status(web: TestClient) -> None:
    n = notified(web)
    sign_in(web, "CN", "officer@cn.example", "officer")
    html = web.get("/inbox").text
    outgoing = html.split('data-testid="section-outgoing"')[1].split("</section>")[0]
    assert f'data-id="{n}"' in outgoing and 'data-status="sent"' in outgoing


# -- a notification's page -----------------------------------------------------------------------
def test_a_notification_shows_the_structure_evidence_parties_and_versions(web: TestClient
                                                                         ) -> None:
    n = notified(web, substance="1-boc-4-AP")
    sign_in(web, "US", "observer@us.example", "observer")  # transit authority
    html = web.get(f"/notifications/{n}").text
    structure = html.split('data-testid="structure"')[1].split("</figure>")[0]
    assert "<svg" in structure and "<script" not in structure
    assert 'data-verdict="controlled"' in html
    assert 'data-testid="evidence"' in html and "Controlled in UN under" in html
    assert "Hubei Example Chemical Co." in html and 'data-role="consignee"' in html
    assert html.count('data-testid="version"') == 1


def test_another_authoritys_records_are_a_404_page(web: TestClient) -> None:
    n = notified(web)
    i = reported(web, "CN", shared_with=["US"])
    sign_in(web, "CA", "officer@ca.example", "officer")
    for path in (f"/notifications/{n}", f"/incidents/{i}", "/notifications/not-an-id"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "There is no such page or record for your authority." in response.text
        assert "Hubei" not in response.text
    api = web.get(f"/v1/notifications/{n}")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"


def test_an_observer_sees_no_forms_and_cannot_post(web: TestClient) -> None:
    n = notified(web)
    token = sign_in(web, "MX", "observer@mx.example", "observer")
    html = web.get(f"/notifications/{n}").text
    assert 'id="answer-form"' not in html
    assert "Report an incident linked" not in html
    assert 'href="/incidents/new"' not in web.get("/incidents").text
    assert web.get("/notifications/new").status_code == 403
    answer = web.post(f"/notifications/{n}/answer",
                      data={"csrf_token": token, "decision": "no_objection"})
    assert answer.status_code == 403
    sent = web.post("/notifications/new", data={"csrf_token": token, "substance": "x"})
    assert sent.status_code == 403
    assert "Your role does not allow this" in sent.text
    assert json.loads(notifications.get_notification(exchange(web), caller(web, "MX"), n)
                      )["status"] == "sent"


def test_an_approver_answers_and_an_objection_needs_a_reason(web: TestClient) -> None:
    n = notified(web)
    token = sign_in(web, "MX", "approver@mx.example", "approver")
    page = web.get(f"/notifications/{n}").text
    assert 'id="answer-form"' in page
    refused = web.post(f"/notifications/{n}/answer",
                       data={"csrf_token": token, "decision": "objection", "reason": "  "})
    assert refused.status_code == 422
    assert "An objection needs a reason." in refused.text
    assert 'id="answer-form"' in refused.text
    forged = web.post(f"/notifications/{n}/answer",
                      data={"csrf_token": "forged", "decision": "no_objection"})
    assert forged.status_code == 403 and "This form has expired" in forged.text
    done = web.post(f"/notifications/{n}/answer",
                    data={"csrf_token": token, "decision": "objection",
                          "reason": "Importer holds no licence."})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/notifications/{n}?done=answered&receipt=")
    after = web.get(done.headers["location"]).text
    assert 'role="status"' in after and "Your answer was signed and sent." in after
    assert 'data-status="objection"' in after and "Importer holds no licence." in after
    assert 'id="answer-form"' not in after
    again = web.post(f"/notifications/{n}/answer",
                     data={"csrf_token": token, "decision": "no_objection"})
    assert again.status_code == 409 and "can no longer be answered" in again.text
    audit = web.get("/audit").text
    assert 'data-ok="true"' in audit


def _form(**changes: str) -> dict[str, Any]:
    form = {"substance": "1-boc-4-AP", "quantity": "25", "unit": "kg",
            "exporter.name": "Hubei Example Chemical Co.", "exporter.address": "12 Example Rd",
            "exporter.country": "cn", "importer.name": "Quimica Ejemplo SA",
            "importer.address": "Av. Ejemplo 1, Guadalajara", "importer.country": "MX",
            "importing_authority": "MX", "transit_authorities": ["US"],
            "planned_shipment_date": "2026-12-01", "point_of_entry": "Manzanillo",
            "mode": "sea"}
    form.update(changes)
    return form


def test_a_new_notification_keeps_the_input_on_a_mistake_then_is_sent(web: TestClient) -> None:
    token = sign_in(web, "CN", "officer@cn.example", "officer")
    form = web.get("/notifications/new").text
    assert 'id="notification-form"' in form and "COFEPRIS" in form
    wrong = web.post("/notifications/new", data={
        "csrf_token": token, **_form(quantity="lots", **{"importer.country": "Mexico"})})
    assert wrong.status_code == 422
    html = wrong.text
    assert 'role="alert"' in html
    assert 'id="quantity-error"' in html and "Give a number" in html
    assert 'value="lots"' in html and 'value="1-boc-4-AP"' in html
    assert 'value="Quimica Ejemplo SA"' in html
    unknown = web.post("/notifications/new", data={
        "csrf_token": token, **_form(substance="zzqxv not a chemical")})
    assert unknown.status_code == 422
    assert 'id="substance-error"' in unknown.text
    assert "could not be identified" in unknown.text
    sent = web.post("/notifications/new", data={"csrf_token": token, **_form()})
    assert sent.status_code == 303, sent.text[:2000]
    location = sent.headers["location"]
    assert location.startswith("/notifications/") and "done=sent" in location
    page = web.get(location).text
    assert "The notification was signed and sent." in page
    assert 'data-verdict="controlled"' in page
    assert "US" in page and "Manzanillo" in page


def test_the_substance_check_answers_with_the_verdict_and_a_clean_drawing(web: TestClient
                                                                         ) -> None:
    sign_in(web, "CN", "officer@cn.example", "officer")
    found = web.get("/web/check", params={"identifier": "1-boc-4-AP"}).json()
    assert found["verdict"] == "controlled"
    assert found["svg"].startswith("<svg") and "<script" not in found["svg"]
    assert "Controlled in" in found["html"]
    assert web.get("/web/check", params={"identifier": ""}).json()["verdict"] is None


# -- incidents ---------------------------------------------------------------------------------
def test_an_incident_is_reported_linked_and_shown_to_those_it_is_shared_with(web: TestClient
                                                                            ) -> None:
    n = notified(web)
    token = sign_in(web, "MX", "officer@mx.example", "officer")
    form = web.get("/incidents/new", params={"notification_id": n}).text
    assert 'id="incident-form"' in form and n in form
    wrong = web.post("/incidents/new", data={
        "csrf_token": token, "kind": "seizure", "substance": "1-boc-4-AP",
        "quantity": "400", "incident_date": "2026-11-02", "shared_with": ["US"]})
    assert wrong.status_code == 422 and "Give the quantity and its unit together" in wrong.text
    done = web.post("/incidents/new", data={
        "csrf_token": token, "kind": "seizure", "substance": "1-boc-4-AP", "quantity": "400",
        "unit": "kg", "incident_date": "2026-11-02", "shared_with": ["US"],
        "notification_ids": n, "parties.0.role": "consignee",
        "parties.0.name": "Ejemplo Importaciones", "parties.0.address": "Calle 5, Culiacan",
        "parties.0.country": "MX"})
    assert done.status_code == 303, done.text[:1500]
    page = web.get(done.headers["location"]).text
    assert "The incident was signed and shared." in page
    assert f'href="/notifications/{n}"' in page and ">US<" in page
    linked = web.get(f"/notifications/{n}").text
    assert "/incidents/" in linked.split('id="h-incidents"')[1]
    assert 'data-testid="incident-row"' in web.get("/incidents").text


# -- languages ---------------------------------------------------------------------------------
def test_the_inbox_and_a_notification_in_spanish_and_chinese(web: TestClient) -> None:
    n = notified(web, substance="1-boc-4-AP")
    sign_in(web, "MX", "approver@mx.example", "approver")
    es = web.get("/inbox?lang=es").text
    assert '<html lang="es-MX">' in es
    assert "Bandeja de entrada" in es and "Recibidas: por responder" in es
    assert "En espera de respuesta" in es and ">Inbox<" not in es
    page_es = web.get(f"/notifications/{n}?lang=es").text
    assert "Controlada en UN conforme a" in page_es
    assert "Firmar y enviar la respuesta" in page_es and "Sin objeción" in page_es
    assert "1 dic 2026" in page_es  # the planned shipment date, as Mexico writes it
    zh = web.get("/inbox", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-Hans">' in zh and "收件箱" in zh and "待答复" in zh
    page_zh = web.get(f"/notifications/{n}", headers={"Accept-Language": "zh-CN"}).text
    assert "受管制" in page_zh and "无异议" in page_zh and "异议" in page_zh
    assert "2026年12月1日" in page_zh
    assert "1-boc-4-AP" in page_zh  # the chemical's name stays as given


def test_the_persons_language_setting_comes_first(web: TestClient) -> None:
    token = sign_in(web, "MX", "officer@mx.example", "officer")
    chosen = web.post("/settings/language", data={"csrf_token": token, "language": "zh",
                                                  "next": "/inbox"})
    assert chosen.status_code == 303
    assert "收件箱" in web.get("/inbox?lang=es").text


# -- nothing from outside ------------------------------------------------------------------------
def names_a_cdn(html: str) -> bool:
    """Whether a page names a CDN. Random tokens (CSRF, ids, signatures) are left out: one
    may spell "cdn" by chance."""
    return "cdn" in re.sub(r"[A-Za-z0-9_-]{24,}", "", html).lower()


def test_docs_and_pages_load_nothing_from_another_origin(web: TestClient) -> None:
    n = notified(web)
    sign_in(web, "MX", "approver@mx.example", "approver")
    for path in ("/docs", "/inbox", f"/notifications/{n}", "/notifications/new", "/dashboard"):
        html = web.get(path).text
        assets = ASSET.findall(html)
        assert assets, path
        for url in assets:
            assert not re.match(r"(?i)(https?:)?//", url), (path, url)
            assert web.get(url).status_code == 200, (path, url)
        assert not names_a_cdn(html)
        csp = web.get(path).headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp
    docs = web.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and 'id="swagger-ui"' in docs
    assert web.get("/openapi.json").json()["info"]["title"] == "Precursor Watch exchange"


def test_the_dashboard_counts_and_draws_without_script(web: TestClient) -> None:
    notified(web)
    notified(web, substance="1-boc-4-AP")
    sign_in(web, "MX", "observer@mx.example", "observer")
    html = web.get("/dashboard").text
    counts = html.split('data-testid="status-counts"')[1].split("</table>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', counts)[:2] == ["2", "2"]  # all, awaiting
    assert html.count("<svg") >= 3 and "<script" not in html.split("<main")[1].split("</main>")[0]


# -- screening a manifest --------------------------------------------------------------------------
SAMPLE = Path(__file__).resolve().parents[2] / "precursorwatch" / "samples" / "manifest.csv"


def test_a_manifest_is_screened_and_a_flagged_shipment_shared(web: TestClient,
                                                              database: Any) -> None:
    if database.kind != "sqlite":
        pytest.skip("the screening does not depend on the exchange's database")
    token = sign_in(web, "MX", "officer@mx.example", "officer")
    assert 'id="screen-form"' in web.get("/screen").text
    wrong = web.post("/screen", data={"csrf_token": token},
                     files={"manifest": ("notes.pdf", b"%PDF-1.4", "application/pdf")})
    assert wrong.status_code == 422 and "must be a .csv, .tsv or .xlsx" in wrong.text
    headless = web.post("/screen", data={"csrf_token": token},
                        files={"manifest": ("m.csv", b"foo,bar\n1,2\n", "text/csv")})
    assert headless.status_code == 422
    assert 'data-testid="manifest-problem"' in headless.text
    assert "description" in headless.text  # the missing column is named
    done = web.post("/screen", data={"csrf_token": token},
                    files={"manifest": ("manifest.csv", SAMPLE.read_bytes(), "text/csv")})
    assert done.status_code == 200, done.text[:1500]
    html = done.text
    assert 'data-testid="screen-summary"' in html and 'data-testid="screen-report"' in html
    rows = re.findall(r'name="shipment" value="([^"]*)"', html)
    assert rows, "the sample manifest has flagged shipments"
    first = html_lib.unescape(rows[0])
    shared = web.post("/screen/share", data={"csrf_token": token, "shipment": [first],
                                             "authority": "US", "source": "manifest.csv"})
    assert shared.status_code == 303, shared.text[:1500]
    assert shared.headers["location"].startswith("/alerts?done=shared")
    listed = web.get(shared.headers["location"]).text
    assert "shared as alerts" in listed and 'data-testid="alert-row"' in listed
    us = alerts.list_alerts(exchange(web), caller(web, "US"), direction="incoming")
    assert len(us) == 1
    alert = json.loads(us[0])
    chosen = json.loads(first)
    assert alert["sender"] == "MX" and alert["shared_with"] == ["US"]
    assert alert["screening"] == chosen["screening"]  # the screening result as screened
    assert alert["shipment"]["shipment_id"] == chosen["shipment_id"]
    assert alert["shipment"]["description"] and "manifest.csv" in alert["reason"]
    again = web.post("/screen/share", data={"csrf_token": token, "shipment": [first],
                                            "authority": "US", "source": "manifest.csv"})
    assert again.status_code == 303  # the same shipment shared again: the alert sent before
    assert len(alerts.list_alerts(exchange(web), caller(web, "US"))) == 1


def test_a_manifest_larger_than_an_api_request_is_screened(web: TestClient,
                                                           database: Any) -> None:
    if database.kind != "sqlite":
        pytest.skip("the screening does not depend on the exchange's database")
    token = sign_in(web, "MX", "officer@mx.example", "officer")
    settings = exchange(web).settings
    header, *lines = SAMPLE.read_text().splitlines()
    body = [header]
    while sum(len(x) + 1 for x in body) <= settings.max_body_bytes * 2:
        body.extend(f"{len(body)}-{line}" for line in lines)  # distinct shipment ids
    big = ("\n".join(body) + "\n").encode()
    assert settings.max_body_bytes < len(big) < settings.max_upload_bytes
    done = web.post("/screen", data={"csrf_token": token},
                    files={"manifest": ("big.csv", big, "text/csv")})
    assert done.status_code == 200, done.text[:800]
    assert 'data-testid="screen-summary"' in done.text
    # An API request of that size is still refused.
    refused = web.post("/v1/notifications", content=big,
                       headers={"Content-Type": "application/json"})
    assert refused.status_code == 413


def test_the_dashboard_counts_the_facts_the_records_say(web: TestClient) -> None:
    n = notified(web, substance="1-boc-4-AP")
    notifications.answer_notification(exchange(web), caller(web, "MX"), n,
                                      ResponseIn.model_validate({
                                          "decision": "objection",
                                          "reason": "No licence on file."}))
    facts = notifications.notification_facts(exchange(web), caller(web, "MX"))
    whole = json.loads(notifications.get_notification(exchange(web), caller(web, "MX"), n))
    assert facts == [{"id": n, "created_at": whole["created_at"], "status": "objection",
                      "exporting_authority": "CN", "importing_authority": "MX",
                      "substance": "1-boc-4-AP", "name": whole["verdict"]["name"],
                      "exporter_country": "CN", "importer_country": "MX",
                      "reason": "No licence on file."}]
    assert notifications.notification_facts(exchange(web), caller(web, "CA")) == []
    sign_in(web, "MX", "observer@mx.example", "observer")
    html = web.get("/dashboard?lang=zh").text
    assert "No licence on file." in html and "每月通知数（按物质）" in html


def test_the_audit_page_names_a_changed_record(web: TestClient) -> None:
    from sqlalchemy import text

    n = notified(web)
    sign_in(web, "CN", "auditor@cn.example", "observer")
    assert 'data-ok="true"' in web.get("/audit").text
    with exchange(web).engine.begin() as connection:
        connection.execute(text("UPDATE notification SET verdict_name = 'clear' WHERE id = :n"),
                           {"n": n})
    html = web.get("/audit?lang=es").text
    assert 'data-ok="false"' in html and "Se encontraron problemas en la cadena" in html
    problem = html.split('data-testid="audit-problem"')[1].split("</tr>")[0]
    assert n in problem and "notification" in problem
    bad = web.get("/audit", params={"receipt": "12:nothex"}).text
    assert 'id="receipt-error"' in bad and "SEQ:HASH" in bad


def test_a_cited_permit_is_shown_with_its_check(web: TestClient) -> None:
    token = sign_in(web, "CN", "officer@cn.example", "officer")
    sent = web.post("/notifications/new", data={"csrf_token": token,
                                                 **_form(permit="PWP1.not-a-permit")})
    assert sent.status_code == 303, sent.text[:1500]
    html = web.get(sent.headers["location"] + "&lang=es").text
    assert 'data-testid="permit"' in html and "Permiso de importación" in html
    assert "PWP1.not-a-permit" in html
    nid = sent.headers["location"].split("/")[2].split("?")[0]
    stored = json.loads(notifications.get_notification(exchange(web), caller(web, "CN"), nid))
    if stored.get("permit_check") is not None:  # where the exchange checks cited permits
        check = html.split('data-testid="permit-check"')[1].split("</div>")[0]
        assert 'data-ok="false"' in check and "El permiso citado no ampara" in check
