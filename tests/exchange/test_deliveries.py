"""Deliveries: webhooks and e-mail telling each authority of its records, once, signed,
retried, on both databases; against a real HTTP server and a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Authorities
from exchange_helpers import Clock, incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from precursorwatch.cli import app as cli
from precursorwatch.exchange import deliveries
from precursorwatch.exchange.dispatch import Dispatcher, Subscribed, log_of, subscribe
from precursorwatch.exchange.errors import AdminError
from precursorwatch.exchange.models import Delivery
from precursorwatch.exchange.settings import SmtpSettings


# -- a webhook receiver: a real HTTP server on loopback ---------------------------------------
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hooks:
    """Records every POST; `answers[path]` is the statuses it gives in turn (then 200)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    state = Hooks("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers), body))
                script = state.answers.get(self.path) or []
                status = script.pop(0) if script else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# -- an SMTP server on loopback ----------------------------------------------------------------
@dataclass
class Mailbox:
    settings: SmtpSettings
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(SmtpSettings(host="127.0.0.1", port=0, sender="pwatch@exchange.test",
                               starttls=False))

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    box.settings = SmtpSettings(host="127.0.0.1", port=port, sender="pwatch@exchange.test",
                                starttls=False)
    try:
        yield box
    finally:
        controller.stop()


def _dispatcher(app: FastAPI, **options: Any) -> Dispatcher:
    options.setdefault("draw", lambda: 0.0)
    return Dispatcher(app.state.exchange, public_url="https://pwatch.example", **options)


def _webhook(app: FastAPI, hooks: Hooks, code: str, *events: str) -> Subscribed:
    ex = app.state.exchange
    return subscribe(ex.engine, ex.vault, code, "webhook", f"{hooks.url}/{code}", events,
                     now=ex.now())


def _send(client: TestClient, authorities: Authorities, **changes: Any) -> dict[str, Any]:
    sent = client.post("/v1/notifications", json=notification(**changes),
                       headers=authorities.headers("CN"))
    assert sent.status_code == 201, sent.text
    body: dict[str, Any] = sent.json()
    return body


def _verified(hook: Received, secret: str | None) -> Any:
    assert secret is not None
    header = hook.headers["X-PWatch-Signature"]
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert deliveries.verify_signature(secret, header, hook.body, now=stamp)
    assert not deliveries.verify_signature(secret, header, hook.body + b" ", now=stamp)
    assert not deliveries.verify_signature("another secret", header, hook.body, now=stamp)
    assert not deliveries.verify_signature(secret, header, hook.body, now=stamp + 301)
    return hook.json


# -- who is told what --------------------------------------------------------------------------
def test_each_party_is_told_once_and_outsiders_nothing(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks) -> None:
    subs = {code: _webhook(app, hooks, code) for code in ("CN", "MX", "US", "CA")}
    sent = _send(client, authorities)
    dispatcher = _dispatcher(app)
    report = dispatcher.run_once()
    assert (report.found, report.delivered) == (2, 2)

    [to_mx] = hooks.at("/MX")
    payload = _verified(to_mx, subs["MX"].secret)
    assert payload["event"] == "notification.received"
    assert payload["record_id"] == sent["id"] and payload["authority"] == "MX"
    assert payload["link"] == f"https://pwatch.example/notifications/{sent['id']}"
    as_read = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers("MX"))
    assert payload["record"] == as_read.json()
    assert to_mx.headers["X-PWatch-Event"] == "notification.received"
    [to_us] = hooks.at("/US")
    assert _verified(to_us, subs["US"].secret)["record_id"] == sent["id"]
    assert hooks.at("/CN") == [] and hooks.at("/CA") == []

    answered = client.post(f"/v1/notifications/{sent['id']}/response",
                           json={"decision": "objection", "reason": "no import licence"},
                           headers=authorities.headers("MX"))
    assert answered.status_code == 200, answered.text
    shared = client.post("/v1/incidents", json=incident(shared_with=["US"]),
                         headers=authorities.headers("MX"))
    assert shared.status_code == 201, shared.text
    report = dispatcher.run_once()
    assert (report.found, report.delivered) == (2, 2)
    [to_cn] = hooks.at("/CN")
    answer = _verified(to_cn, subs["CN"].secret)
    assert answer["event"] == "notification.answered"
    assert answer["record"]["status"] == "objection"
    assert answer["record"]["response"]["reason"] == "no import licence"
    told_us = [r.json for r in hooks.at("/US")]
    assert [p["event"] for p in told_us] == ["notification.received", "incident.shared"]
    assert told_us[1]["record"]["id"] == shared.json()["id"]
    assert told_us[1]["link"].endswith(f"/incidents/{shared.json()['id']}")
    # CA is party to nothing; the reporter is not told of its own incident.
    assert hooks.at("/CA") == [] and len(hooks.at("/MX")) == 1

    again = dispatcher.run_once()
    assert (again.found, again.delivered) == (0, 0)
    assert len(hooks.received) == 4


def test_an_incident_shared_with_all_reaches_every_subscriber_but_its_reporter(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks) -> None:
    for code in ("CN", "MX", "CA"):
        _webhook(app, hooks, code, "incident.shared")
    shared = client.post("/v1/incidents", json=incident(shared_with="all"),
                         headers=authorities.headers("MX"))
    assert shared.status_code == 201, shared.text
    _send(client, authorities)  # a notification: not asked for by these subscriptions
    assert _dispatcher(app).run_once().delivered == 2
    assert [r.json["event"] for r in hooks.at("/CN")] == ["incident.shared"]
    assert len(hooks.at("/CA")) == 1 and hooks.at("/MX") == []


def test_only_events_after_subscribing(app: FastAPI, client: TestClient,
                                       authorities: Authorities, hooks: Hooks,
                                       clock: Clock) -> None:
    _send(client, authorities)
    clock.advance(minutes=1)
    _webhook(app, hooks, "MX")
    clock.advance(minutes=1)
    later = _send(client, authorities)
    _dispatcher(app).run_once()
    assert [r.json["record_id"] for r in hooks.at("/MX")] == [later["id"]]


def test_a_record_committed_late_with_an_earlier_time_is_still_told(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks,
        clock: Clock) -> None:
    _webhook(app, hooks, "MX")
    clock.advance(hours=1)
    first = _send(client, authorities)
    dispatcher = _dispatcher(app)
    dispatcher.run_once()
    clock.advance(minutes=-30)  # a writer whose clock read came before the last scan
    late = _send(client, authorities)
    clock.advance(hours=1)
    dispatcher.run_once()
    assert [r.json["record_id"] for r in hooks.at("/MX")] == [first["id"], late["id"]]


def test_a_record_committed_later_than_the_settle_window_is_found_by_the_sweep(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks,
        clock: Clock) -> None:
    from precursorwatch.exchange.dispatch import SETTLE, SWEEP

    _webhook(app, hooks, "MX")
    clock.advance(hours=3)
    dispatcher = _dispatcher(app)
    dispatcher.run_once()  # the first pass sweeps the subscription's whole history
    clock.advance(seconds=-(SETTLE.total_seconds() + 60))
    stale = _send(client, authorities)  # stamped before the window the next pass reads
    clock.advance(seconds=SETTLE.total_seconds() + 120)
    dispatcher.run_once()
    assert hooks.at("/MX") == []
    clock.advance(seconds=SWEEP.total_seconds())
    dispatcher.run_once()
    assert [r.json["record_id"] for r in hooks.at("/MX")] == [stale["id"]]


# -- retries -----------------------------------------------------------------------------------
def _only_delivery(app: FastAPI) -> Delivery:
    with app.state.exchange.sessions() as session:
        [found] = session.scalars(select(Delivery)).all()
        return found


def test_a_failing_endpoint_is_retried_with_back_off(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks,
        clock: Clock) -> None:
    _webhook(app, hooks, "MX", "notification.received")
    hooks.answers["/MX"] = [500, 500]
    _send(client, authorities)
    dispatcher = _dispatcher(app)
    policy = dispatcher.policy

    assert dispatcher.run_once().retrying == 1
    first = _only_delivery(app)
    assert first.state == "pending" and first.attempts == 1
    assert first.next_attempt_at == clock() + policy.delay(1, 0.0)
    assert dispatcher.run_once().retrying == 0  # not due yet: nothing sent
    assert len(hooks.at("/MX")) == 1

    clock.advance(seconds=policy.longest(1).total_seconds())
    assert dispatcher.run_once().retrying == 1
    second = _only_delivery(app)
    assert second.next_attempt_at - clock() == policy.delay(2, 0.0) > policy.delay(1, 0.0)
    clock.advance(seconds=policy.longest(2).total_seconds())
    assert dispatcher.run_once().delivered == 1

    done = _only_delivery(app)
    assert done.state == "delivered" and done.attempts == 3
    log = log_of(app.state.exchange.engine, done.id)
    assert [(n, code) for n, code, _ in log] == [(1, 500), (2, 500), (3, 200)]
    assert log[0][2] is not None and log[0][2].startswith("HTTP 500")
    # The same event each time, each signed anew.
    bodies = {json.loads(r.body)["delivery_id"] for r in hooks.at("/MX")}
    assert bodies == {done.id} and len(hooks.at("/MX")) == 3


def test_given_up_after_the_limit(app: FastAPI, client: TestClient,
                                  authorities: Authorities, hooks: Hooks, clock: Clock
                                  ) -> None:
    _webhook(app, hooks, "MX", "notification.received")
    hooks.answers["/MX"] = [503] * 10
    _send(client, authorities)
    dispatcher = _dispatcher(app, policy=deliveries.RetryPolicy(attempts=3))
    for failures in (1, 2, 3):
        dispatcher.run_once()
        clock.advance(seconds=dispatcher.policy.longest(failures).total_seconds())
    gone = _only_delivery(app)
    assert (gone.state, gone.attempts) == ("failed", 3) and gone.done_at is not None
    clock.advance(days=1)
    dispatcher.run_once()
    assert len(hooks.at("/MX")) == 3


def test_an_unreachable_endpoint_is_logged_with_its_error(
        app: FastAPI, client: TestClient, authorities: Authorities, clock: Clock) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ex = app.state.exchange
    subscribe(ex.engine, ex.vault, "MX", "webhook", f"http://127.0.0.1:{port}/hook",
              now=ex.now())
    _send(client, authorities)
    assert _dispatcher(app).run_once().retrying == 1
    [(number, code, error)] = log_of(ex.engine, _only_delivery(app).id)
    assert number == 1 and code is None and error is not None and "Connect" in error


# -- e-mail ------------------------------------------------------------------------------------
def test_email_arrives_with_subject_and_link(app: FastAPI, client: TestClient,
                                             authorities: Authorities,
                                             mailbox: Mailbox) -> None:
    ex = app.state.exchange
    subscribe(ex.engine, ex.vault, "MX", "email", "desk@cofepris.example",
              ["notification.received"], now=ex.now())
    subscribe(ex.engine, ex.vault, "CA", "email", "ocs@hc.example", now=ex.now())
    sent = _send(client, authorities)
    assert _dispatcher(app, smtp=mailbox.settings).run_once().delivered == 1
    [mail] = mailbox.messages
    assert mail["To"] == "desk@cofepris.example" and mail["From"] == "pwatch@exchange.test"
    assert mail["Subject"] == ("Precursor Watch: Pre-export notification received "
                               f"(notification {sent['id']})")
    text = mail.get_content()
    assert f"https://pwatch.example/notifications/{sent['id']}" in text
    assert "4-piperidone hydrochloride monohydrate, 25 kg, CN -> MX" in text


def test_email_without_a_mail_server_waits(app: FastAPI, client: TestClient,
                                          authorities: Authorities) -> None:
    ex = app.state.exchange
    subscribe(ex.engine, ex.vault, "MX", "email", "desk@cofepris.example", now=ex.now())
    _send(client, authorities)
    assert _dispatcher(app).run_once().retrying == 1
    [(_, _, error)] = log_of(ex.engine, _only_delivery(app).id)
    assert error == "no mail server is set (PWATCH_SMTP_HOST)"


# -- the reply deadline ------------------------------------------------------------------------
def test_deadline_two_days_away_is_told_once(app: FastAPI, client: TestClient,
                                             authorities: Authorities, hooks: Hooks,
                                             clock: Clock) -> None:
    _webhook(app, hooks, "MX", "notification.deadline")
    _webhook(app, hooks, "CN", "notification.deadline")
    sent = _send(client, authorities)  # MX answers within 7 days
    answered = _send(client, authorities)
    client.post(f"/v1/notifications/{answered['id']}/response",
                json={"decision": "no_objection"}, headers=authorities.headers("MX"))
    dispatcher = _dispatcher(app)
    clock.advance(days=4, hours=23)
    assert dispatcher.run_once().found == 0
    clock.advance(hours=2)
    assert dispatcher.run_once().delivered == 1
    clock.advance(days=1)
    dispatcher.run_once()
    [told] = hooks.at("/MX")
    assert told.json["event"] == "notification.deadline"
    assert told.json["record_id"] == sent["id"] and hooks.at("/CN") == []


# -- concurrency -------------------------------------------------------------------------------
def test_two_dispatchers_at_once_deliver_each_event_once(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks) -> None:
    for code in ("MX", "US"):
        _webhook(app, hooks, code)
    sent = [_send(client, authorities)["id"] for _ in range(6)]
    dispatchers = [_dispatcher(app) for _ in range(3)]
    start = threading.Barrier(len(dispatchers))
    errors: list[BaseException] = []

    def run(dispatcher: Dispatcher) -> None:
        start.wait()
        try:
            dispatcher.run_once()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for code in ("MX", "US"):
        ids = sorted(r.json["record_id"] for r in hooks.at(f"/{code}"))
        assert ids == sorted(sent)


# -- configuration -----------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "problem"), [
    ("ftp://files.example/hook", "only http:// and https://"),
    ("https:///nohost", "names no host"),
    ("hooks.example/x", "only http:// and https://"),
    ("http://example.org:99999/", "cannot be read"),
])
def test_webhook_urls_are_checked(app: FastAPI, authorities: Authorities, target: str,
                                  problem: str) -> None:
    ex = app.state.exchange
    with pytest.raises(AdminError) as raised:
        subscribe(ex.engine, ex.vault, "MX", "webhook", target)
    assert problem in str(raised.value) and repr(target) in str(raised.value)


def test_unknown_events_and_authorities_are_named(app: FastAPI,
                                                  authorities: Authorities) -> None:
    ex = app.state.exchange
    with pytest.raises(AdminError, match=r"event 'notification\.sent' is not one of"):
        subscribe(ex.engine, ex.vault, "MX", "webhook", "https://h.example/",
                  ["notification.received,notification.sent"])
    with pytest.raises(AdminError, match="no authority with code 'ZZ'"):
        subscribe(ex.engine, ex.vault, "ZZ", "email", "a@b.example")
    with pytest.raises(AdminError, match="is not an e-mail address"):
        subscribe(ex.engine, ex.vault, "MX", "email", "not an address")


def test_admin_commands_configure_and_deliver(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks,
        settings: Any, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the command runs on the system clock
    monkeypatch.setenv("PWATCH_EXCHANGE_SECRET_FILE", str(settings.secret_file))
    if settings.db_schema:
        monkeypatch.setenv("PWATCH_EXCHANGE_DB_SCHEMA", settings.db_schema)
    db = ["--db", settings.db_url]
    runner = CliRunner()
    added = runner.invoke(cli, ["admin", "add-webhook", "mx", f"{hooks.url}/MX",
                                "--events", "notification.received", *db])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert len(secret) == 64 and "(notification.received)" in added.output
    bad = runner.invoke(cli, ["admin", "add-webhook", "MX", "gopher://x", *db])
    assert bad.exit_code == 2 and "'gopher://x'" in bad.output
    mail = runner.invoke(cli, ["admin", "add-email", "MX", "desk@cofepris.example", *db])
    assert mail.exit_code == 0, mail.output

    # After both subscriptions on the system clock, however long the commands took: a record
    # from before a subscription is not the subscriber's to be told of.
    clock.now = dt.datetime.now(dt.UTC)
    _send(client, authorities)
    monkeypatch.setenv("PWATCH_PUBLIC_URL", "https://pwatch.example")
    once = runner.invoke(cli, ["admin", "deliver", "--once", *db])
    assert once.exit_code == 0, once.output
    assert "2 new events, 1 delivered, 1 to retry" in once.output
    [hook] = hooks.at("/MX")
    header = hook.headers["X-PWatch-Signature"]
    assert deliveries.verify_signature(secret, header, hook.body,
                                       now=int(header.split(",")[0][2:]))

    listed = runner.invoke(cli, ["admin", "list-deliveries", "MX", *db])
    assert listed.exit_code == 0, listed.output
    lines = [line.split("\t") for line in listed.output.strip().splitlines()]
    assert [line[0] for line in lines].count("subscription") == 2
    attempts = [line for line in lines if line[0] == "attempt"]
    assert sorted(line[7] for line in attempts) == ["-", "200"]
    assert any("no mail server is set" in line[9] for line in attempts)


def test_signature_example_in_the_docs_verifies() -> None:
    """docs/deliveries.md's receiver code, run against a signed body."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "deliveries.md"
    code = docs.read_text("utf-8").split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, str(docs), "exec"), scope)
    body = b'{"event":"notification.received"}'
    header = deliveries.signature("s3cret", 1_800_000_000, body)
    assert scope["verify"]("s3cret", header, body, now=1_800_000_100)
    assert not scope["verify"]("s3cret", header, body + b"x", now=1_800_000_100)
    assert not scope["verify"]("s3cret", header, body, now=1_800_001_000)


# -- permits and alerts ------------------------------------------------------------------------
def test_a_revoked_permit_is_told_to_the_exporter_country(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks) -> None:
    subs = {code: _webhook(app, hooks, code, "permit.revoked") for code in ("CN", "MX", "US")}
    issued = client.post("/v1/permits", json={
        "permit_number": "COFEPRIS-2026-000123", "substance": "4-piperidone", "quantity": 30,
        "unit": "kg", "importer": {"name": "Quimica Ejemplo SA", "country": "MX"},
        "exporter_country": "CN", "exporter": {"name": "Hubei Example Chemical Co.",
                                               "country": "CN"},
        "valid_from": "2026-11-23", "valid_until": "2027-05-22"},
        headers=authorities.headers("MX"))
    assert issued.status_code == 201, issued.text
    dispatcher = _dispatcher(app)
    assert dispatcher.run_once().found == 0  # issued, not revoked: nothing to tell
    permit_id = issued.json()["id"]
    revoked = client.post(f"/v1/permits/{permit_id}/revoke",
                          json={"reason": "licence suspended"}, headers=authorities.headers("MX"))
    assert revoked.status_code == 200, revoked.text
    assert dispatcher.run_once().delivered == 1
    [told] = hooks.at("/CN")
    payload = _verified(told, subs["CN"].secret)
    assert payload["event"] == "permit.revoked" and payload["record_id"] == permit_id
    assert payload["record"]["revocation"]["reason"] == "licence suspended"
    assert payload["link"] == f"https://pwatch.example/permits/{permit_id}"
    assert hooks.at("/MX") == [] and hooks.at("/US") == []


def test_alerts_and_their_outcomes_are_told(app: FastAPI, client: TestClient,
                                            authorities: Authorities, hooks: Hooks) -> None:
    for code in ("CN", "MX", "US", "CA"):
        _webhook(app, hooks, code, "alert.received", "alert.outcome")
    shipment = {"shipment_id": "PW-1", "description": "4-piperidone HCl 25 kg drums",
                "hs_code": "2933.39", "quantity": 25, "unit": "kg", "shipper_country": "CN",
                "consignee_country": "MX"}
    screening = {"shipment_id": "PW-1", "risk": 85, "level": "high", "chemicals": [],
                 "flags": [{"code": "HS_MISMATCH", "weight": 20, "detail": "HS 2933.39"}],
                 "parties": []}
    sent = client.post("/v1/alerts", json={"shipment": shipment, "screening": screening,
                                           "reason": "Controlled precursor, generic name.",
                                           "share_with": ["MX"]},
                       headers=authorities.headers("CN"))
    assert sent.status_code == 201, sent.text
    alert_id = sent.json()["id"]
    dispatcher = _dispatcher(app)
    assert dispatcher.run_once().delivered == 1
    [received] = hooks.at("/MX")
    assert received.json["event"] == "alert.received"
    assert received.json["record_id"] == alert_id
    assert received.json["link"] == f"https://pwatch.example/alerts/{alert_id}"
    found = client.post(f"/v1/alerts/{alert_id}/outcome",
                        json={"outcome": "seized", "note": "25 kg held at Manzanillo"},
                        headers=authorities.headers("MX"))
    assert found.status_code == 200, found.text
    assert dispatcher.run_once().delivered == 1
    [outcome] = hooks.at("/CN")
    assert outcome.json["event"] == "alert.outcome" and outcome.json["record_id"] == alert_id
    assert outcome.json["record"]["outcomes"][0]["note"] == "25 kg held at Manzanillo"
    assert hooks.at("/US") == [] and hooks.at("/CA") == [] and len(hooks.at("/MX")) == 1


def test_the_service_runs_the_dispatcher_when_asked(
        settings: Any, engine: Any, clock: Clock, hooks: Hooks) -> None:
    from dataclasses import replace

    from precursorwatch.exchange.admin import add_authority
    from precursorwatch.exchange.app import create_app

    served = create_app(replace(settings, deliver=True, deliver_interval=0.05), engine=engine,
                        clock=clock)
    ex = served.state.exchange
    keys = {code: add_authority(ex.engine, ex.vault, code, code, now=clock()).api_key
            for code in ("CN", "MX", "US")}
    _webhook(served, hooks, "MX")
    with TestClient(served) as client:
        assert served.state.dispatcher is not None
        sent = client.post("/v1/notifications", json=notification(),
                           headers={"Authorization": f"Bearer {keys['CN']}"})
        assert sent.status_code == 201, sent.text
        deadline = time.monotonic() + 20
        while not hooks.at("/MX") and time.monotonic() < deadline:
            time.sleep(0.05)
        thread = served.state.dispatcher._thread
    assert [r.json["record_id"] for r in hooks.at("/MX")] == [sent.json()["id"]]
    assert thread is not None and not thread.is_alive()  # stopped with the service


def test_an_authority_manages_its_own_subscriptions_through_the_api(
        app: FastAPI, client: TestClient, authorities: Authorities, hooks: Hooks) -> None:
    made = client.post("/v1/subscriptions", json={
        "channel": "webhook", "target": f"{hooks.url}/MX", "events": ["notification.received"]},
        headers=authorities.headers("MX"))
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["events"] == ["notification.received"] and len(sub["secret"]) == 64
    mail = client.post("/v1/subscriptions", json={"channel": "email",
                                                  "target": "ocs@hc.example"},
                       headers=authorities.headers("CA"))
    assert mail.status_code == 201 and mail.json()["secret"] is None
    assert mail.json()["events"] == list(deliveries.EVENTS)

    mine = client.get("/v1/subscriptions", headers=authorities.headers("MX")).json()
    assert [(s["id"], s["secret"]) for s in mine] == [(sub["id"], None)]
    assert client.get("/v1/subscriptions", headers=authorities.headers("US")).json() == []
    # Another authority can neither see nor stop it.
    other = client.delete(f"/v1/subscriptions/{sub['id']}", headers=authorities.headers("CA"))
    assert other.status_code == 404

    bad = client.post("/v1/subscriptions", json={"channel": "webhook", "target": "file:///etc"},
                      headers=authorities.headers("MX"))
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("target: URL 'file:///etc'")
    unknown = client.post("/v1/subscriptions", json={
        "channel": "webhook", "target": "https://h.example", "events": ["everything"]},
        headers=authorities.headers("MX"))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith("events: event 'everything'")

    sent = _send(client, authorities)
    _dispatcher(app).run_once()
    [told] = hooks.at("/MX")
    assert _verified(told, sub["secret"])["record_id"] == sent["id"]

    stopped = client.delete(f"/v1/subscriptions/{sub['id']}", headers=authorities.headers("MX"))
    assert stopped.status_code == 200 and stopped.json()["id"] == sub["id"]
    assert client.get("/v1/subscriptions", headers=authorities.headers("MX")).json() == []
    _send(client, authorities)
    _dispatcher(app).run_once()
    assert len(hooks.at("/MX")) == 1


# -- the pure parts ----------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "kinds"), [
    ([], tuple(deliveries.EVENTS)),
    (["notification.deadline, notification.received"],
     ("notification.received", "notification.deadline")),
    (["PERMIT.REVOKED", "permit.revoked"], ("permit.revoked",)),
])
def test_event_lists_are_read_in_a_fixed_order(given: list[str], kinds: tuple[str, ...]
                                               ) -> None:
    assert deliveries.parse_events(given) == kinds


@pytest.mark.parametrize(("failures", "shortest", "longest"), [
    (1, 30, 60), (2, 60, 120), (3, 120, 240), (7, 1800, 3600), (12, 1800, 3600)])
def test_back_off_doubles_with_jitter_up_to_an_hour(failures: int, shortest: float,
                                                    longest: float) -> None:
    policy = deliveries.RetryPolicy()
    waits = [policy.delay(failures, draw).total_seconds() for draw in (0.0, 0.5, 0.999)]
    assert waits[0] == longest and waits[1] == (shortest + longest) / 2
    assert shortest < waits[2] < waits[1] < waits[0]


def test_a_signature_covers_the_time_and_the_exact_body() -> None:
    header = deliveries.signature("k", 1_800_000_000, b"{}")
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert deliveries.verify_signature("k", header, b"{}", now=1_800_000_000)
    assert not deliveries.verify_signature("k", header, b"{ }", now=1_800_000_000)
    replayed = header.replace("t=1800000000", "t=1800000999")
    assert not deliveries.verify_signature("k", replayed, b"{}", now=1_800_000_999)
    assert not deliveries.verify_signature("k", "v1=abc", b"{}", now=1_800_000_000)
