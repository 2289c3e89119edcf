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
