"""Each authority sees only what it is party to: for every route and role, records of others
answer 404 (never 403), lists leave them out, and dead keys get 401."""

from __future__ import annotations

from typing import Any

import pytest
from exchange_helpers import incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient

from precursorwatch.exchange.admin import revoke_key, rotate_key

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def records(client: TestClient, authorities: Any) -> dict[str, str]:
    """CN notifies MX via US; US shares a seizure with MX only; CA shares an alert with all."""
    n = client.post("/v1/notifications", json=notification(), headers=authorities.headers("CN"))
    i = client.post("/v1/incidents", json=incident(shared_with=["MX"]),
                    headers=authorities.headers("US"))
    alert = client.post("/v1/incidents", json=incident(kind="stopped_shipment", shared_with="all"),
                        headers=authorities.headers("CA"))
    assert n.status_code == i.status_code == alert.status_code == 201
    return {"notification": n.json()["id"], "incident": i.json()["id"],
            "alert": alert.json()["id"]}


# (method, path template, body) for every route that names a record.
RECORD_ROUTES = [
    ("GET", "/v1/notifications/{notification}", None),
    ("POST", "/v1/notifications/{notification}/response", {"decision": "no_objection"}),
    ("POST", "/v1/notifications/{notification}/corrections", notification()),
    ("GET", "/v1/incidents/{incident}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), RECORD_ROUTES)
def test_outsider_gets_404_like_for_a_record_that_does_not_exist(
        client: TestClient, authorities: Any, records: dict[str, str], method: str, path: str,
        body: Any) -> None:
    theirs = client.request(method, path.format(**records), json=body,
                            headers=authorities.headers("CA"))
    absent = client.request(method, path.format(notification=MISSING, incident=MISSING),
                            json=body, headers=authorities.headers("CA"))
    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["error"]["code"] == absent.json()["error"]["code"] == "not_found"
    # The message names only the id asked for: nothing tells the two apart.
    assert (theirs.json()["error"]["message"].replace(records["notification"], "ID")
            .replace(records["incident"], "ID")
            == absent.json()["error"]["message"].replace(MISSING, "ID"))


@pytest.mark.parametrize(("code", "can_read"), [("CN", True), ("MX", True), ("US", True),
                                                ("CA", False)])
def test_notification_visible_to_its_parties_only(client: TestClient, authorities: Any,
                                                  records: dict[str, str], code: str,
                                                  can_read: bool) -> None:
    got = client.get(f"/v1/notifications/{records['notification']}",
                     headers=authorities.headers(code))
    assert got.status_code == (200 if can_read else 404)
    for direction in ("", "?direction=incoming", "?direction=outgoing", "?direction=transit",
                      "?status=sent", "?status=expired"):
        listed = client.get(f"/v1/notifications{direction}", headers=authorities.headers(code))
        assert listed.status_code == 200
        ids = [n["id"] for n in listed.json()["items"]]
        if not can_read:
            assert ids == []


@pytest.mark.parametrize(("code", "sees"), [("US", {"incident", "alert"}),
                                            ("MX", {"incident", "alert"}),
                                            ("CN", {"alert"}), ("CA", {"alert"})])
def test_incidents_reach_the_named_authorities_or_all(client: TestClient, authorities: Any,
                                                      records: dict[str, str], code: str,
                                                      sees: set[str]) -> None:
    listed = client.get("/v1/incidents", headers=authorities.headers(code)).json()["items"]
    assert {i["id"] for i in listed} == {records[k] for k in sees}
    for kind in ("incident", "alert"):
        got = client.get(f"/v1/incidents/{records[kind]}", headers=authorities.headers(code))
        assert got.status_code == (200 if kind in sees else 404)


def test_incident_cannot_link_a_notification_the_reporter_cannot_see(
        client: TestClient, authorities: Any, records: dict[str, str]) -> None:
    hidden = client.post("/v1/incidents", json=incident(notification_ids=[records["notification"]]),
                         headers=authorities.headers("CA"))
    absent = client.post("/v1/incidents", json=incident(notification_ids=[MISSING]),
                         headers=authorities.headers("CA"))
    assert hidden.status_code == absent.status_code == 422
    assert (hidden.json()["error"]["message"].replace(records["notification"], "ID")
            == absent.json()["error"]["message"].replace(MISSING, "ID"))
    linked = client.post("/v1/incidents", json=incident(notification_ids=[records["notification"]]),
                         headers=authorities.headers("US"))
    assert linked.status_code == 201
    assert linked.json()["notification_ids"] == [records["notification"]]


def test_incidents_are_listed_by_the_notification_they_name(
        client: TestClient, authorities: Any, records: dict[str, str]) -> None:
    notification_id = records["notification"]
    to_mx = client.post("/v1/incidents", json=incident(
        notification_ids=[notification_id, notification_id], shared_with=["MX"]),
        headers=authorities.headers("US")).json()
    to_all = client.post("/v1/incidents", json=incident(
        notification_ids=[notification_id], shared_with="all"),
        headers=authorities.headers("MX")).json()

    def linked(code: str) -> set[str]:
        got = client.get("/v1/incidents", params={"notification_id": notification_id},
                         headers=authorities.headers(code))
        assert got.status_code == 200, got.text
        return {i["id"] for i in got.json()["items"]}

    assert linked("MX") == linked("US") == {to_mx["id"], to_all["id"]}
    assert linked("CN") == linked("CA") == {to_all["id"]}  # the other was not shared with them
    assert records["incident"] not in linked("US")  # not linked to it
    bad = client.get("/v1/incidents", params={"notification_id": "x"},
                     headers=authorities.headers("US"))
    assert bad.status_code == 422 and "notification_id" in bad.json()["error"]["message"]


def test_audit_verify_reports_only_the_callers_chain(client: TestClient, authorities: Any,
                                                     records: dict[str, str]) -> None:
    for code, entries in [("CN", 1), ("US", 1), ("CA", 1), ("MX", 0)]:
        report = client.get("/v1/audit/verify", headers=authorities.headers(code)).json()
        assert report["authority"] == code and report["entries"] == entries and report["ok"]


EVERY_ROUTE = [
    ("GET", "/v1/authorities", None),
    ("GET", "/v1/notifications", None),
    ("POST", "/v1/notifications", notification()),
    ("GET", "/v1/incidents", None),
    ("POST", "/v1/incidents", incident()),
    ("GET", "/v1/audit/verify", None),
    *RECORD_ROUTES,
]


@pytest.mark.parametrize(("method", "path", "body"), EVERY_ROUTE)
def test_every_route_needs_a_live_key(client: TestClient, authorities: Any, app: FastAPI,
                                      records: dict[str, str], method: str, path: str,
                                      body: Any) -> None:
    url = path.format(**records)
    for headers in ({}, {"Authorization": "Bearer pwx_not-a-key"},
                    {"Authorization": "Basic abc"}):
        got = client.request(method, url, json=body, headers=headers)
        assert got.status_code == 401, headers
        assert got.json()["error"]["code"] == "unauthorized"
    engine = app.state.exchange.engine
    old = authorities.headers("MX")
    revoke_key(engine, "MX")
    revoked = client.request(method, url, json=body, headers=old)
    assert revoked.status_code == 401
    assert revoked.json()["error"] == {"code": "key_revoked",
                                       "message": "this API key has been revoked"}
    fresh = rotate_key(engine, "MX")
    assert client.request(method, url, json=body, headers=old).status_code == 401
    ok = client.request(method, url, json=body,
                        headers={"Authorization": f"Bearer {fresh.api_key}"})
    assert ok.status_code != 401
