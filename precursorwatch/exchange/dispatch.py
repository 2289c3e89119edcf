"""The dispatcher: finds events in the committed records and delivers them (webhooks, e-mail).

It never touches the write path. Each run
1. scans: for every live subscription and every event kind it asks for, adds a `delivery` row
   for each record that produces the event for the subscription's authority and has none
   yet. The scan reads back an hour before its last one (`SETTLE`), and once a day the whole
   history since the subscription began (`SWEEP`): a record committed late with an earlier
   timestamp is found all the same, never skipped. The unique key (subscription, event,
   record) keeps each event to one row however many dispatchers scan;
2. claims due rows (pending, next try reached, not claimed by another dispatcher), in one
   UPDATE (PostgreSQL: of rows locked with SKIP LOCKED), so two dispatchers never send the
   same delivery;
3. sends each, logs the attempt (`delivery_attempt`) and marks the row delivered, due again
   after a back-off, or given up.

The record in a payload is read through the same scoped reads the API serves, as the
recipient: an authority is told only what it may read.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from sqlalchemy import (
    Engine,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from precursorwatch.exchange import deliveries
from precursorwatch.exchange.alerts import ALERT_VISIBLE, get_alert
from precursorwatch.exchange.errors import AdminError, NotFound
from precursorwatch.exchange.models import (
    Alert,
    AlertOutcome,
    Authority,
    Delivery,
    DeliveryAttempt,
    Incident,
    Notification,
    NotificationResponse,
    Permit,
    PermitRevocation,
    Subscription,
    UtcDateTime,
)
from precursorwatch.exchange.permit_store import PERMIT_VISIBLE
from precursorwatch.exchange.permits import authority_country
from precursorwatch.exchange.scope import CALLER, INCIDENT_VISIBLE, NOTIFICATION_VISIBLE, Caller
from precursorwatch.exchange.service import Clock, Exchange, system_clock
from precursorwatch.exchange.settings import ExchangeSettings, SmtpSettings
from precursorwatch.exchange.signing import KeyVault

log = logging.getLogger("precursorwatch.exchange.deliveries")

# -- which records produce which event for the authority bound as `caller_id` -----------------
SINCE = bindparam("since", type_=UtcDateTime())
NOW = bindparam("now", type_=UtcDateTime())
SOON = bindparam("soon", type_=UtcDateTime())  # now + DEADLINE_NOTICE
SINCE_DEADLINE = bindparam("since_deadline", type_=UtcDateTime())  # since + DEADLINE_NOTICE


# Each selects the id of the record the event is about; all are scoped by the reads' own
# visibility rules (`scope`, `permit_store`), and only events since the subscription began.
CANDIDATES: dict[str, Select[Any]] = {
    "notification.received": select(Notification.id).where(
        NOTIFICATION_VISIBLE, Notification.exporter_id != CALLER,
        Notification.created_at >= SINCE),
    "notification.deadline": select(Notification.id).where(
        NOTIFICATION_VISIBLE, Notification.importer_id == CALLER,
        Notification.reply_deadline > NOW, Notification.reply_deadline <= SOON,
        Notification.reply_deadline >= SINCE_DEADLINE,
        Notification.status == "sent"),  # neither answered nor corrected
    "notification.answered": select(Notification.id)
    .join(NotificationResponse, NotificationResponse.notification_id == Notification.id)
    .where(NOTIFICATION_VISIBLE, Notification.exporter_id == CALLER,
           NotificationResponse.created_at >= SINCE),
    "incident.shared": select(Incident.id).where(
        INCIDENT_VISIBLE, Incident.reporter_id != CALLER, Incident.created_at >= SINCE),
    "permit.revoked": select(Permit.id)
    .join(PermitRevocation, PermitRevocation.permit_id == Permit.id)
    .where(PERMIT_VISIBLE, Permit.issuer_id != CALLER, PermitRevocation.created_at >= SINCE),
    "alert.received": select(Alert.id).where(
        ALERT_VISIBLE, Alert.sender_id != CALLER, Alert.created_at >= SINCE),
    # One event per outcome (each receiving authority reports once); the payload is the alert.
    "alert.outcome": select(AlertOutcome.id)
    .join(Alert, Alert.id == AlertOutcome.alert_id)
    .where(ALERT_VISIBLE, Alert.sender_id == CALLER, AlertOutcome.authority_id != CALLER,
           AlertOutcome.created_at >= SINCE),
}


_EXISTING = (select(Delivery.record_id)
             .where(Delivery.subscription_id == bindparam("subscription_id", type_=Integer()),
                    Delivery.event == bindparam("event", type_=String()),
                    Delivery.record_id.in_(bindparam("ids", expanding=True, type_=String()))))
_ALL_EXISTING = select(Delivery.record_id).where(
    Delivery.subscription_id == bindparam("subscription_id", type_=Integer()),
    Delivery.event == bindparam("event", type_=String()))
_CHUNK = 500  # ids looked up in one statement (SQLite caps a statement's parameters)
_LOOKED_UP = 10_000  # beyond this many records, the event's deliveries are read whole

_LIVE_SUBSCRIPTIONS = (select(Subscription.id, Subscription.authority_id, Subscription.events,
                              Subscription.created_at, Subscription.scanned_at,
                              Subscription.swept_at, Authority.code)
                       .join(Authority, Authority.id == Subscription.authority_id)
                       .where(Subscription.disabled_at.is_(None)))
_LIVE_IDS = select(Subscription.id).where(Subscription.disabled_at.is_(None))

# A pass looks at records since its subscription's last scan less SETTLE: a record whose
# commit came later than that after its timestamp is found by the next SWEEP, which looks at
# every record since the subscription began. So no event is skipped, and a pass reads only
# its last hour's records (a sweep of 50,000 events' records takes about a second).
SETTLE = dt.timedelta(hours=1)
SWEEP = dt.timedelta(days=1)


def scan(engine: Engine, now: dt.datetime) -> int:
    """Add a pending delivery for every event not yet found; the number added.

    Records are read in Python and compared with the deliveries already made, rather than in
    one INSERT ... WHERE NOT EXISTS, whose plan PostgreSQL picks from table statistics that
    lag behind a fast-growing `delivery` (a nested loop over every delivery per record). A
    race between two dispatchers is settled by the unique key (ON CONFLICT DO NOTHING)."""
    added = 0
    upsert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.connect() as connection:
        subscriptions = connection.execute(_LIVE_SUBSCRIPTIONS).all()
    for sub_id, authority_id, events, created_at, scanned_at, swept_at, code in subscriptions:
        sweep = swept_at is None or now - swept_at >= SWEEP
        since = created_at if sweep or scanned_at is None else max(created_at,
                                                                   scanned_at - SETTLE)
        params = {"caller_id": authority_id, "caller_country": authority_country(code),
                  "since": since, "now": now, "soon": now + deliveries.DEADLINE_NOTICE,
                  "since_deadline": created_at + deliveries.DEADLINE_NOTICE}
        with engine.begin() as connection:
            for event in events.split():
                if event not in CANDIDATES:
                    continue
                ids = list(dict.fromkeys(
                    r[0] for r in connection.execute(CANDIDATES[event], params)))
                if not ids:
                    continue
                keys = {"subscription_id": sub_id, "event": event}
                # Few ids (a pass): look them up; many (a sweep): read the event's all.
                known = ({r[0] for i in range(0, len(ids), _CHUNK)
                          for r in connection.execute(_EXISTING, {
                              **keys, "ids": ids[i:i + _CHUNK]})}
                         if len(ids) <= _LOOKED_UP else
                         {r[0] for r in connection.execute(_ALL_EXISTING, keys)})
                missing = [{**keys, "record_id": i, "created_at": now, "state": "pending",
                            "attempts": 0, "next_attempt_at": now}
                           for i in ids if i not in known]
                if missing:
                    added += len(connection.execute(
                        upsert(Delivery).on_conflict_do_nothing(
                            index_elements=["subscription_id", "event", "record_id"])
                        .returning(Delivery.id), missing).all())
            connection.execute(update(Subscription).where(Subscription.id == sub_id).values(
                scanned_at=now, **({"swept_at": now} if sweep else {})))
    return added


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row)


# -- sending ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What one try gave: the HTTP status (webhooks) or the error."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what sending it needs."""

    id: int
    event: str
    record_id: str
    attempts: int
    channel: str
    target: str
    secret_enc: str | None
    authority_id: int
    code: str
    name: str
    claim: str  # the claiming dispatcher's token


@dataclass
class Report:
    """One run of the dispatcher."""

    found: int = 0
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0


class _NoChecks:
    """The dispatcher's `Exchange` only reads; a substance check there is a mistake."""

    def check(self, identifier: str) -> Any:
        raise RuntimeError("the dispatcher does not check substances")

    def check_batch(self, identifiers: Sequence[str], **_: Any) -> Any:
        raise RuntimeError("the dispatcher does not check substances")


def reading_exchange(engine: Engine, settings: ExchangeSettings, vault: KeyVault,
                     clock: Clock = system_clock) -> Exchange:
    """An `Exchange` for the dispatcher's reads, without control lists or watchlists."""
    return Exchange(engine, replace(settings, screen_parties=False), vault,
                    _NoChecks(), clock)


LEASE = dt.timedelta(minutes=5)  # a claim a dispatcher that died leaves is taken after this
BATCH = 50  # deliveries claimed at once


class Dispatcher:
    """Scans, claims and sends; `run_once` is one pass (`pwatch admin deliver --once`),
    `start` runs passes in a background thread every `interval` seconds (`pwatch serve`)."""

    def __init__(self, exchange: Exchange, *, policy: deliveries.RetryPolicy | None = None,
                 smtp: SmtpSettings | None = None, public_url: str | None = None,
                 http: httpx.Client | None = None, draw: Callable[[], float] = random.random,
                 timeout: float = 10.0) -> None:
        settings = exchange.settings
        self.ex = exchange
        self.engine = exchange.engine
        self.policy = policy or deliveries.RetryPolicy(attempts=settings.delivery_attempts)
        self.smtp = smtp if smtp is not None else settings.smtp
        self.public_url = public_url or settings.public_url
        self.timeout = timeout
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False,
                                          headers={"User-Agent": "PrecursorWatch-Deliveries/1"})
        self._draw = draw
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # one pass
    def run_once(self, limit: int = 1000) -> Report:
        now = self.ex.now()
        report = Report(found=scan(self.engine, now))
        while limit > 0:
            claimed = self._claim(min(BATCH, limit))
            if not claimed:
                break
            limit -= len(claimed)
            for due in claimed:
                self._deliver(due, report)
        return report

    def _claim(self, limit: int) -> list[Due]:
        now = self.ex.now()
        token = str(uuid.uuid4())
        due_now = and_(Delivery.state == "pending", Delivery.next_attempt_at <= now,
                       or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
                       Delivery.subscription_id.in_(_LIVE_IDS))
        due = (select(Delivery.id).where(due_now)
               .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with self.engine.begin() as connection:
            connection.execute(update(Delivery).where(Delivery.id.in_(due.scalar_subquery()),
                                                      due_now)
                               .values(claimed_by=token, claimed_until=now + LEASE))
            rows = connection.execute(
                select(Delivery.id, Delivery.event, Delivery.record_id, Delivery.attempts,
                       Subscription.channel, Subscription.target, Subscription.secret_enc,
                       Authority.id, Authority.code, Authority.name, Delivery.claimed_by)
                .join(Subscription, Subscription.id == Delivery.subscription_id)
                .join(Authority, Authority.id == Subscription.authority_id)
                .where(Delivery.claimed_by == token)
                .order_by(Delivery.next_attempt_at, Delivery.id)).all()
        return [Due(*_values(row)) for row in rows]

    def _deliver(self, due: Due, report: Report) -> None:
        started = time.monotonic()
        at = self.ex.now()
        try:
            outcome = self._send(due)
        except Exception as exc:  # a delivery's failure must not stop the others
            log.exception("delivery %s failed", due.id)
            outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
        duration = round((time.monotonic() - started) * 1000)
        failures = due.attempts + 1
        state = ("delivered" if outcome.ok
                 else "failed" if failures >= self.policy.attempts else "pending")
        values: dict[str, Any] = {"attempts": failures, "state": state, "claimed_by": None,
                                  "claimed_until": None}
        if state == "pending":
            values["next_attempt_at"] = at + self.policy.delay(failures, self._draw())
            report.retrying += 1
        else:
            values["done_at"] = at
            if outcome.ok:
                report.delivered += 1
            else:
                report.given_up += 1
                log.warning("delivery %s (%s %s to %s) given up after %s tries: %s", due.id,
                            due.event, due.record_id, due.code, failures, outcome.error)
        with self.engine.begin() as connection:
            connection.execute(insert(DeliveryAttempt).values(
                delivery_id=due.id, number=failures, at=at, duration_ms=duration,
                status_code=outcome.status_code, error=outcome.error))
            # Only while the claim is still this dispatcher's (a claim outlived by a send
            # passes to another dispatcher, whose outcome then counts).
            connection.execute(update(Delivery).where(Delivery.id == due.id,
                                                      Delivery.claimed_by == due.claim)
                               .values(**values))

    def _send(self, due: Due) -> Outcome:
        kind = deliveries.EVENTS[due.event]
        caller = Caller(due.authority_id, due.code, due.name)
        try:
            served, record_id = served_record(self.ex, caller, due.event, due.record_id)
        except NotFound:
            return Outcome(False, error=f"{due.code} cannot read {kind.record_type} "
                                        f"{due.record_id}")
        page = deliveries.link(self.public_url, kind.record_type, record_id)
        if due.channel == "webhook":
            return self._post(due, record_id, served, page)
        return self._mail(due, record_id, served, page)

    def _post(self, due: Due, record_id: str, served: str, page: str) -> Outcome:
        if due.secret_enc is None:
            return Outcome(False, error="the subscription has no signing secret")
        body = deliveries.payload(event=due.event, delivery_id=due.id, authority=due.code,
                                  record_id=record_id, served=served, page=page)
        stamp = int(self.ex.now().timestamp())
        headers = {"Content-Type": "application/json", "X-PWatch-Event": due.event,
                   "X-PWatch-Delivery": str(due.id),
                   deliveries.SIGNATURE_HEADER: deliveries.signature(
                       self.ex.vault.unseal(due.secret_enc), stamp, body)}
        try:
            response = self._http.post(due.target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        ok = 200 <= response.status_code < 300
        return Outcome(ok, response.status_code,
                       None if ok else f"HTTP {response.status_code}: {response.text[:200]}")

    def _mail(self, due: Due, record_id: str, served: str, page: str) -> Outcome:
        smtp = self.smtp
        if smtp is None:
            return Outcome(False, error="no mail server is set (PWATCH_SMTP_HOST)")
        message = deliveries.email(event=due.event, sender=smtp.sender, to=due.target,
                                   record_id=record_id, served=served, page=page)
        try:
            # Port 465 speaks TLS from the first byte; others upgrade with STARTTLS.
            implicit = smtp.port == 465
            connect = smtplib.SMTP_SSL if implicit else smtplib.SMTP
            with connect(smtp.host, smtp.port, timeout=self.timeout) as server:
                if smtp.starttls and not implicit:
                    server.starttls()
                if smtp.user:
                    server.login(smtp.user, smtp.password or "")
                server.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        return Outcome(True)

    # the background thread
    def start(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception:  # the database away for a moment: try again next time
                    log.exception("deliveries: a pass failed")
                self._stop.wait(interval)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="pwatch-deliveries", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the pass in progress (a send in flight is finished and logged)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._http.close()


def served_record(ex: Exchange, caller: Caller, event: str, record_id: str
                  ) -> tuple[str, str]:
    """The record an event is about, as `caller` reads it through the API, and its id
    (an alert outcome's event is about its alert). NotFound if the caller may not read it."""
    from precursorwatch.exchange import incidents, notifications, permit_store

    record_type = deliveries.EVENTS[event].record_type
    if record_type == "notification":
        return notifications.get_notification(ex, caller, record_id), record_id
    if record_type == "incident":
        return incidents.get_incident(ex, caller, record_id), record_id
    if record_type == "permit":
        return permit_store.get_permit(ex, caller, record_id), record_id
    alert_id = record_id
    if event == "alert.outcome":
        found = ex.rows(select(AlertOutcome.alert_id).where(AlertOutcome.id == record_id), {})
        if not found:
            raise NotFound(f"no alert outcome {record_id}")
        alert_id = found[0][0]
    return get_alert(ex, caller, alert_id), alert_id


# -- configuration (`pwatch admin`, `/v1/subscriptions`) ---------------------------------------
@dataclass(frozen=True)
class Subscribed:
    """A subscription as shown: its secret only when just made."""

    id: int
    authority: str
    channel: str
    target: str
    events: tuple[str, ...]
    created_at: dt.datetime
    secret: str | None = None


def _authority_id(connection: Any, code: str) -> int:
    found = connection.execute(select(Authority.id).where(
        Authority.code == code.strip().upper())).scalar()
    if found is None:
        raise AdminError(f"no authority with code {code!r}")
    return int(found)


def subscribe(engine: Engine, vault: KeyVault, code: str, channel: deliveries.Channel,
              target: str, events: Sequence[str] = (), now: dt.datetime | None = None
              ) -> Subscribed:
    """Add a webhook (`target` an http(s) URL; a new secret, returned once) or an e-mail
    subscription; AdminError names a bad value."""
    try:
        kinds = deliveries.parse_events(events)
        target = (deliveries.webhook_url(target) if channel == "webhook"
                  else deliveries.email_address(target))
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    secret = deliveries.new_secret() if channel == "webhook" else None
    at = now or dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        authority_id = _authority_id(connection, code)
        new_id = connection.execute(insert(Subscription).values(
            authority_id=authority_id, channel=channel, target=target, events=" ".join(kinds),
            secret_enc=vault.seal(secret) if secret else None, created_at=at)
            .returning(Subscription.id)).scalar_one()
    return Subscribed(new_id, code.strip().upper(), channel, target, kinds, at, secret)


def unsubscribe(engine: Engine, code: str, subscription_id: int,
                now: dt.datetime | None = None) -> None:
    """Stop a subscription of the authority (its log stays); AdminError if it has none such."""
    with engine.begin() as connection:
        authority_id = _authority_id(connection, code)
        done = connection.execute(update(Subscription).where(
            Subscription.id == subscription_id, Subscription.authority_id == authority_id,
            Subscription.disabled_at.is_(None)).values(
            disabled_at=now or dt.datetime.now(dt.UTC)))
        if not done.rowcount:
            raise AdminError(f"{code.strip().upper()} has no active subscription "
                             f"{subscription_id}")


@dataclass(frozen=True)
class AttemptShown:
    delivery_id: int
    subscription_id: int
    event: str
    record_id: str
    state: str
    number: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def subscriptions(engine: Engine, code: str) -> list[Subscribed]:
    with engine.connect() as connection:
        authority_id = _authority_id(connection, code)
        rows = connection.execute(
            select(Subscription.id, Subscription.channel, Subscription.target,
                   Subscription.events, Subscription.created_at)
            .where(Subscription.authority_id == authority_id,
                   Subscription.disabled_at.is_(None))
            .order_by(Subscription.id)).all()
    return [Subscribed(r[0], code.strip().upper(), r[1], r[2], tuple(r[3].split()), r[4])
            for r in rows]


def recent_attempts(engine: Engine, code: str, limit: int = 20) -> list[AttemptShown]:
    """The authority's latest delivery attempts, newest first."""
    with engine.connect() as connection:
        authority_id = _authority_id(connection, code)
        rows = connection.execute(
            select(Delivery.id, Delivery.subscription_id, Delivery.event, Delivery.record_id,
                   Delivery.state, DeliveryAttempt.number, DeliveryAttempt.at,
                   DeliveryAttempt.status_code, DeliveryAttempt.error,
                   DeliveryAttempt.duration_ms)
            .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Subscription.authority_id == authority_id)
            .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc())
            .limit(limit)).all()
    return [AttemptShown(*_values(row)) for row in rows]


def log_of(engine: Engine, delivery_id: int) -> list[tuple[int, int | None, str | None]]:
    """(number, status code, error) of each attempt at one delivery, in order."""
    with engine.connect() as connection:
        return [(r[0], r[1], r[2]) for r in connection.execute(
            select(DeliveryAttempt.number, DeliveryAttempt.status_code, DeliveryAttempt.error)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number)).all()]

