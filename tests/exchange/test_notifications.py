"""Pre-export notifications: checked on receipt, signed, answered, expired, corrected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from exchange_helpers import START, Clock, incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from precursorwatch.chem.opsin import OpsinProcess
from precursorwatch.exchange.admin import add_authority
from precursorwatch.exchange.audit import authority_codes, record_document
from precursorwatch.exchange.models import Notification
from precursorwatch.exchange.schemas import NotificationOut, NotificationPage
from precursorwatch.exchange.signing import verify_signature


def send(client: TestClient, authorities: Any, code: str = "CN", **changes: Any
         ) -> dict[str, Any]:
    response = client.post("/v1/notifications", json=notification(**changes),
                           headers=authorities.headers(code))
    assert response.status_code == 201, response.text
    NotificationOut.model_validate(response.json())  # the documented shape
    return response.json()


def test_send_checks_the_substance_and_stores_the_verdict(client: TestClient,
                                                         authorities: Any) -> None:
    sent = send(client, authorities)
    assert sent["status"] == "sent"
    assert sent["exporting_authority"] == "CN" and sent["importing_authority"] == "MX"
    assert sent["transit_authorities"] == ["US"]
    verdict = sent["verdict"]
    assert verdict["input"] == "4-piperidone hydrochloride monohydrate"
    assert verdict["verdict"] == "controlled"
    assert verdict["smiles"] and verdict["matches"]
    # The stored copy reads back the same verdict and evidence.
    again = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers("MX"))
    assert again.json()["verdict"] == verdict


@pytest.mark.parametrize(("substance", "reason"), [
    ("zzq-unknown-reagent-77", ""),
    ("110-89-5", "check digit"),  # piperidine's CAS number with a wrong last digit
])
def test_unidentifiable_substance_is_refused_with_the_reason(
        client: TestClient, authorities: Any, app: FastAPI, substance: str, reason: str) -> None:
    got = client.post("/v1/notifications", json=notification(substance=substance),
                      headers=authorities.headers("CN"))
    assert got.status_code == 422
    error = got.json()["error"]
    assert error["code"] == "unidentified_substance"
    assert f"substance: {substance!r} could not be identified" in error["message"]
    assert reason in error["message"]
    with app.state.exchange.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_incident_keeps_an_unidentified_substance_as_unresolved(
        client: TestClient, authorities: Any) -> None:
    got = client.post("/v1/incidents", json=incident(substance="white powder, unlabelled"),
                      headers=authorities.headers("US"))
    assert got.status_code == 201
    assert got.json()["verdict"]["verdict"] == "unresolved" and got.json()["verdict"]["reason"]


def test_signature_verifies_with_the_published_public_key(
        client: TestClient, authorities: Any, app: FastAPI) -> None:
    sent = send(client, authorities)
    keys = {a["code"]: a["public_key"]
            for a in client.get("/v1/authorities", headers=authorities.headers("US")).json()}
    assert set(keys) == {"CA", "CN", "MX", "US"}
    with app.state.exchange.sessions() as session:
        found = record_document(session, "notification", sent["id"], authority_codes(session))
    assert found is not None
    document, signature = found
    assert signature == sent["signature"]
    assert verify_signature(keys["CN"], signature, document)
    assert not verify_signature(keys["MX"], signature, document)


def test_deadline_is_set_by_the_importing_authority(client: TestClient,
                                                    authorities: Any) -> None:
    to_mx = send(client, authorities)
    to_ca = send(client, authorities, importing_authority="CA", transit_authorities=[])
    assert to_mx["reply_deadline"].startswith("2026-11-30T09:00")  # MX: 7 days
    assert to_ca["reply_deadline"].startswith("2026-12-23T09:00")  # CA: 30 days


def test_importing_authority_objects_once(client: TestClient, authorities: Any) -> None:
    sent = send(client, authorities)
    url = f"/v1/notifications/{sent['id']}/response"
    answer = client.post(url, json={"decision": "objection", "reason": "no import licence"},
                         headers=authorities.headers("MX"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    NotificationOut.model_validate(body)
    assert body["status"] == "objection"
    assert body["response"]["by"] == "MX" and body["response"]["reason"] == "no import licence"
    again = client.post(url, json={"decision": "no_objection"}, headers=authorities.headers("MX"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "notification_objection"
    for code in ("CN", "US", "MX"):
        seen = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers(code))
        assert seen.json()["status"] == "objection"


def test_objection_without_reason_is_refused(client: TestClient, authorities: Any) -> None:
    sent = send(client, authorities)
    answer = client.post(f"/v1/notifications/{sent['id']}/response",
                         json={"decision": "objection"}, headers=authorities.headers("MX"))
    assert answer.status_code == 422
    assert "objection needs a reason" in answer.json()["error"]["message"]


def test_transit_and_exporting_authorities_cannot_answer(client: TestClient,
                                                         authorities: Any) -> None:
    sent = send(client, authorities)
    url = f"/v1/notifications/{sent['id']}/response"
    for code in ("US", "CN"):
        answer = client.post(url, json={"decision": "no_objection"},
                             headers=authorities.headers(code))
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "not_importing_authority"
    assert client.get(f"/v1/notifications/{sent['id']}",
                      headers=authorities.headers("US")).json()["status"] == "sent"


def test_unanswered_notification_expires_at_its_deadline(
        client: TestClient, authorities: Any, clock: Clock) -> None:
    sent = send(client, authorities)
    url = f"/v1/notifications/{sent['id']}"
    clock.advance(days=7, seconds=-1)
    assert client.get(url, headers=authorities.headers("MX")).json()["status"] == "sent"
    clock.advance(seconds=1)
    assert client.get(url, headers=authorities.headers("MX")).json()["status"] == "expired"
    listed = client.get("/v1/notifications?status=expired", headers=authorities.headers("CN"))
    assert [n["id"] for n in listed.json()["items"]] == [sent["id"]]
    late = client.post(f"{url}/response", json={"decision": "no_objection"},
                       headers=authorities.headers("MX"))
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "notification_expired"


def test_answer_before_deadline_never_expires(client: TestClient, authorities: Any,
                                              clock: Clock) -> None:
    sent = send(client, authorities)
    client.post(f"/v1/notifications/{sent['id']}/response", json={"decision": "no_objection"},
                headers=authorities.headers("MX"))
    clock.advance(days=60)
    got = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers("CN"))
    assert got.json()["status"] == "no_objection"


def test_correction_is_a_new_version_and_the_old_one_stays(
        client: TestClient, authorities: Any, clock: Clock) -> None:
    first = send(client, authorities)
    clock.advance(days=2)
    corrected = client.post(f"/v1/notifications/{first['id']}/corrections",
                            json=notification(quantity=20), headers=authorities.headers("CN"))
    assert corrected.status_code == 201, corrected.text
    second = corrected.json()
    assert second["id"] != first["id"]
    assert second["thread_id"] == first["id"] and second["version"] == 2
    assert second["supersedes"] == first["id"] and second["quantity"] == 20
    assert second["reply_deadline"] > first["reply_deadline"]
    old = client.get(f"/v1/notifications/{first['id']}", headers=authorities.headers("MX")).json()
    assert old["status"] == "superseded" and old["superseded_by"] == second["id"]
    assert old["quantity"] == 25 and old["signature"] == first["signature"]
    stale = client.post(f"/v1/notifications/{first['id']}/response",
                        json={"decision": "no_objection"}, headers=authorities.headers("MX"))
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "notification_superseded"
    twice = client.post(f"/v1/notifications/{first['id']}/corrections",
                        json=notification(quantity=10), headers=authorities.headers("CN"))
    assert twice.status_code == 409


def test_the_versions_of_one_shipment_are_listed_by_thread(
        client: TestClient, authorities: Any, clock: Clock) -> None:
    first = send(client, authorities)
    other = send(client, authorities, quantity=3)
    clock.advance(hours=1)
    second = client.post(f"/v1/notifications/{first['id']}/corrections",
                         json=notification(quantity=20, transit_authorities=[]),
                         headers=authorities.headers("CN")).json()

    def thread(code: str, thread_id: str) -> list[tuple[int, str]]:
        got = client.get("/v1/notifications", params={"thread_id": thread_id},
                         headers=authorities.headers(code))
        assert got.status_code == 200, got.text
        return [(n["version"], n["status"]) for n in got.json()["items"]]

    assert thread("MX", first["id"]) == [(2, "sent"), (1, "superseded")]
    assert thread("CN", other["id"]) == [(1, "sent")]
    # US was in transit on the first version only: it sees that one, no more.
    assert thread("US", first["id"]) == [(1, "superseded")]
    assert second["transit_authorities"] == []
    assert thread("CA", first["id"]) == []  # outsiders: an empty list, nothing disclosed
    bad = client.get("/v1/notifications", params={"thread_id": "nope"},
                     headers=authorities.headers("MX"))
    assert bad.status_code == 422 and "thread_id" in bad.json()["error"]["message"]


def test_only_the_exporter_corrects_and_not_after_an_answer(client: TestClient,
                                                            authorities: Any) -> None:
    sent = send(client, authorities)
    url = f"/v1/notifications/{sent['id']}/corrections"
    for code in ("MX", "US"):
        assert client.post(url, json=notification(),
                           headers=authorities.headers(code)).status_code == 403
    client.post(f"/v1/notifications/{sent['id']}/response", json={"decision": "no_objection"},
                headers=authorities.headers("MX"))
    late = client.post(url, json=notification(), headers=authorities.headers("CN"))
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "notification_no_objection"


def test_list_by_direction_and_status(client: TestClient, authorities: Any,
                                      clock: Clock) -> None:
    to_mx = send(client, authorities)
    clock.advance(minutes=1)  # distinct times, so "newest first" has one answer
    from_mx = send(client, authorities, "MX", importing_authority="CN", transit_authorities=[])
    client.post(f"/v1/notifications/{from_mx['id']}/response",
                json={"decision": "no_objection"}, headers=authorities.headers("CN"))

    def ids(code: str, query: str) -> list[str]:
        got = client.get(f"/v1/notifications{query}", headers=authorities.headers(code))
        assert got.status_code == 200, got.text
        NotificationPage.model_validate(got.json())
        return [n["id"] for n in got.json()["items"]]

    assert ids("CN", "?direction=outgoing") == [to_mx["id"]]
    assert ids("CN", "?direction=incoming") == [from_mx["id"]]
    assert set(ids("CN", "")) == {to_mx["id"], from_mx["id"]}
    assert ids("US", "?direction=transit") == [to_mx["id"]]
    assert ids("US", "?direction=incoming") == []
    assert ids("CN", "?status=no_objection") == [from_mx["id"]]
    assert ids("CN", "?status=sent") == [to_mx["id"]]
    assert ids("CN", "?limit=1&offset=1") == [to_mx["id"]]  # newest first
    assert ids("CN", "?limit=1") == [from_mx["id"]]
    assert START.isoformat()[:10] in client.get(
        "/v1/notifications", headers=authorities.headers("CN")).json()["items"][0]["created_at"]


def test_unknown_or_own_importing_authority_is_refused(client: TestClient,
                                                       authorities: Any) -> None:
    for changes, words in [({"importing_authority": "ZZ"}, "'ZZ' is not a registered"),
                           ({"importing_authority": "CN"}, "cannot notify itself"),
                           ({"transit_authorities": ["QQ"]}, "transit_authorities[0]"),
                           ({"transit_authorities": ["MX"]}, "also be a transit")]:
        got = client.post("/v1/notifications", json=notification(**changes),
                          headers=authorities.headers("CN"))
        assert got.status_code == 422, changes
        assert words in got.json()["error"]["message"]
    listed = client.get("/v1/notifications", headers=authorities.headers("CN")).json()
    assert listed["items"] == []


def test_authority_added_while_serving_can_be_notified(client: TestClient, authorities: Any,
                                                       app: FastAPI) -> None:
    send(client, authorities)  # the service has now seen the first four authorities
    ex = app.state.exchange
    nl = add_authority(ex.engine, ex.vault, "NL", "Douane Nederland", reply_days=5)
    sent = send(client, authorities, importing_authority="NL", transit_authorities=["US"])
    assert sent["importing_authority"] == "NL"
    got = client.get(f"/v1/notifications/{sent['id']}",
                     headers={"Authorization": f"Bearer {nl.api_key}"})
    assert got.status_code == 200 and got.json()["importing_authority"] == "NL"
    assert got.json()["reply_deadline"].startswith("2026-11-28T09:00")  # NL: 5 days


def test_systematic_names_are_parsed_by_one_opsin_kept_running(
        client: TestClient, authorities: Any, app: FastAPI) -> None:
    """Notifications arrive one at a time: a JVM started per name would cost each about half a
    second, so the service keeps one OPSIN running."""
    parser = app.state.exchange.checker.resolver.name_parser
    assert isinstance(parser, OpsinProcess)
    pids = []
    for name in ("3-ethylhexan-2-ol", "2-cyclopentylhexan-3-ol"):
        sent = send(client, authorities, substance=name)
        assert sent["verdict"]["resolved_by"] == "iupac" and sent["verdict"]["verdict"] == "clear"
        pids.append(parser.pid)
    assert pids[0] is not None and pids[0] == pids[1]


def test_notified_parties_are_screened_against_the_watchlists(
        client: TestClient, authorities: Any, app: FastAPI) -> None:
    """The exporter here is an OFAC SDNTK company (in the bundled excerpt): the importing
    authority sees the hit, with its evidence, on the notification itself."""
    listed = {"name": "Boyle Chemicals (Shanghai) Co Ltd",
              "address": "Building 12, No. 3802 Shengang Road, Songjiang, Shanghai",
              "country": "CN"}
    flagged = send(client, authorities, exporter=listed)
    hits = flagged["party_hits"]
    assert [(h["role"], h["list"], h["entry_id"]) for h in hits] == [
        ("exporter", "OFAC SDN", "16907")]
    assert hits[0]["programme"] == "SDNTK" and hits[0]["score"] >= 0.8
    assert "country agrees (CN)" in hits[0]["detail"]
    assert "city agrees (Shanghai)" in hits[0]["detail"]
    read = client.get(f"/v1/notifications/{flagged['id']}", headers=authorities.headers("MX"))
    assert read.json()["party_hits"] == hits
    assert send(client, authorities)["party_hits"] == []  # ordinary parties: no hits
    with app.state.exchange.sessions() as session:
        stored = session.scalars(select(Notification.party_hits)
                                 .where(Notification.id == flagged["id"])).one()
    assert stored == hits


def test_incident_parties_are_screened_too(client: TestClient, authorities: Any) -> None:
    got = client.post("/v1/incidents", json=incident(parties=[
        {"role": "shipper", "name": "Shanghai Boyle Chem Co Ltd", "address": "Shanghai",
         "country": "CN"},
        {"role": "consignee", "name": "Ejemplo Importaciones", "address": "Calle 5, Culiacan",
         "country": "MX"}]), headers=authorities.headers("US"))
    assert got.status_code == 201, got.text
    hits = got.json()["party_hits"]
    assert [(h["role"], h["entry_id"]) for h in hits] == [("shipper", "16907")]
    listed = client.get("/v1/incidents", headers=authorities.headers("US")).json()["items"]
    assert listed[0]["party_hits"] == hits


@pytest.mark.parties_unscreened
def test_parties_are_not_screened_when_the_service_is_told_not_to(
        client: TestClient, authorities: Any, app: FastAPI) -> None:
    sent = send(client, authorities, exporter={
        "name": "Boyle Chemicals (Shanghai) Co Ltd", "address": "Shanghai", "country": "CN"})
    assert sent["party_hits"] == []
    with app.state.exchange.sessions() as session:
        assert session.scalars(select(Notification.party_hits)).one() is None


def test_signed_writes_wait_for_the_database_twice(client: TestClient, authorities: Any,
                                                   database: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a send, a correction and an answer each wait for the database twice (the
    locks and reads, then the inserts and updates with the COMMIT), whatever they also set in
    the version they follow."""
    if database.kind != "postgresql":
        pytest.skip("statements are sent together on PostgreSQL only")
    from precursorwatch.exchange import db

    waits: list[str] = []
    synced = db.PipelineBatch.sync

    def sync(batch: db.PipelineBatch) -> None:
        waits.append("sync")
        synced(batch)

    monkeypatch.setattr(db.PipelineBatch, "sync", sync)
    cn, mx = authorities.headers("CN"), authorities.headers("MX")
    first = client.post("/v1/notifications", json=notification(), headers=cn)
    corrected = client.post(f"/v1/notifications/{first.json()['id']}/corrections",
                            json=notification(quantity=3), headers=cn)
    answered = client.post(f"/v1/notifications/{corrected.json()['id']}/response",
                           json={"decision": "no_objection", "reason": None}, headers=mx)
    assert [first.status_code, corrected.status_code, answered.status_code] == [201, 201, 200]
    assert len(waits) == 6
    old = client.get(f"/v1/notifications/{first.json()['id']}", headers=mx).json()
    new = client.get(f"/v1/notifications/{corrected.json()['id']}", headers=mx).json()
    assert (old["status"], old["superseded_by"]) == ("superseded", corrected.json()["id"])
    assert new == answered.json()


def test_pages_serve_what_happened_since_their_records_were_kept(
        client: TestClient, authorities: Any, clock: Clock, app: FastAPI) -> None:
    """A page keeps the served copies of the records it reads (`ServedCopies`) and reads
    their status, correction and answer every time: a page read after an answer, a
    correction, an expiry or an incident shows each, byte for byte as the single reads
    serve the same records."""
    def page(path: str) -> list[dict[str, Any]]:
        response = client.get(path, headers=authorities.headers("MX"))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        for item in items:  # as the record's own read serves it
            single = client.get(f"{path.split('?')[0]}/{item['id']}",
                                headers=authorities.headers("MX"))
            assert single.json() == item
        return items

    answered, corrected, waiting = (send(client, authorities) for _ in range(3))
    first = page("/v1/notifications?limit=10")
    assert [n["status"] for n in first] == ["sent"] * 3
    assert len(app.state.exchange.served_copies(Notification)._copies) >= 3  # kept
    client.post(f"/v1/notifications/{answered['id']}/response",
                json={"decision": "objection", "reason": "no import licence"},
                headers=authorities.headers("MX"))
    newer = client.post(f"/v1/notifications/{corrected['id']}/corrections",
                        json=notification(quantity=7), headers=authorities.headers("CN"))
    assert newer.status_code == 201, newer.text
    later = {n["id"]: n for n in page("/v1/notifications?limit=10")}
    assert later[answered["id"]]["status"] == "objection"
    assert later[answered["id"]]["response"]["reason"] == "no import licence"
    assert later[corrected["id"]]["status"] == "superseded"
    assert later[corrected["id"]]["superseded_by"] == newer.json()["id"]
    assert later[waiting["id"]]["status"] == "sent"
    clock.advance(days=30)
    expired = {n["id"]: n for n in page("/v1/notifications?limit=10")}
    assert expired[waiting["id"]]["status"] == "expired"
    assert expired[answered["id"]]["status"] == "objection"

    reported = [client.post("/v1/incidents", json=incident(shared_with=["MX"]),
                            headers=authorities.headers("CN")).json() for _ in range(2)]
    assert {i["id"] for i in page("/v1/incidents?limit=2")} == {r["id"] for r in reported}


def test_served_copies_stay_within_their_bound(client: TestClient, authorities: Any,
                                               app: FastAPI) -> None:
    from precursorwatch.exchange.service import ServedCopies

    ex = app.state.exchange
    sent = [send(client, authorities)["id"] for _ in range(5)]
    copies = ServedCopies(Notification, limit=2)
    served = copies.of(ex, sent)
    assert len(copies._copies) == 2 and len(served) == 5
    again = copies.of(ex, list(reversed(sent)))
    assert again == list(reversed(served))  # those let go are read again
    for record_id, text in zip(sent, served, strict=True):
        assert json.loads(text)["id"] == record_id
