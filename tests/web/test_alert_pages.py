"""The shipment alert pages over HTTP (FastAPI's TestClient) on SQLite and PostgreSQL: the lists
of alerts received and sent, an alert's shipment and screening result, the outcome form of an
authority it was shared with, who may answer, isolation between authorities, the statistics of
the red-flag rules, Spanish and Chinese, and nothing loaded from outside the server."""

from __future__ import annotations

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
    reported,
    settings,
    sign_in,
    web,
)

from precursorwatch.exchange import alerts

__all__ = ["app", "authorities", "clock", "database", "engine", "settings", "web"]

SCREENING: dict[str, Any] = {
    "shipment_id": "PW-2611-014", "risk": 85, "level": "high", "row": 14,
    "chemicals": [{"input": "4-piperidone HCl", "name": "4-piperidone", "cas": "41661-47-6",
                   "verdict": "controlled"}],
    "flags": [{"code": "HS_MISMATCH", "weight": 20,
               "detail": "HS 2933.39 declared for a controlled precursor"},
              {"code": "WATCHLIST_PARTY", "weight": 40,
               "detail": "the shipper matches a watchlist entry"}],
    "parties": [{"role": "shipper", "name": "Hubei Example Chemical Co.", "list": "OFAC SDN",
                 "entry": "HUBEI EXAMPLE CHEMICAL", "entry_id": "12345", "alias": None,
                 "programme": "ILLICIT-DRUGS", "score": 0.93, "detail": "name 0.95"}],
    "rule_set": "default", "rule_set_version": "2026.11"}


def sent(client: TestClient, code: str = "CN", share_with: tuple[str, ...] = ("MX", "US"),
         **changes: Any) -> str:
    """An alert `code` sends about a shipment from China to Mexico; its id."""
    body = {**alerts.ALERT_EXAMPLE, "screening": SCREENING, "share_with": list(share_with),
            **changes}
    body["shipment"] = {**body["shipment"], "quantity": 25, "unit": "kg"}
    done = alerts.send_alert(exchange(client), caller(client, code),
                             alerts.AlertIn.model_validate(body))
    found: str = json.loads(done.text)["id"]
    return found


def second_client(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)


def test_each_alert_page_renders_for_a_signed_in_person(web: TestClient) -> None:
    a = sent(web)
    sign_in(web, "MX", "officer@mx.example", "officer")
    for path in ("/alerts", f"/alerts/{a}"):
        response = web.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert 'href="/alerts" aria-current="page"' in response.text, path
    listed = web.get("/alerts").text
    received = listed.split('data-testid="alerts-incoming"')[1].split("</section>")[0]
    assert f'data-testid="alert-row" data-id="{a}"' in received
    assert 'data-outcome="pending"' in received and "your answer is awaited" in received
    cn = second_client(web)
    sign_in(cn, "CN", "officer@cn.example", "officer")
    outgoing = cn.get("/alerts").text.split('data-testid="alerts-outgoing"')[1]
    assert f'data-id="{a}"' in outgoing.split("</section>")[0] and "MX, US" in outgoing


def test_an_alert_shows_the_shipment_and_its_screening_result(web: TestClient) -> None:
    a = sent(web)
    sign_in(web, "MX", "officer@mx.example", "officer")
    html = web.get(f"/alerts/{a}").text
    shipment = html.split('data-testid="shipment"')[1].split("</dl>")[0]
    assert "PW-2611-014" in shipment and "Quimica Ejemplo SA" in shipment
    assert "Manzanillo" in shipment and "2933.39" in shipment
    assert 'data-testid="flag" data-code="HS_MISMATCH"' in html
    assert "HS 2933.39 declared for a controlled precursor" in html
    assert 'data-verdict="controlled"' in html and "41661-47-6" in html
    assert "matches HUBEI EXAMPLE CHEMICAL on OFAC SDN" in html
    assert "Risk 85 of 100, level high." in html
    assert "no notification received" in html  # the reason
    assert 'id="outcome-form"' in html and 'name="csrf_token"' in html


def test_a_receiving_authority_answers_once_with_what_it_found(web: TestClient) -> None:
    a = sent(web)
    incident = reported(web, "MX")
    token = sign_in(web, "MX", "approver@mx.example", "approver")
    assert f'value="{incident}"' in web.get(f"/alerts/{a}").text  # offered as a link
    no_note = web.post(f"/alerts/{a}/outcome", data={"csrf_token": token, "outcome": "seized",
                                                     "note": " "})
    assert no_note.status_code == 422 and 'id="note-error"' in no_note.text
    assert "Say what was done and found." in no_note.text
    assert re.search(r'value="seized" required checked', no_note.text)  # the choice kept
    no_choice = web.post(f"/alerts/{a}/outcome", data={"csrf_token": token, "note": "x"})
    assert no_choice.status_code == 422 and 'id="outcome-error"' in no_choice.text
    forged = web.post(f"/alerts/{a}/outcome", data={"csrf_token": "forged",
                                                    "outcome": "seized", "note": "x"})
    assert forged.status_code == 403
    done = web.post(f"/alerts/{a}/outcome", data={
        "csrf_token": token, "outcome": "seized", "note": "400 kg seized at Manzanillo.",
        "incident_id": incident})
    assert done.status_code == 303, done.text[:1500]
    page = web.get(done.headers["location"]).text
    assert "Your outcome was signed and sent." in page
    answer = page.split('data-testid="answer" data-authority="MX"')[1].split("</li>")[0]
    assert 'data-outcome="seized"' in answer and "400 kg seized at Manzanillo." in answer
    assert f'href="/incidents/{incident}"' in answer
    assert "Awaiting the outcome of US." in page and 'id="outcome-form"' not in page
    again = web.post(f"/alerts/{a}/outcome", data={"csrf_token": token,
                                                   "outcome": "no_action", "note": "x"})
    assert again.status_code == 409 and "already answered this alert" in again.text
    served = json.loads(alerts.get_alert(exchange(web), caller(web, "CN"), a))
    assert served["outcome"] == "seized" and served["pending"] == ["US"]


def test_only_those_it_was_shared_with_answer_and_observers_do_not(web: TestClient) -> None:
    a = sent(web)
    token = sign_in(web, "MX", "observer@mx.example", "observer")
    assert 'id="outcome-form"' not in web.get(f"/alerts/{a}").text
    refused = web.post(f"/alerts/{a}/outcome", data={"csrf_token": token,
                                                     "outcome": "seized", "note": "x"})
    assert refused.status_code == 403 and "Your role does not allow this" in refused.text
    cn = second_client(web)
    cn_token = sign_in(cn, "CN", "officer@cn.example", "officer")
    assert 'id="outcome-form"' not in cn.get(f"/alerts/{a}").text  # the sender
    by_sender = cn.post(f"/alerts/{a}/outcome", data={"csrf_token": cn_token,
                                                      "outcome": "seized", "note": "x"})
    assert by_sender.status_code == 403
    assert json.loads(alerts.get_alert(exchange(web), caller(web, "CN"), a))[
        "pending"] == ["MX", "US"]


def test_a_third_authority_gets_the_404_page_for_an_alert(web: TestClient) -> None:
    a = sent(web)
    token = sign_in(web, "CA", "officer@ca.example", "officer")
    for path in (f"/alerts/{a}", "/alerts/not-an-id"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "There is no such page or record for your authority." in response.text
        assert "Quimica Ejemplo" not in response.text
    posted = web.post(f"/alerts/{a}/outcome", data={"csrf_token": token, "outcome": "seized",
                                                    "note": "x"})
    assert posted.status_code == 404
    assert a not in web.get("/alerts").text


def test_the_rule_statistics_count_alerts_by_outcome_and_country(web: TestClient) -> None:
    first, second = sent(web), sent(web, share_with=("MX",))
    ex = exchange(web)
    alerts.record_outcome(ex, caller(web, "MX"), first, alerts.OutcomeIn.model_validate(
        {"outcome": "seized", "note": "Seized."}))
    alerts.record_outcome(ex, caller(web, "MX"), second, alerts.OutcomeIn.model_validate(
        {"outcome": "inspected_clear", "note": "As declared."}))
    sign_in(web, "US", "observer@us.example", "observer")  # US sees the first alert only
    us_stats = web.get("/alerts").text.split('data-testid="rule-stats"')[1]
    row = us_stats.split('data-testid="rule-row" data-rule="HS_MISMATCH"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num"[^>]*>([^<]*)<', row)[:3] == ["1", "1", "0"]
    cn = second_client(web)
    sign_in(cn, "CN", "observer@cn.example", "observer")
    stats = cn.get("/alerts").text.split('data-testid="rule-stats"')[1]
    row = stats.split('data-testid="rule-row" data-rule="HS_MISMATCH"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row)[:3] == ["2", "1", "1"]
    assert "50 %" in row  # one seized of two inspected
    origin = stats.split('data-rule="HS_MISMATCH" data-origin="CN"')[1].split("</tr>")[0]
    assert "from CN" in origin
    assert 'data-rule="WATCHLIST_PARTY" data-destination="MX"' in stats
    later = cn.get("/alerts?since=2099-01-01").text.split('data-testid="rule-stats"')[1]
    assert 'data-testid="rule-row"' not in later and "No alert to count yet." in later
    bad = cn.get("/alerts?since=yesterday").text
    assert 'id="since-error"' in bad


def test_alert_pages_in_spanish_and_chinese(web: TestClient) -> None:
    a = sent(web)
    sign_in(web, "MX", "approver@mx.example", "approver")
    es = web.get("/alerts?lang=es").text
    assert "Alertas de envíos" in es and "En espera de resultado" in es
    assert "Cómo funcionan las reglas de señales de alerta" in es and ">Alerts<" not in es
    page_es = web.get(f"/alerts/{a}?lang=es").text
    assert "Alerta sobre el envío PW-2611-014" in page_es and "Incautado" in page_es
    assert "Riesgo 85 de 100, nivel alto." in page_es
    zh = web.get(f"/alerts/{a}", headers={"Accept-Language": "zh-CN"}).text
    assert "关于货运 PW-2611-014 的警报" in zh and "已查获" in zh and "签名并发送结果" in zh
    assert "HS 2933.39 declared for a controlled precursor" in zh  # the rule's words kept


def test_alert_pages_load_nothing_from_another_origin(web: TestClient) -> None:
    a = sent(web)
    sign_in(web, "MX", "approver@mx.example", "approver")
    for path in ("/alerts", f"/alerts/{a}"):
        html = web.get(path).text
        assets = ASSET.findall(html)
        assert assets, path
        for url in assets:
            assert not re.match(r"(?i)(https?:)?//", url), (path, url)
            assert web.get(url).status_code == 200, (path, url)
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), path
