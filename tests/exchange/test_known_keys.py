"""Keys known from a moment ago: requests with them skip a hop, yet a revoked key is refused at
once and every request still counts against the key's rate limit."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from exchange_helpers import Clock, incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from precursorwatch.exchange import incidents, notifications
from precursorwatch.exchange.admin import add_authority, revoke_key, verify_audit
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.scope import Caller, KnownKeys
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import hash_api_key


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_known_key_is_forgotten_after_its_time() -> None:
    ticks = Ticks()
    keys = KnownKeys(ttl=5.0, clock=ticks)
    cn = Caller(1, "CN", "NNCC")
    keys.add("h1", cn)
    assert keys.get("h1") == cn
    ticks.now += 4.9
    assert keys.get("h1") == cn
    ticks.now += 0.2
    assert keys.get("h1") is None
    keys.add("h1", cn)
    keys.forget("h1")
    assert keys.get("h1") is None


def test_known_keys_stay_within_their_size() -> None:
    ticks = Ticks()
    keys = KnownKeys(ttl=5.0, size=3, clock=ticks)
    for i in range(10):
        keys.add(f"h{i}", Caller(i, "CN", "NNCC"))
        assert len(keys._until) <= 3
    assert keys.get("h9") == Caller(9, "CN", "NNCC")


def test_a_revoked_key_is_refused_at_once_though_known(
        client: TestClient, app: FastAPI, authorities: Any) -> None:
    mx = authorities.headers("MX")
    mx_hash = hash_api_key(authorities.by_code["MX"].api_key)
    listed = client.get("/v1/notifications", headers=mx)
    assert listed.status_code == 200
    keys: KnownKeys = app.state.known_keys
    assert keys.get(mx_hash) is not None  # known now: the next request skips the look-up
    revoke_key(app.state.exchange.engine, "MX")
    for method, path, body in [("GET", "/v1/notifications", None),
                               ("GET", "/v1/incidents", None),
                               ("GET", f"/v1/notifications/{NO_RECORD}", None),
                               ("GET", f"/v1/incidents/{NO_RECORD}", None),
                               ("POST", "/v1/notifications", notification())]:
        keys.add(mx_hash, Caller(2, "MX", "COFEPRIS"))  # as if seen a moment ago
        got = client.request(method, path, json=body, headers=mx)
        assert got.status_code == 401, (method, path)
        assert got.json()["error"]["code"] == "key_revoked"
        assert keys.get(mx_hash) is None
    # Forgotten, so even a request whose body is wrong is refused for its key first.
    bad = client.post("/v1/notifications", json={"quantity": "lots"}, headers=mx)
    assert bad.status_code == 401


def test_requests_with_a_known_key_count_against_its_rate(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    app = create_app(dataclasses.replace(settings, rate_limit=4), engine=engine, clock=clock)
    ex = app.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    headers = {"Authorization": f"Bearer {cn.api_key}"}
    with TestClient(app) as client:
        # The first request looks the key up; the others find it known and count along with
        # their read, whichever route they take.
        got = [client.get(path, headers=headers).status_code for path in
               ("/v1/notifications", "/v1/incidents", "/v1/notifications",
                "/v1/incidents", "/v1/notifications")]
        assert app.state.known_keys.get(hash_api_key(cn.api_key)) is not None
    assert got == [200, 200, 200, 200, 429]


NO_RECORD = "00000000-0000-4000-8000-000000000000"


def test_single_reads_with_a_known_key_count_whether_or_not_the_record_exists(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    """A single read is counted in the statement that reads the record (on PostgreSQL):
    found or not (404), it counts; over the limit it is 429 whatever the record."""
    app = create_app(dataclasses.replace(settings, rate_limit=5), engine=engine, clock=clock)
    ex = app.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    add_authority(ex.engine, ex.vault, "MX", "COFEPRIS")
    headers = {"Authorization": f"Bearer {cn.api_key}"}
    with TestClient(app) as client:
        sent = client.post("/v1/notifications", json=notification(transit_authorities=[]),
                           headers=headers)
        assert sent.status_code == 201
        path = f"/v1/notifications/{sent.json()['id']}"
        got = [client.get(p, headers=headers) for p in
               (path, f"/v1/notifications/{NO_RECORD}", f"/v1/incidents/{NO_RECORD}", path,
                path)]
    assert [g.status_code for g in got] == [200, 404, 404, 200, 429]
    assert got[0].content == got[3].content
    assert got[0].json() == {**sent.json(), "status": "sent"}
    assert got[1].json()["error"]["message"] == f"no notification {NO_RECORD} for this authority"


def test_writes_with_a_known_key_count_against_its_rate_even_when_refused(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    """A write counts along with its first statements, in a statement of its own: a write
    refused after that (an unknown importing authority) still counts, stores nothing and
    leaves the chain as it was; the write over the rate stores nothing either."""
    app = create_app(dataclasses.replace(settings, rate_limit=4), engine=engine, clock=clock)
    ex = app.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    add_authority(ex.engine, ex.vault, "MX", "COFEPRIS")
    add_authority(ex.engine, ex.vault, "US", "DEA")
    headers = {"Authorization": f"Bearer {cn.api_key}"}
    with TestClient(app) as client:
        got = [client.post("/v1/notifications", json=notification(), headers=headers),
               client.post("/v1/notifications", json=notification(importing_authority="CA"),
                           headers=headers),
               client.post("/v1/incidents", json=incident(), headers=headers),
               client.post("/v1/incidents", json=incident(), headers=headers),
               client.post("/v1/notifications", json=notification(), headers=headers)]
        assert [g.status_code for g in got] == [201, 422, 201, 201, 429], [g.text for g in got]
        assert "importing_authority: 'CA' is not a registered authority" in got[1].text
        report = client.get("/v1/audit/verify", headers=headers)
    assert report.status_code == 429  # the rate holds for reads too
    [chain] = [r for r in verify_audit(ex.engine) if r.authority == "CN"]
    assert chain.ok and chain.entries == 3
    assert [got[i].headers["Audit-Receipt"].split(":")[0] for i in (0, 2, 3)] == ["1", "2", "3"]
    assert str(chain.head) == got[3].headers["Audit-Receipt"]


def test_a_read_checks_the_key_before_the_record_id_and_names_a_bad_id(
        client: TestClient, authorities: Any) -> None:
    """The single reads check their key and id in the endpoint: a bad key is 401 whatever
    the path, and a malformed id is 422 naming the path parameter, as for every other route,
    whether the key was just looked up or is known already."""
    mx = authorities.headers("MX")
    for path, name in (("/v1/notifications/", "notification_id"),
                       ("/v1/incidents/", "incident_id")):
        assert client.get(path + "abc").status_code == 401
        assert client.get(path + "abc", headers={
            "Authorization": "Bearer nope"}).json()["error"]["message"] == "unknown API key"
        for bad in ("abc", "2F1C6A55-8D0E-4C8E-9D1A-6A0B9E1F2A3B",
                    "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b%0A"):
            refused = client.get(path + bad, headers=mx)
            assert refused.status_code == 422, bad
            assert refused.json()["error"]["code"] == "invalid_request"
            assert refused.json()["error"]["message"].startswith(
                f"path.{name}: String should match pattern '^[0-9a-f]{{8}}-")
        assert client.get(path + "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b",
                          headers=mx).status_code == 404


def test_pages_read_with_their_count_keep_their_order(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    """A page read in the statement that counts the request (PostgreSQL) comes in the page's
    own order, newest first or soonest deadline first, as one read without the count."""
    app = create_app(settings, engine=engine, clock=clock)
    ex = app.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    mx = add_authority(ex.engine, ex.vault, "MX", "COFEPRIS")
    with TestClient(app) as client:
        for quantity in range(1, 8):
            clock.advance(hours=quantity % 3)
            sent = client.post("/v1/notifications", headers={
                "Authorization": f"Bearer {cn.api_key}"},
                json=notification(transit_authorities=[], quantity=quantity))
            assert sent.status_code == 201
        client.post("/v1/incidents", json=incident(shared_with="all"),
                    headers={"Authorization": f"Bearer {mx.api_key}"})
    caller = Caller(2, "MX", "COFEPRIS")
    count = Count(app.state.rate_limits, hash_api_key(mx.api_key))
    for by_deadline in (False, True):
        for offset in (0, 3, 6):
            pages = [notifications.list_notifications(ex, caller, limit=3, offset=offset,
                                                      by_deadline=by_deadline, count=c)
                     for c in (None, count)]
            assert pages[0] == pages[1] and len(pages[0]) == min(3, 7 - offset)
    times = [json.loads(n)["created_at"] for n in notifications.list_notifications(
        ex, caller, limit=7, count=count)]
    assert times == sorted(times, reverse=True) and len(set(times)) == 5  # two ties, by id
    assert incidents.list_incidents(ex, caller, count=count) == incidents.list_incidents(
        ex, caller)
    assert notifications.list_notifications(ex, caller, offset=7, count=count) == []
