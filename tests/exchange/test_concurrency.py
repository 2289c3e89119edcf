"""Concurrent writes to one notification thread, through a real server: the state of a
notification changes once, whoever asks at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from conftest import LiveServer
from exchange_helpers import notification

ROUNDS = 12


def _race(base: str, requests: list[tuple[str, dict[str, Any], dict[str, str]]]
          ) -> list[httpx.Response]:
    """Fire the requests at once, one thread each, each on its own connection."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def fire(i: int) -> None:
        path, body, headers = requests[i]
        with httpx.Client(base_url=base, timeout=30) as http:
            http.get("/healthz")  # connect before the start line
            barrier.wait()
            answers[i] = http.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_an_answer_and_a_correction_at_once_change_the_notification_once(
        live_server: LiveServer, authorities: Any) -> None:
    cn, mx = authorities.headers("CN"), authorities.headers("MX")
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for round_ in range(ROUNDS):
            sent = http.post("/v1/notifications", json=notification(), headers=cn)
            assert sent.status_code == 201, sent.text
            nid = sent.json()["id"]
            corrected, answered = _race(live_server.url, [
                (f"/v1/notifications/{nid}/corrections", notification(quantity=30), cn),
                (f"/v1/notifications/{nid}/response", {"decision": "no_objection"}, mx)])
            codes = sorted([corrected.status_code, answered.status_code])
            assert codes in ([200, 409], [201, 409]), (round_, corrected.text, answered.text)
            loser = corrected if corrected.status_code == 409 else answered
            error = loser.json()["error"]
            assert error["code"].startswith("notification_"), error
            assert nid in error["message"], error
            old = http.get(f"/v1/notifications/{nid}", headers=mx).json()
            if answered.status_code == 200:
                assert old["status"] == "no_objection" and old["superseded_by"] is None
            else:
                assert old["status"] == "superseded"
                assert old["superseded_by"] == corrected.json()["id"]
                assert old["response"] is None
        for code in ("CN", "MX"):
            report = http.get("/v1/audit/verify", headers=authorities.headers(code)).json()
            assert report["ok"], report


def test_two_corrections_at_once_make_one_new_version(live_server: LiveServer,
                                                     authorities: Any) -> None:
    cn = authorities.headers("CN")
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for _ in range(4):
            nid = http.post("/v1/notifications", json=notification(), headers=cn).json()["id"]
            first, second = _race(live_server.url, [
                (f"/v1/notifications/{nid}/corrections", notification(quantity=q), cn)
                for q in (30, 31)])
            assert sorted([first.status_code, second.status_code]) == [201, 409]
            loser = first if first.status_code == 409 else second
            assert loser.json()["error"]["code"] == "notification_superseded", loser.text


def test_writes_at_once_on_the_event_loop_keep_one_chain_and_one_answer(
        live_server: LiveServer, authorities: Any, app: Any) -> None:
    """On PostgreSQL a write whose key is known and whose substance was checked already runs
    on the event loop (`Exchange.on_loop`): eight sends at once by one authority all land in
    its one audit chain, and six answers at once to one notification give one answer."""
    if app.state.exchange.loop_connections is None:
        return  # SQLite: every write runs in the thread pool (covered above)
    cn, mx = authorities.headers("CN"), authorities.headers("MX")
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for key in (cn, mx):  # known keys from here on
            assert http.get("/v1/authorities", headers=key).status_code == 200
        first = http.post("/v1/notifications", json=notification(), headers=cn)
        assert first.status_code == 201
        assert app.state.exchange.verdict_kept(notification()["substance"])
        sends = _race(live_server.url, [("/v1/notifications", notification(quantity=q), cn)
                                        for q in range(1, 9)])
        assert [s.status_code for s in sends] == [201] * 8, [s.text for s in sends]
        receipts = sorted(int(s.headers["Audit-Receipt"].split(":")[0]) for s in sends)
        assert receipts == list(range(receipts[0], receipts[0] + 8))  # one chain, no fork
        nid = sends[0].json()["id"]
        answers = _race(live_server.url, [
            (f"/v1/notifications/{nid}/response", {"decision": decision, "reason": "licence"},
             mx)
            for decision in ("no_objection", "objection") * 3])
        assert sorted(a.status_code for a in answers) == [200] + [409] * 5
        winner = next(a for a in answers if a.status_code == 200).json()["status"]
        assert http.get(f"/v1/notifications/{nid}", headers=mx).json()["status"] == winner
        for key in (cn, mx):
            report = http.get("/v1/audit/verify", headers=key).json()
            assert report["ok"], report
    assert app.state.exchange.loop_connections._idle, "the writes ran on connections of the loop"
