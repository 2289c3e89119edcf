"""The audit chain finds changes made behind the service's back, straight in the database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from exchange_helpers import incident, notification, sign_as_before_rfc8785
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from precursorwatch.exchange import audit
from precursorwatch.exchange.admin import verify_audit
from precursorwatch.exchange.audit import Receipt
from precursorwatch.exchange.db import migrating


@pytest.fixture
def history(client: TestClient, authorities: Any) -> dict[str, str]:
    """CN sends two notifications, MX answers one, US reports an incident."""
    first = client.post("/v1/notifications", json=notification(),
                        headers=authorities.headers("CN")).json()
    second = client.post("/v1/notifications", json=notification(quantity=5),
                         headers=authorities.headers("CN")).json()
    answer = client.post(f"/v1/notifications/{first['id']}/response",
                         json={"decision": "objection", "reason": "no licence"},
                         headers=authorities.headers("MX"))
    assert answer.status_code == 200
    seized = client.post("/v1/incidents", json=incident(),
                         headers=authorities.headers("US")).json()
    linked = client.post("/v1/incidents", json=incident(notification_ids=[first["id"]]),
                         headers=authorities.headers("US")).json()
    return {"first": first["id"], "second": second["id"], "answered": first["id"],
            "incident": seized["id"], "linked": linked["id"]}


def problems(client: TestClient, authorities: Any, code: str) -> list[str]:
    report = client.get("/v1/audit/verify", headers=authorities.headers(code))
    assert report.status_code == 200
    body = report.json()
    assert body["ok"] == (not body["problems"])
    return [p["problem"] for p in body["problems"]]


def tamper(app: FastAPI, sql: str, **params: Any) -> None:
    with app.state.exchange.engine.begin() as conn:
        assert conn.execute(text(sql), params).rowcount >= 1


def test_untouched_chains_verify(client: TestClient, authorities: Any, app: FastAPI,
                                 history: dict[str, str]) -> None:
    for code in ("CN", "MX", "US", "CA"):
        assert problems(client, authorities, code) == []
    reports = {r.authority: r for r in verify_audit(app.state.exchange.engine)}
    assert {c: r.entries for c, r in reports.items()} == {"CA": 0, "CN": 2, "MX": 1, "US": 2}
    assert all(r.ok for r in reports.values())


# (case, who's chain breaks, SQL run straight on the database, expected problem)
TAMPERING = [
    ("quantity lowered in the stored body", "CN",
     "UPDATE notification SET body = :body WHERE id = :second", "record content changed"),
    ("importing authority swapped", "CN",
     "UPDATE notification SET importer_id = (SELECT id FROM authority WHERE code = 'CA') "
     "WHERE id = :second", "record content changed"),
    ("deadline pushed back", "CN",
     "UPDATE notification SET reply_deadline = reply_deadline + INTERVAL '30 days' "
     "WHERE id = :second", "record content changed"),
    ("transit authority added", "CN",
     "INSERT INTO notification_transit (notification_id, authority_id) SELECT :second, id "
     "FROM authority WHERE code = 'CA'", "record content changed"),
    ("verdict downgraded", "CN",
     "UPDATE notification SET verdict_name = 'clear' WHERE id = :first",
     "record content changed"),
    ("objection turned into consent", "MX",
     "UPDATE notification_response SET decision = 'no_objection' WHERE notification_id = :answered",
     "record content changed"),
    ("incident shared wider", "US",
     "UPDATE incident SET shared_with_all = TRUE WHERE id = :incident",
     "record content changed"),
    ("audit entry back-dated", "CN",
     "UPDATE audit_entry SET at = at - INTERVAL '1 day' WHERE record_id = :second",
     "audit entry changed"),
    ("audit entry deleted", "CN",
     "DELETE FROM audit_entry WHERE record_id = :first", "link 1 is missing"),
    ("answer deleted", "MX",
     "DELETE FROM notification_response WHERE notification_id = :answered", "record is missing"),
    ("party screening hit removed", "CN",
     "UPDATE notification SET party_hits = NULL WHERE id = :second",
     "record content changed"),
    ("incident party screening altered", "US",
     "UPDATE incident SET party_hits = NULL WHERE id = :incident",
     "record content changed"),
    ("served copy replaced", "CN",
     "UPDATE notification SET rendered = (SELECT rendered FROM notification WHERE id = :first)"
     " WHERE id = :second", "copy served to readers differs"),
    ("served incident copy edited", "US",
     "UPDATE incident SET rendered = REPLACE(rendered, '\"seizure\"', '\"attempted_diversion\"')"
     " WHERE id = :incident", "copy served to readers differs"),
    ("incident unlinked from its notification", "US",
     "DELETE FROM incident_notification WHERE incident_id = :linked",
     "links to notifications differ"),
    ("served status turned into consent", "CN",
     "UPDATE notification SET status = 'no_objection' WHERE id = :answered",
     "copy served to readers differs"),
    ("served answer's reason edited", "CN",
     "UPDATE notification SET answer = REPLACE(answer, 'no licence', 'licence on file') "
     "WHERE id = :answered", "copy served to readers differs"),
    ("answer hidden from readers", "CN",
     "UPDATE notification SET status = 'sent', answer = NULL WHERE id = :answered",
     "copy served to readers differs"),
    ("shown as corrected without a correction", "CN",
     "UPDATE notification SET status = 'superseded', superseded_by = :first WHERE id = :second",
     "copy served to readers differs"),
    ("signature swapped", "CN",
     "UPDATE notification SET signature = (SELECT signature FROM notification WHERE id = :first)"
     " WHERE id = :second", "signature does not verify"),
]


@pytest.mark.parametrize(("case", "victim", "sql", "expected"), TAMPERING,
                         ids=[t[0] for t in TAMPERING])
def test_direct_database_edit_is_detected(client: TestClient, authorities: Any, app: FastAPI,
                                          database: Any, history: dict[str, str], case: str,
                                          victim: str, sql: str, expected: str) -> None:
    if database.kind == "sqlite":
        sql = (sql.replace("reply_deadline + INTERVAL '30 days'",
                           "datetime(reply_deadline, '+30 days')")
               .replace("at - INTERVAL '1 day'", "datetime(at, '-1 day')")
               .replace("TRUE", "1"))
    body = notification(quantity=0.5)
    params = {k: v for k, v in history.items() if f":{k}" in sql}
    if ":body" in sql:
        params["body"] = json.dumps(body)
    tamper(app, sql, **params)
    found = problems(client, authorities, victim)
    assert any(expected in p for p in found), found
    reports = {r.authority: r for r in verify_audit(app.state.exchange.engine)}
    assert not reports[victim].ok
    assert any(expected in p.problem for p in reports[victim].problems)


def test_record_slipped_in_without_the_service_is_detected(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str]) -> None:
    columns = ("thread_id, version, supersedes_id, exporter_id, importer_id, created_at, "
               "reply_deadline, verdict_name, body, verdict, signature, canon, rendered")
    tamper(app, f"INSERT INTO notification (id, {columns}) SELECT "
                "'00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001',"
                " 1, NULL, exporter_id, importer_id, created_at, reply_deadline, verdict_name,"
                " body, verdict, signature, canon, rendered FROM notification WHERE id = :second",
           second=history["second"])
    assert "record is not in the audit chain" in problems(client, authorities, "CN")


@pytest.mark.parties_unscreened  # as records were written before revision 0005
def test_upgrades_rebuild_what_they_add_from_records_written_before_them(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str]) -> None:
    """Revision 0002 added the stored served copy and 0004 the incidents' notification links;
    records already there get both from the signed columns, as the service wrote them."""
    engine = app.state.exchange.engine
    incidents = ("incident", "linked")

    def read(key: str, record_id: str) -> Any:
        kind = "incidents" if key in incidents else "notifications"
        got = client.get(f"/v1/{kind}/{record_id}",
                         headers=authorities.headers("US" if key in incidents else "CN"))
        assert got.status_code == 200, got.text
        return got.json()

    def linked() -> list[str]:
        return [i["id"] for i in client.get(
            "/v1/incidents", params={"notification_id": history["first"]},
            headers=authorities.headers("US")).json()["items"]]

    sign_as_before_rfc8785(app.state.exchange)  # as records were written before 0006
    served = {k: read(k, i) for k, i in history.items()}
    assert linked() == [history["linked"]]
    with migrating(engine) as config:
        conn = config.attributes["connection"]
        before = dict(conn.execute(text("SELECT id, rendered FROM notification")).all())
        command.downgrade(config, "0001")
        assert "rendered" not in {c["name"] for c in inspect(conn).get_columns("notification")}
        assert "incident_notification" not in inspect(conn).get_table_names()
        command.upgrade(config, "head")
        after = dict(conn.execute(text("SELECT id, rendered FROM notification")).all())
    assert after == before and len(after) == 2
    assert {k: read(k, i) for k, i in history.items()} == served
    assert linked() == [history["linked"]]
    assert all(r.ok for r in verify_audit(engine))


def test_writes_hand_out_receipts_that_catch_a_chain_cut_back(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str]) -> None:
    """Deleting the newest record together with its audit link leaves a consistent chain;
    the receipt its author kept shows the cut."""
    cn = authorities.headers("CN")
    third = client.post("/v1/notifications", json=notification(quantity=7), headers=cn)
    receipt = third.headers["Audit-Receipt"]
    seq, _, link_hash = receipt.partition(":")
    assert seq == "3" and len(link_hash) == 64
    report = client.get("/v1/audit/verify", params={"receipt": receipt}, headers=cn).json()
    assert report["ok"] and report["head"] == receipt
    answered = client.post(f"/v1/notifications/{history['second']}/response",
                           json={"decision": "no_objection"}, headers=authorities.headers("MX"))
    assert answered.headers["Audit-Receipt"].startswith("2:")  # MX's own chain

    third_id = third.json()["id"]
    tamper(app, "DELETE FROM notification_transit WHERE notification_id = :id", id=third_id)
    tamper(app, "DELETE FROM audit_entry WHERE record_id = :id", id=third_id)
    tamper(app, "DELETE FROM notification WHERE id = :id", id=third_id)
    assert problems(client, authorities, "CN") == []  # what the chain alone cannot see
    cut = client.get("/v1/audit/verify", params={"receipt": receipt}, headers=cn).json()
    assert not cut["ok"] and cut["head"].startswith("2:")
    assert [p["problem"] for p in cut["problems"]] == [
        "link 3 of the receipt is gone: the chain was cut back"]
    reports = {r.authority: r for r in verify_audit(
        app.state.exchange.engine, {"CN": [Receipt.parse(receipt)]})}
    assert not reports["CN"].ok and reports["MX"].ok


def test_a_receipt_that_no_longer_matches_its_link_is_reported(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str]) -> None:
    cn = authorities.headers("CN")
    head = client.get("/v1/audit/verify", headers=cn).json()["head"]
    seq = head.split(":")[0]
    forged = f"{seq}:{'0' * 64}"
    report = client.get("/v1/audit/verify", params={"receipt": forged}, headers=cn).json()
    assert [p["problem"] for p in report["problems"]] == [f"link {seq} differs from the receipt"]
    bad = client.get("/v1/audit/verify", params={"receipt": "12-abc"}, headers=cn)
    assert bad.status_code == 422
    assert "receipt '12-abc': expected SEQ:HASH" in bad.json()["error"]["message"]


def test_long_chains_are_checked_in_batches_with_the_same_findings(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for quantity in (1, 2, 3):
        client.post("/v1/notifications", json=notification(quantity=quantity),
                    headers=authorities.headers("CN"))
    tamper(app, "DELETE FROM audit_entry WHERE record_id = :second", second=history["second"])
    whole = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
    assert whole["entries"] == 4
    assert (3, "link does not follow the previous one") in [
        (p["seq"], p["problem"]) for p in whole["problems"]]
    assert "record is not in the audit chain" in [p["problem"] for p in whole["problems"]]
    for batch in (1, 2, 3):
        monkeypatch.setattr(audit, "_BATCH", batch)
        batched = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
        assert batched == whole


def test_no_downgrade_below_the_signed_party_screening(
        client: TestClient, authorities: Any, app: FastAPI, history: dict[str, str]) -> None:
    """Party screening is part of what a notification's signature covers: a downgrade that
    would drop it is refused, and nothing changes."""
    sign_as_before_rfc8785(app.state.exchange)  # below 0006, as records were written then
    with (pytest.raises(RuntimeError, match="cannot go below revision 0005: 2 notification"),
          migrating(app.state.exchange.engine) as config):
        command.downgrade(config, "0004")
    assert all(r.ok for r in verify_audit(app.state.exchange.engine))


def test_a_correction_hidden_from_readers_is_detected(client: TestClient, authorities: Any,
                                                      app: FastAPI) -> None:
    """A correction marks the version it replaces `superseded` in that version's row; setting
    it back by hand (readers would answer the old version) shows in the exporter's chain."""
    cn = authorities.headers("CN")
    old = client.post("/v1/notifications", json=notification(), headers=cn).json()
    new = client.post(f"/v1/notifications/{old['id']}/corrections",
                      json=notification(quantity=7), headers=cn).json()
    served = client.get(f"/v1/notifications/{old['id']}", headers=cn).json()
    assert (served["status"], served["superseded_by"]) == ("superseded", new["id"])
    assert problems(client, authorities, "CN") == []
    tamper(app, "UPDATE notification SET status = 'sent', superseded_by = NULL WHERE id = :old",
           old=old["id"])
    assert client.get(f"/v1/notifications/{old['id']}", headers=cn).json()["status"] == "sent"
    assert any("copy served to readers differs" in p for p in problems(client, authorities, "CN"))


def test_the_upgrade_to_stored_follow_ups_fills_them_from_the_signed_rows(
        client: TestClient, authorities: Any, app: FastAPI) -> None:
    """Revision 0012 keeps a notification's status, correction and answer in its row; rows
    written before it get them from their answers and corrections, served as before."""
    cn, mx = authorities.headers("CN"), authorities.headers("MX")
    old = client.post("/v1/notifications", json=notification(), headers=cn).json()
    new = client.post(f"/v1/notifications/{old['id']}/corrections",
                      json=notification(quantity=7), headers=cn).json()
    answered = client.post(f"/v1/notifications/{new['id']}/response",
                           json={"decision": "objection", "reason": "no licence \u00e9"},
                           headers=mx)
    assert answered.status_code == 200
    plain = client.post("/v1/notifications", json=notification(quantity=3), headers=cn).json()
    ids = (old["id"], new["id"], plain["id"])

    def served() -> dict[str, bytes]:
        return {i: client.get(f"/v1/notifications/{i}", headers=mx).content for i in ids}

    before = served()
    assert json.loads(before[new["id"]])["response"] == answered.json()["response"]
    engine = app.state.exchange.engine
    with migrating(engine) as config:
        conn = config.attributes["connection"]
        command.downgrade(config, "0011")
        assert "answer" not in {c["name"] for c in inspect(conn).get_columns("notification")}
        command.upgrade(config, "head")
    assert served() == before
    assert all(r.ok for r in verify_audit(engine))
