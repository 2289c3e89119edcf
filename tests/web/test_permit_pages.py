"""The import permit pages over HTTP (FastAPI's TestClient) on SQLite and PostgreSQL: the list,
issuing with a mistake kept, a permit's page with its QR code and compact form, checking a
permit pasted or uploaded, revoking, who may do what, isolation between authorities, Spanish
and Chinese, and nothing loaded from outside the server."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

from fastapi.testclient import TestClient
from test_pages import (  # the same databases, app, authorities and sign-in as the other pages
    ASSET,
    app,
    authorities,
    caller,
    clock,
    database,
    engine,
    exchange,
    names_a_cdn,
    notification,
    settings,
    sign_in,
    web,
)

from precursorwatch.exchange import notifications, permit_store
from precursorwatch.exchange.permits import PERMIT_EXAMPLE, PermitIn
from precursorwatch.exchange.schemas import NotificationIn

__all__ = ["app", "authorities", "clock", "database", "engine", "settings", "web"]

COMPACT = re.compile(r'<textarea id="compact"[^>]*>([^<]+)</textarea>')


def issued(client: TestClient, **changes: Any) -> str:
    """A permit MX issues for an import from CN (valid 2026-11-23 to 2027-05-22); its id."""
    written = permit_store.issue_permit(exchange(client), caller(client, "MX"),
                                        PermitIn.model_validate({**PERMIT_EXAMPLE, **changes}))
    found: str = json.loads(written.text)["id"]
    return found


def _form(**changes: str) -> dict[str, str]:
    form = {"permit_number": "COFEPRIS-2026-000777", "substance": "4-piperidone",
            "quantity": "25", "unit": "kg", "importer.name": "Quimica Ejemplo SA de CV",
            "importer.country": "MX", "importer.address": "Av. Ejemplo 1, Guadalajara",
            "exporter_country": "cn", "exporter.name": "Hubei Example Chemical Co.",
            "exporter.address": "12 Example Rd, Wuhan", "valid_from": "2026-11-23",
            "valid_until": "2027-05-22"}
    form.update(changes)
    return form


def verified(client: TestClient, token: str, *, pasted: str = "",
             file: tuple[str, bytes, str] | None = None) -> str:
    response = client.post("/permits/verify", data={"csrf_token": token, "permit": pasted},
                           files={"file": file} if file else None)
    assert response.status_code in (200, 422), response.text[:800]
    return response.text


def verification(html: str) -> str:
    found = re.search(r'data-testid="verification" data-valid="(true|false)"', html)
    assert found is not None, html[:1500]
    return found[1]


# -- every page ----------------------------------------------------------------------------------
def test_each_permit_page_renders_for_a_signed_in_person(web: TestClient) -> None:
    p = issued(web)
    sign_in(web, "MX", "officer@mx.example", "officer")
    for path in ("/permits", "/permits/new", f"/permits/{p}", "/permits/verify"):
        response = web.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert 'href="/permits" aria-current="page"' in response.text, path
    listed = web.get("/permits").text
    assert f'data-testid="permit-row" data-id="{p}"' in listed
    assert 'data-status="valid"' in listed and "COFEPRIS-2026-000123" in listed
    assert 'href="/permits/new"' in listed


def test_a_permit_is_issued_after_a_mistake_shown_checked_and_revoked(web: TestClient) -> None:
    token = sign_in(web, "MX", "approver@mx.example", "approver")
    form = web.get("/permits/new").text
    assert 'id="permit-form"' in form and 'value="MX"' in form  # the importer's country
    wrong = web.post("/permits/new", data={"csrf_token": token, **_form(
        quantity="lots", valid_until="2026-11-01")})
    assert wrong.status_code == 422
    assert 'id="quantity-error"' in wrong.text and "Give a number" in wrong.text
    assert 'value="lots"' in wrong.text and 'value="4-piperidone"' in wrong.text
    dates = web.post("/permits/new", data={"csrf_token": token, **_form(
        valid_until="2026-11-01")})
    assert dates.status_code == 422
    assert 'id="valid_until-error"' in dates.text
    assert "on or after the first day" in dates.text
    assert 'value="Hubei Example Chemical Co."' in dates.text
    unknown = web.post("/permits/new", data={"csrf_token": token, **_form(
        substance="zzqxv not a chemical")})
    assert unknown.status_code == 422 and 'id="substance-error"' in unknown.text

    done = web.post("/permits/new", data={"csrf_token": token, **_form()})
    assert done.status_code == 303, done.text[:1500]
    location = done.headers["location"]
    assert re.match(r"^/permits/[0-9a-f-]{36}\?done=issued&receipt=", location)
    permit_id = location.split("/")[2].split("?")[0]
    twice = web.post("/permits/new", data={"csrf_token": token, **_form()})
    assert twice.status_code == 409 and 'id="permit_number-error"' in twice.text

    page = web.get(location).text
    assert 'role="status"' in page and "The permit was signed and issued." in page
    assert 'data-status="valid"' in page and 'data-verdict="controlled"' in page
    assert 'data-testid="structure"' in page  # the checked substance, drawn
    qr = page.split('data-testid="qr"')[1].split("</figure>")[0]
    assert '<svg role="img"' in qr and "<path" in qr and "<script" not in qr
    compact = html_lib.unescape(COMPACT.search(page)[1])  # type: ignore[index]
    assert compact.startswith("PWP1.")
    served = json.loads(permit_store.get_permit(exchange(web), caller(web, "MX"), permit_id))
    assert compact == served["compact"] and served["key_id"] in page
    assert 'data-copy="compact"' in page and 'id="revoke-form"' in page

    assert verification(verified(web, token, pasted=compact)) == "true"
    saved = web.get(f"/permits/{permit_id}/permit.json")
    assert saved.status_code == 200 and saved.json()["signature"] == served["signature"]
    checked = verified(web, token, file=("permit.json", saved.content, "application/json"))
    assert verification(checked) == "true" and "COFEPRIS-2026-000777" in checked

    no_reason = web.post(f"/permits/{permit_id}/revoke",
                         data={"csrf_token": token, "reason": "  "})
    assert no_reason.status_code == 422 and "Say why the permit is revoked." in no_reason.text
    revoked = web.post(f"/permits/{permit_id}/revoke",
                       data={"csrf_token": token, "reason": "The importer's licence lapsed."})
    assert revoked.status_code == 303
    after = web.get(revoked.headers["location"]).text
    assert "The permit was revoked." in after and 'data-status="revoked"' in after
    assert "The importer&#39;s licence lapsed." in after and 'id="revoke-form"' not in after
    again = verified(web, token, pasted=compact)
    assert verification(again) == "false"
    assert 'data-code="revoked"' in again and "it was revoked by its issuer" in again
    assert 'data-status="revoked"' in web.get("/permits").text


def test_a_changed_or_unreadable_permit_is_not_valid_with_its_reasons(web: TestClient) -> None:
    p = issued(web)
    token = sign_in(web, "CN", "officer@cn.example", "officer")
    served = json.loads(permit_store.get_permit(exchange(web), caller(web, "CN"), p))
    changed = {**served, "permit": {**served["permit"], "quantity": 2500.0}}
    forged = verified(web, token, pasted=json.dumps(changed))
    assert verification(forged) == "false" and 'data-code="bad_signature"' in forged
    assert "its signature does not verify" in forged
    garbled = verified(web, token, pasted="PWP1.not-a-permit")
    assert verification(garbled) == "false" and 'data-code="malformed"' in garbled
    broken = verified(web, token, pasted='{"permit": ')
    assert verification(broken) == "false" and 'data-code="malformed"' in broken
    empty = web.post("/permits/verify", data={"csrf_token": token, "permit": " "})
    assert empty.status_code == 422 and "Paste a permit or choose its file." in empty.text
    binary = verified(web, token, file=("permit.json", b"\xff\xfe\x00", "application/json"))
    assert "The file is not text" in binary


# -- who may do what -------------------------------------------------------------------------------
def test_an_observer_sees_no_forms_and_cannot_post(web: TestClient) -> None:
    p = issued(web)
    token = sign_in(web, "MX", "observer@mx.example", "observer")
    assert 'href="/permits/new"' not in web.get("/permits").text
    assert 'id="revoke-form"' not in web.get(f"/permits/{p}").text
    assert web.get("/permits/new").status_code == 403
    sent = web.post("/permits/new", data={"csrf_token": token, **_form()})
    assert sent.status_code == 403 and "Your role does not allow this" in sent.text
    refused = web.post(f"/permits/{p}/revoke", data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 403
    # Checking a permit writes nothing: an observer may.
    compact = json.loads(permit_store.get_permit(exchange(web), caller(web, "MX"), p))["compact"]
    assert verification(verified(web, token, pasted=compact)) == "true"
    assert json.loads(permit_store.get_permit(exchange(web), caller(web, "MX"), p))[
        "revoked"] is False


def test_only_the_importing_authority_issues_and_only_the_issuer_revokes(web: TestClient
                                                                          ) -> None:
    p = issued(web)
    token = sign_in(web, "CN", "approver@cn.example", "approver")
    for_mexico = web.post("/permits/new", data={"csrf_token": token, **_form()})
    assert for_mexico.status_code == 422
    assert 'id="importer.country-error"' in for_mexico.text
    assert "the importer must be in CN" in for_mexico.text
    page = web.get(f"/permits/{p}").text  # CN reads it: exports from China
    assert "COFEPRIS-2026-000123" in page and 'id="revoke-form"' not in page
    refused = web.post(f"/permits/{p}/revoke", data={"csrf_token": token, "reason": "No."})
    assert refused.status_code == 403
    assert json.loads(permit_store.get_permit(exchange(web), caller(web, "MX"), p))[
        "revoked"] is False
    mx = TestClient(web.app, follow_redirects=False, raise_server_exceptions=False)
    sign_in(mx, "MX", "officer@mx.example", "officer")
    assert 'id="revoke-form"' not in mx.get(f"/permits/{p}").text  # approvers revoke


def test_a_third_authority_gets_the_404_page_for_a_permit(web: TestClient) -> None:
    p = issued(web)
    sign_in(web, "US", "officer@us.example", "officer")
    for path in (f"/permits/{p}", f"/permits/{p}/permit.json", "/permits/not-an-id"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "There is no such page or record for your authority." in response.text
        assert "Quimica Ejemplo" not in response.text
    assert p not in web.get("/permits").text


def test_a_notification_links_the_permit_it_cites_for_those_who_may_read_it(
        web: TestClient) -> None:
    p = issued(web, substance="4-piperidone")
    written = notifications.send_notification(exchange(web), caller(web, "CN"), NotificationIn
                                        .model_validate(notification(substance="4-piperidone",
                                                                     permit=p)))
    n = json.loads(written.text)["id"]
    sign_in(web, "MX", "officer@mx.example", "officer")
    assert f'href="/permits/{p}" data-testid="permit-link"' in web.get(f"/notifications/{n}").text
    us = TestClient(web.app, follow_redirects=False, raise_server_exceptions=False)
    sign_in(us, "US", "officer@us.example", "officer")  # in transit: reads the notification
    page = us.get(f"/notifications/{n}")
    assert page.status_code == 200 and 'data-testid="permit-link"' not in page.text


# -- languages and assets ---------------------------------------------------------------------
def test_permit_pages_in_spanish_and_chinese(web: TestClient) -> None:
    p = issued(web)
    token = sign_in(web, "MX", "approver@mx.example", "approver")
    es = web.get("/permits?lang=es").text
    assert "Permisos de importación" in es and "Vigente" in es and ">Permits<" not in es
    page_es = web.get(f"/permits/{p}?lang=es").text
    assert "Permiso de importación COFEPRIS-2026-000123" in page_es
    assert "Revocar este permiso" in page_es and "23 nov 2026" in page_es
    zh = web.get(f"/permits/{p}", headers={"Accept-Language": "zh-CN"}).text
    assert "进口许可证" in zh and "紧凑形式的二维码" in zh and "撤销此许可证" in zh
    wrong = web.post("/permits/new?lang=es", data={"csrf_token": token, **_form(
        valid_until="2026-11-01")})
    assert wrong.status_code == 422
    assert "El último día de vigencia debe ser igual o posterior al primero." in wrong.text
    assert "进口许可证" in web.get("/permits/verify?lang=zh").text


def test_permit_pages_load_nothing_from_another_origin(web: TestClient) -> None:
    p = issued(web)
    sign_in(web, "MX", "approver@mx.example", "approver")
    for path in ("/permits", "/permits/new", f"/permits/{p}", "/permits/verify"):
        html = web.get(path).text
        assets = ASSET.findall(html)
        assert assets, path
        for url in assets:
            assert not re.match(r"(?i)(https?:)?//", url), (path, url)
            assert web.get(url).status_code == 200, (path, url)
        assert not names_a_cdn(html)
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), path
