"""Shipment alerts: sent by one authority, read and answered by those it was shared with,
invisible to everyone else; signed, audited, idempotent on the sender's reference; and the
statistics of the red-flag rules over their outcomes."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import Authorities, LiveServer
from exchange_helpers import incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from precursorwatch.exchange.alerts import (
    AlertFacts,
    aggregate_rules,
    overall_outcome,
    stats_report,
)
from precursorwatch.exchange.models import Alert, AlertOutcome


def alert(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shipment": {"shipment_id": "PW-1", "description": "4-piperidone HCl 25 kg drums",
                     "hs_code": "2933.39", "quantity": 25, "unit": "kg",
                     "shipper_country": "CN", "consignee_country": "MX"},
        "screening": {"shipment_id": "PW-1", "risk": 85, "level": "high", "chemicals": [],
                      "flags": [{"code": "HS_MISMATCH", "weight": 20, "detail": "HS 2933.39"},
                                {"code": "WATCHLIST_PARTY", "weight": 40, "detail": "hit"}],
                      "parties": []},
        "reason": "Controlled precursor under a generic description.",
        "share_with": ["MX", "US"],
    }
    body.update(changes)
    return body


def send(client: TestClient, authorities: Authorities, code: str = "CN",
         **changes: Any) -> dict[str, Any]:
    r = client.post("/v1/alerts", json=alert(**changes), headers=authorities.headers(code))
    assert r.status_code == 201, r.text
    assert r.headers["Audit-Receipt"]
    found: dict[str, Any] = r.json()
    return found


def answer(client: TestClient, authorities: Authorities, alert_id: str, code: str,
           outcome: str = "seized", **more: Any) -> Any:
    return client.post(f"/v1/alerts/{alert_id}/outcome",
                       json={"outcome": outcome, "note": f"{code} says {outcome}", **more},
                       headers=authorities.headers(code))


def test_send_read_and_answer(client: TestClient, authorities: Authorities) -> None:
    sent = send(client, authorities)
    assert sent["sender"] == "CN" and sent["shared_with"] == ["MX", "US"]
    assert sent["signature"] and sent["outcome"] == "pending"
    assert sent["pending"] == ["MX", "US"] and sent["outcomes"] == []
    assert sent["shipment"]["quantity"] == 25
    assert sent["screening"]["flags"][0]["code"] == "HS_MISMATCH"
    for code in ("CN", "MX", "US"):
        r = client.get(f"/v1/alerts/{sent['id']}", headers=authorities.headers(code))
        assert r.status_code == 200 and r.json()["id"] == sent["id"]
    r = answer(client, authorities, sent["id"], "MX", "seized")
    assert r.status_code == 200, r.text
    assert r.headers["Audit-Receipt"]
    out = r.json()
    assert out["outcome"] == "seized" and out["pending"] == ["US"]
    assert [(o["authority"], o["outcome"]) for o in out["outcomes"]] == [("MX", "seized")]
    assert out["outcomes"][0]["signature"]
    # What is served after the write is what a read serves.
    assert client.get(f"/v1/alerts/{sent['id']}",
                      headers=authorities.headers("US")).json() == out


def test_isolation_across_four_authorities(client: TestClient,
                                           authorities: Authorities) -> None:
    sent = send(client, authorities)
    path = f"/v1/alerts/{sent['id']}"
    assert client.get(path, headers=authorities.headers("CA")).status_code == 404
    r = answer(client, authorities, sent["id"], "CA")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # The same answer as for an alert that does not exist.
    missing = "00000000-0000-4000-8000-000000000000"
    assert (client.get(f"/v1/alerts/{missing}", headers=authorities.headers("CA")).json()
            ["error"]["message"].replace(missing, sent["id"])
            == client.get(path, headers=authorities.headers("CA")).json()["error"]["message"])
    r = answer(client, authorities, sent["id"], "CN")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_receiving_authority"
    pages = {code: client.get("/v1/alerts", headers=authorities.headers(code)).json()["items"]
             for code in ("CN", "MX", "US", "CA")}
    assert [len(pages[c]) for c in ("CN", "MX", "US", "CA")] == [1, 1, 1, 0]
    assert client.get("/v1/alerts?direction=incoming",
                      headers=authorities.headers("CN")).json()["items"] == []
    assert len(client.get("/v1/alerts?direction=outgoing",
                          headers=authorities.headers("CN")).json()["items"]) == 1
    assert client.get("/v1/alerts?direction=outgoing",
                      headers=authorities.headers("MX")).json()["items"] == []
    stats = client.get("/v1/stats/rules", headers=authorities.headers("CA")).json()
    assert stats["alerts"] == 0 and stats["rules"] == []


def test_filters_by_outcome(client: TestClient, authorities: Authorities) -> None:
    first = send(client, authorities)
    second = send(client, authorities, share_with=["MX"])
    assert answer(client, authorities, second["id"], "MX", "inspected_clear").status_code == 200

    def ids(query: str, code: str = "CN") -> set[str]:
        r = client.get(f"/v1/alerts?{query}", headers=authorities.headers(code))
        assert r.status_code == 200, r.text
        return {a["id"] for a in r.json()["items"]}

    assert ids("outcome=pending") == {first["id"]}
    assert ids("outcome=inspected_clear") == {second["id"]}
    assert ids("outcome=seized") == set()
    assert ids("direction=incoming&outcome=pending", "MX") == {first["id"]}
    assert ids("limit=1") | ids("limit=1&offset=1") == {first["id"], second["id"]}
    r = client.get("/v1/alerts?outcome=lost", headers=authorities.headers("CN"))
    assert r.status_code == 422 and "outcome" in r.json()["error"]["message"]


def test_a_second_outcome_is_refused(client: TestClient, authorities: Authorities) -> None:
    sent = send(client, authorities)
    assert answer(client, authorities, sent["id"], "MX", "not_found").status_code == 200
    r = answer(client, authorities, sent["id"], "MX", "seized")
    assert r.status_code == 409 and r.json()["error"]["code"] == "outcome_given"
    assert answer(client, authorities, sent["id"], "US", "no_action").status_code == 200
    got = client.get(f"/v1/alerts/{sent['id']}", headers=authorities.headers("CN")).json()
    assert {o["authority"]: o["outcome"] for o in got["outcomes"]} == {
        "MX": "not_found", "US": "no_action"}
    assert got["outcome"] == "not_found" and got["pending"] == []


def test_concurrent_outcomes_by_one_authority_give_one(app: FastAPI, client: TestClient,
                                                       authorities: Authorities) -> None:
    sent = send(client, authorities)
    barrier = threading.Barrier(6)
    statuses: list[int] = []
    lock = threading.Lock()

    def race(i: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as own:
            barrier.wait()
            r = answer(own, authorities, sent["id"], "MX",
                       "seized" if i % 2 else "inspected_clear")
            with lock:
                statuses.append(r.status_code)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 5, statuses
    with app.state.exchange.sessions() as session:
        assert len(session.scalars(select(AlertOutcome)).all()) == 1
    report = client.get("/v1/audit/verify", headers=authorities.headers("MX")).json()
    assert report["ok"] and report["entries"] == 1


def test_bad_input_names_the_field(client: TestClient, authorities: Authorities) -> None:
    cases = [
        (alert(share_with=["ZZ"]), "share_with[0]", "unknown_authority"),
        (alert(share_with=["MX", "CN"]), "share_with[1]", "shared_with_sender"),
        (alert(share_with=["MX", "MX"]), "share_with[1]", "duplicate_authority"),
        (alert(share_with=[]), "share_with", "invalid_request"),
        (alert(shipment={"shipment_id": "PW-1", "description": "x", "colour": "red"}),
         "colour", "invalid_request"),
        (alert(screening={**alert()["screening"], "shipment_id": "PW-2"}),
         "screening.shipment_id", "invalid_request"),
        (alert(screening={**alert()["screening"], "risk": 101}), "risk", "invalid_request"),
        (alert(reason=""), "reason", "invalid_request"),
        (alert(notification_id="not-a-uuid"), "notification_id", "invalid_request"),
    ]
    for body, field, code in cases:
        r = client.post("/v1/alerts", json=body, headers=authorities.headers("CN"))
        assert r.status_code == 422, (field, r.text)
        error = r.json()["error"]
        assert field in error["message"] and error["code"] == code, (field, error)


def test_links_to_records_the_sender_is_not_party_to_are_refused_alike(
        client: TestClient, authorities: Authorities) -> None:
    theirs = client.post("/v1/notifications", json=notification(transit_authorities=[]),
                         headers=authorities.headers("CN")).json()["id"]
    their_incident = client.post("/v1/incidents", json=incident(shared_with=["MX"]),
                                 headers=authorities.headers("US")).json()["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    messages = []
    for link in (theirs, missing):
        r = client.post("/v1/alerts", json=alert(notification_id=link, share_with=["MX"]),
                        headers=authorities.headers("CA"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_notification"
        messages.append(r.json()["error"]["message"].replace(link, "ID"))
    assert messages[0] == messages[1] and messages[0].startswith("notification_id:")
    r = client.post("/v1/alerts", json=alert(incident_id=their_incident),
                    headers=authorities.headers("CN"))
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("incident_id:")
    # The exporter is party to its notification: the link is kept.
    linked = send(client, authorities, notification_id=theirs)
    assert linked["notification_id"] == theirs
    # An outcome may cite only an incident its author may read.
    r = answer(client, authorities, linked["id"], "MX", incident_id=missing)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_incident"
    r = answer(client, authorities, linked["id"], "MX", incident_id=their_incident)
    assert r.status_code == 200 and r.json()["outcomes"][0]["incident_id"] == their_incident


def test_re_sending_with_a_reference_returns_the_first_alert(
        client: TestClient, authorities: Authorities) -> None:
    first = send(client, authorities, reference="screen:abc123")
    again = client.post("/v1/alerts", json=alert(reference="screen:abc123"),
                        headers=authorities.headers("CN"))
    assert again.status_code == 200 and "Audit-Receipt" not in again.headers
    assert again.json() == first
    # References are the sender's own: another sender's same reference is a new alert.
    other = send(client, authorities, "US", reference="screen:abc123", share_with=["MX"])
    assert other["id"] != first["id"]
    assert len(client.get("/v1/alerts?direction=outgoing",
                          headers=authorities.headers("CN")).json()["items"]) == 1
    report = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
    assert report["ok"] and report["entries"] == 1


def test_concurrent_re_sends_write_one_alert(app: FastAPI, authorities: Authorities) -> None:
    barrier = threading.Barrier(6)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def race() -> None:
        with TestClient(app, raise_server_exceptions=False) as own:
            barrier.wait()
            r = own.post("/v1/alerts", json=alert(reference="screen:race"),
                         headers=authorities.headers("CN"))
            with lock:
                answers.append((r.status_code, r.json().get("id", r.text)))

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in answers) == [200] * 5 + [201], answers
    assert len({i for _, i in answers}) == 1
    with app.state.exchange.sessions() as session:
        assert len(session.scalars(select(Alert.id)).all()) == 1


def test_audit_covers_alerts_and_outcomes(app: FastAPI, client: TestClient,
                                          authorities: Authorities) -> None:
    sent = send(client, authorities)
    assert answer(client, authorities, sent["id"], "MX").status_code == 200
    for code in ("CN", "MX"):
        report = client.get("/v1/audit/verify", headers=authorities.headers(code)).json()
        assert report["ok"] and report["entries"] == 1, report
    ex = app.state.exchange
    with ex.sessions.begin() as session:
        row = session.get_one(Alert, sent["id"])
        body = copy.deepcopy(row.body)
        body["reason"] = "nothing to see"
        session.execute(update(Alert).where(Alert.id == sent["id"]).values(body=body))
        session.execute(update(AlertOutcome).values(outcome="no_action"))
    for code in ("CN", "MX"):
        report = client.get("/v1/audit/verify", headers=authorities.headers(code)).json()
        assert not report["ok"]
        assert any("content changed" in p["problem"] for p in report["problems"]), report


def test_an_alert_outside_the_chain_is_found(app: FastAPI, client: TestClient,
                                             authorities: Authorities) -> None:
    sent = send(client, authorities)
    from precursorwatch.exchange.models import AuditEntry

    with app.state.exchange.sessions.begin() as session:
        session.execute(update(AuditEntry).where(AuditEntry.record_id == sent["id"])
                        .values(record_id="00000000-0000-4000-8000-000000000000"))
    report = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
    problems = {p["problem"] for p in report["problems"]}
    assert "record is not in the audit chain" in problems


# -- statistics --------------------------------------------------------------------------------
def facts(rules: str, answers: tuple[str | None, ...], origin: str = "CN",
          destination: str = "MX") -> AlertFacts:
    return AlertFacts(tuple(rules.split()), origin, destination, answers)


def test_overall_outcome_takes_the_strongest_answer() -> None:
    assert overall_outcome(["no_action", "seized"]) == "seized"
    assert overall_outcome(["not_found", "inspected_clear"]) == "inspected_clear"
    assert overall_outcome([None, "no_action"]) == "pending"
    assert overall_outcome(["no_action", "no_action"]) == "no_action"
    assert overall_outcome([None, "not_found"]) == "not_found"


def test_rule_precision_by_hand() -> None:
    alerts = [
        facts("HS_MISMATCH WATCHLIST_PARTY", ("seized", None)),               # seized
        facts("HS_MISMATCH", ("inspected_clear",), origin="IN"),              # clear
        facts("HS_MISMATCH HS_MISMATCH", ("not_found", "no_action")),         # not found
        facts("HS_MISMATCH", ("no_action",)),                                 # no action
        facts("WATCHLIST_PARTY", (None,), destination="US"),                  # pending
        facts("WATCHLIST_PARTY", ("seized",), destination="US"),              # seized
    ]
    tallies = aggregate_rules(alerts)
    hs = tallies["HS_MISMATCH"]
    # HS_MISMATCH: 4 alerts; seized 1, clear 1, not found 1 -> inspected 3, precision 1/3.
    assert hs.alerts == 4 and hs.inspected == 3
    assert hs.outcomes == {"seized": 1, "inspected_clear": 1, "not_found": 1, "pending": 0,
                           "no_action": 1}
    assert hs.precision == pytest.approx(1 / 3)
    assert hs.by_origin["CN"].alerts == 3 and hs.by_origin["CN"].precision == pytest.approx(0.5)
    assert hs.by_origin["IN"].precision == 0.0
    # WATCHLIST_PARTY: 3 alerts, 2 seized, 1 pending -> inspected 2, precision 1.
    wp = tallies["WATCHLIST_PARTY"]
    assert (wp.alerts, wp.inspected, wp.precision) == (3, 2, 1.0)
    assert wp.by_destination["US"].outcomes["pending"] == 1
    assert wp.by_destination["MX"].alerts == 1
    report = stats_report(alerts, dt.date(2026, 11, 1))
    assert [r["rule"] for r in report["rules"]] == ["HS_MISMATCH", "WATCHLIST_PARTY"]
    assert report["rules"][0]["precision"] == 0.3333
    assert "seized / inspected" in report["definition"]
    assert stats_report([facts("X", ("no_action",))], None)["rules"][0]["precision"] is None


def test_stats_route_counts_own_and_shared_alerts(client: TestClient,
                                                  authorities: Authorities) -> None:
    one = send(client, authorities)                                # CN -> MX, US
    two = send(client, authorities, "US", share_with=["MX"])       # US -> MX
    three = send(client, authorities, "US", share_with=["CA"])     # not CN's
    assert answer(client, authorities, one["id"], "MX", "seized").status_code == 200
    assert answer(client, authorities, two["id"], "MX", "inspected_clear").status_code == 200
    assert answer(client, authorities, three["id"], "CA", "seized").status_code == 200
    r = client.get("/v1/stats/rules?since=2026-11-01", headers=authorities.headers("MX"))
    assert r.status_code == 200, r.text
    rules = {x["rule"]: x for x in r.json()["rules"]}
    assert rules["HS_MISMATCH"]["alerts"] == 2
    assert rules["HS_MISMATCH"]["precision"] == 0.5
    assert rules["HS_MISMATCH"]["by_origin"] == [{
        "country": "CN", "alerts": 2, "inspected": 2, "precision": 0.5,
        "outcomes": {"seized": 1, "inspected_clear": 1, "not_found": 0, "pending": 0,
                     "no_action": 0}}]
    cn = client.get("/v1/stats/rules", headers=authorities.headers("CN")).json()
    assert cn["alerts"] == 1 and cn["rules"][0]["precision"] == 1.0
    later = client.get("/v1/stats/rules?since=2027-01-01", headers=authorities.headers("MX"))
    assert later.json()["alerts"] == 0
    bad = client.get("/v1/stats/rules?since=yesterday", headers=authorities.headers("MX"))
    assert bad.status_code == 422 and "since" in bad.json()["error"]["message"]


# -- command line ------------------------------------------------------------------------------
SAMPLE = Path(__file__).resolve().parents[2] / "precursorwatch" / "samples" / "manifest.csv"


def small_manifest(tmp_path: Path) -> Path:
    """Four shipments of the sample manifest: one of no concern, two of high risk, and one
    without a goods description (a bad row, which the exchange will not take as an alert)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[33], lines[34], lines[52]]) + "\n",
                    encoding="utf-8")
    return path


def key_file(tmp_path: Path, authorities: Authorities, code: str) -> str:
    path = tmp_path / f"{code.lower()}.key"
    path.write_text(authorities.by_code[code].api_key + "\n", encoding="utf-8")
    return str(path)


def test_screen_shares_flagged_shipments_once(live_server: LiveServer, client: TestClient,
                                              authorities: Authorities,
                                              tmp_path: Path) -> None:
    from precursorwatch.cli import app as cli

    manifest = small_manifest(tmp_path)
    out = tmp_path / "results.jsonl"
    args = ["screen", str(manifest), "--out", str(out), "--no-progress", "--share-with",
            "MX,US", "--exchange", live_server.url, "--key-file",
            key_file(tmp_path, authorities, "CN"), "--min-level", "medium"]
    first = CliRunner().invoke(cli, args)
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    shared = [r for r in results if r["level"] in ("medium", "high")]
    bad = [r["shipment_id"] for r in shared if any(f["code"] == "BAD_ROW" for f in r["flags"])]
    assert len(shared) == 3 and len(bad) == 1, results
    # The bad row could not be sent: said for that shipment, the others went; exit 1.
    assert first.exit_code == 1, first.output
    assert ("alerts: 2 sent to MX, US, 0 already sent before, 1 not sent (shipments at "
            "medium or above)") in first.output
    assert f"not sent: shipment {bad[0]}: 422 invalid_request: body.shipment.description" in (
        first.output)
    incoming = client.get("/v1/alerts?direction=incoming",
                          headers=authorities.headers("MX")).json()["items"]
    assert sorted(a["shipment"]["shipment_id"] for a in incoming) == sorted(
        r["shipment_id"] for r in shared if r["shipment_id"] not in bad)
    for a in incoming:
        assert a["reference"].startswith("screen:")
        assert a["screening"] == next(r for r in results
                                      if r["shipment_id"] == a["shipment"]["shipment_id"])
        assert a["shipment"]["shipper_country"] and "row" not in a["shipment"]
        assert f"alert {a['id']} shipment {a['shipment']['shipment_id']}" in first.output
    # Run again: nothing is sent twice.
    again = CliRunner().invoke(cli, args)
    assert "alerts: 0 sent to MX, US, 2 already sent before, 1 not sent" in again.output
    assert len(client.get("/v1/alerts", headers=authorities.headers("CN")).json()["items"]) == 2
    # Options are checked before the screening runs.
    for extra, words in [(["--share-with", "MX"], "--share-with needs --exchange"),
                         (["--share-with", "M X", "--exchange", live_server.url],
                          "is not an authority code"),
                         (["--exchange", live_server.url], "are for --share-with")]:
        r = CliRunner().invoke(cli, ["screen", str(manifest), "--no-progress", *extra])
        assert r.exit_code == 2 and words in r.output, r.output


def test_stats_rules_command(live_server: LiveServer, client: TestClient,
                             authorities: Authorities, database: Any,
                             tmp_path: Path) -> None:
    from precursorwatch.cli import app as cli

    one = send(client, authorities)
    send(client, authorities, screening={**alert()["screening"], "flags": [
        {"code": "HS_MISMATCH", "weight": 20, "detail": "x"}]}, share_with=["MX"])
    assert answer(client, authorities, one["id"], "MX", "seized").status_code == 200
    mx = key_file(tmp_path, authorities, "MX")
    r = CliRunner().invoke(cli, ["stats", "rules", "--exchange", live_server.url,
                                 "--key-file", mx, "--since", "2026-11-01",
                                 "--format", "json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    rules = {x["rule"]: x for x in report["rules"]}
    # HS_MISMATCH fired on both: one seized, one pending -> inspected 1, precision 1.
    assert (rules["HS_MISMATCH"]["alerts"], rules["HS_MISMATCH"]["outcomes"]["pending"],
            rules["HS_MISMATCH"]["precision"]) == (2, 1, 1.0)
    assert rules["WATCHLIST_PARTY"]["alerts"] == 1
    table = CliRunner().invoke(cli, ["stats", "rules", "--exchange", live_server.url,
                                     "--key-file", mx])
    assert table.exit_code == 0, table.output
    assert "HS_MISMATCH" in table.output and "from CN" in table.output
    assert "100%" in table.output and "Precision = seized / inspected" in table.output
    if database.kind == "sqlite":  # a schema of the test PostgreSQL is not in a URL
        direct = CliRunner().invoke(cli, ["stats", "rules", "--db", database.url,
                                          "--authority", "mx", "--format", "json",
                                          "--since", "2026-11-01"])
        assert direct.exit_code == 0, direct.output
        assert json.loads(direct.output) == report
        wrong = CliRunner().invoke(cli, ["stats", "rules", "--db", database.url,
                                         "--authority", "ZZ"])
        assert wrong.exit_code == 2 and "no authority 'ZZ'" in wrong.output
    for args, words in [(["--exchange", live_server.url], "needs --key-file"),
                        ([], "give the alerts' source"),
                        (["--exchange", live_server.url, "--key-file", mx, "--since", "soon"],
                         "--since: 'soon'")]:
        r = CliRunner().invoke(cli, ["stats", "rules", *args])
        assert r.exit_code == 2 and words in r.output, r.output
