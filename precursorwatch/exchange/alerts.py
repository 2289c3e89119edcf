"""Shipment alerts: an authority shares a suspicious shipment (its manifest row and its
Contract 2 screening result) with the destination and transit authorities, and each of them
answers once with what it found. Both are signed records of their authors' audit chains.

Who reads an alert: its sender and the authorities it was shared with; anyone else gets 404.
Only an authority it was shared with answers it (the sender gets 403), once, for good.

An alert's outcome, as a whole, is the strongest of its recipients' answers (`OUTCOME_ORDER`):
a shipment seized by one of them was a true alert whatever the others found. The statistics of
the red-flag rules (`rule_stats`) count alerts by that outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased, undefer_group

from precursorwatch.exchange import audit
from precursorwatch.exchange.errors import Conflict, Forbidden, Invalid, NotFound
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import (
    Alert,
    AlertOutcome,
    AlertShare,
    Authority,
    Incident,
    Notification,
    UtcDateTime,
)
from precursorwatch.exchange.records import iso, to_json, when
from precursorwatch.exchange.schemas import (
    AuthorityCode,
    LongText,
    ShortText,
    shown,
)
from precursorwatch.exchange.scope import (
    CALLER,
    INCIDENT_VISIBLE,
    NOTIFICATION_VISIBLE,
    RECORD_ID,
    Caller,
)
from precursorwatch.exchange.service import Exchange
from precursorwatch.exchange.signed import Written, write
from precursorwatch.exchange.signing import JCS

# -- what is sent ------------------------------------------------------------------------------
OutcomeKind = Literal["seized", "inspected_clear", "not_found", "no_action"]
OUTCOMES: tuple[str, ...] = ("seized", "inspected_clear", "not_found", "no_action")
# An alert's outcome as a whole: the first of these any recipient's answer (or lack of one)
# gives. A pending answer outranks `no_action`: the shipment may still be acted on.
OUTCOME_ORDER: tuple[str, ...] = ("seized", "inspected_clear", "not_found", "pending",
                                  "no_action")
INSPECTED: tuple[str, ...] = ("seized", "inspected_clear", "not_found")
PRECISION_DEFINITION = ("precision = seized / inspected, where inspected = seized + "
                        "inspected_clear + not_found (no_action and pending are left out); an "
                        "alert counts once, with the strongest answer of the authorities it "
                        "was shared with (seized > inspected_clear > not_found > pending > "
                        "no_action)")
MAX_SHARES = 20
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
RecordId = Annotated[str, Field(pattern=_UUID, examples=["5b8e2c1a-3f4d-4e6a-9b0c-1d2e3f4a5b6c"])]
Cell = ShortText | int | float  # a manifest cell: text, or a number as JSON gives it
RuleCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,39}$", examples=["HS_MISMATCH"])]
Reference = Annotated[str, Field(min_length=1, max_length=128,
                                 pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]*$")]

_STRICT = ConfigDict(extra="forbid", strict=True)


class AlertShipment(BaseModel):
    """One shipment in the canonical manifest columns (Contract 2); only `shipment_id` and
    `description` are required."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    shipment_id: ShortText
    description: LongText
    date: ShortText | None = None
    hs_code: ShortText | None = None
    cas: ShortText | None = None
    quantity: Cell | None = None
    unit: ShortText | None = None
    shipper_name: ShortText | None = None
    shipper_address: LongText | None = None
    shipper_country: ShortText | None = None
    consignee_name: ShortText | None = None
    consignee_address: LongText | None = None
    consignee_country: ShortText | None = None
    notify_party: ShortText | None = None
    mode: ShortText | None = None
    origin_port: ShortText | None = None
    destination_port: ShortText | None = None
    transit_countries: ShortText | None = None
    declared_value: Cell | None = None
    currency: ShortText | None = None
    payment_method: ShortText | None = None


class ScreeningFlag(BaseModel):
    model_config = _STRICT

    code: RuleCode
    weight: int = Field(ge=-1000, le=1000)
    detail: Annotated[str, Field(max_length=4000)]


class Screening(BaseModel):
    """A Contract 2 screening result, as `pwatch screen` writes it (jsonl)."""

    model_config = _STRICT

    shipment_id: ShortText
    risk: int = Field(ge=0, le=100)
    level: Literal["high", "medium", "low", "none"]
    chemicals: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    flags: list[ScreeningFlag] = Field(default_factory=list, max_length=100)
    parties: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    row: int | None = Field(default=None, ge=0)
    rule_set: Annotated[str, Field(max_length=200)] | None = None
    rule_set_version: Annotated[str, Field(max_length=200)] | None = None


ALERT_EXAMPLE: dict[str, Any] = {
    "shipment": {"shipment_id": "PW-2611-014", "description": "4-piperidone HCl 25 kg drums",
                 "hs_code": "2933.39", "shipper_name": "Hubei Example Chemical Co.",
                 "shipper_country": "CN", "consignee_name": "Quimica Ejemplo SA",
                 "consignee_country": "MX", "mode": "sea", "destination_port": "Manzanillo"},
    "screening": {"shipment_id": "PW-2611-014", "risk": 85, "level": "high", "chemicals": [],
                  "flags": [{"code": "HS_MISMATCH", "weight": 20,
                             "detail": "HS 2933.39 declared for a controlled precursor"}],
                  "parties": []},
    "reason": "Controlled precursor under a generic description; no notification received.",
    "share_with": ["MX", "US"],
}


class AlertIn(BaseModel):
    """A suspicious shipment shared with other authorities.

    Rules (422 naming the field when broken): `share_with` names registered authorities, each
    once, never the sender; `screening.shipment_id` is the shipment's `shipment_id`;
    `notification_id` and `incident_id` are records the sender is party to. `reference` is the
    sender's own stable key for the shipment (e.g. a hash of the manifest and the shipment
    id): sending again with the same reference returns the alert already sent (200) instead
    of a second one. Text follows the rules of a notification's."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [ALERT_EXAMPLE]})

    shipment: AlertShipment
    screening: Screening
    reason: LongText
    share_with: list[AuthorityCode] = Field(min_length=1, max_length=MAX_SHARES)
    notification_id: RecordId | None = None
    incident_id: RecordId | None = None
    reference: Reference | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AlertIn:
        if self.screening.shipment_id != self.shipment.shipment_id:
            raise ValueError(f"screening.shipment_id: {shown(self.screening.shipment_id)!r} "
                             f"is not the shipment's shipment_id "
                             f"{shown(self.shipment.shipment_id)!r}")
        return self


class OutcomeIn(BaseModel):
    """What a receiving authority found. `incident_id` (optional) is an incident it may read,
    e.g. the seizure it reported."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"outcome": "seized", "note": "400 kg seized at Manzanillo on 2026-11-25.",
         "incident_id": "7d3f2c1a-3f4d-4e6a-9b0c-1d2e3f4a5b6c"},
        {"outcome": "inspected_clear", "note": "Inspected: citric acid as declared."}]})

    outcome: OutcomeKind
    note: LongText
    incident_id: RecordId | None = None


# -- the signed and served forms, rebuilt from the row ----------------------------------------
def alert_document(row: Alert, *, sender: str, shared_with: Iterable[str]) -> dict[str, Any]:
    """The alert as signed by its sender."""
    return {"type": "alert", "id": row.id, "sender": sender, "shared_with": sorted(shared_with),
            "created_at": iso(row.created_at), "reference": row.reference,
            "notification_id": row.notification_id, "incident_id": row.incident_id,
            "body": row.body}


def outcome_document(row: AlertOutcome, *, authority: str) -> dict[str, Any]:
    """An outcome as signed by the answering authority."""
    return {"type": "alert_outcome", "id": row.id, "alert_id": row.alert_id,
            "authority": authority, "outcome": row.outcome, "note": row.note,
            "incident_id": row.incident_id, "created_at": iso(row.created_at)}


def render_alert(row: Alert, *, sender: str, shared_with: Iterable[str]) -> str:
    """An alert as served, without its outcomes (spliced in when read, `_served`)."""
    return to_json({"id": row.id, "sender": sender, "shared_with": sorted(shared_with),
                    "created_at": when(row.created_at), "reference": row.reference,
                    "notification_id": row.notification_id, "incident_id": row.incident_id,
                    **row.body, "signature": row.signature})


@dataclass(frozen=True)
class Answer:
    """A recipient of an alert and its answer (None while pending)."""

    authority_id: int
    outcome: str | None = None
    note: str | None = None
    incident_id: str | None = None
    at: dt.datetime | None = None
    signature: str | None = None


def overall_outcome(answers: Iterable[str | None]) -> str:
    """The alert's outcome from its recipients' answers (None: not answered yet)."""
    given = {a or "pending" for a in answers}
    return next((o for o in OUTCOME_ORDER if o in given), "pending")


def _served(rendered: str, answers: Sequence[Answer], codes: Mapping[int, str]) -> str:
    answered = sorted((a for a in answers if a.outcome is not None and a.at is not None),
                      key=lambda a: (a.at or dt.datetime.min, codes[a.authority_id]))
    tail = to_json({
        "outcome": overall_outcome(a.outcome for a in answers),
        "outcomes": [{"authority": codes[a.authority_id], "outcome": a.outcome,
                      "note": a.note, "incident_id": a.incident_id,
                      "at": when(a.at) if a.at else None, "signature": a.signature}
                     for a in answered],
        "pending": sorted(codes[a.authority_id] for a in answers if a.outcome is None)})
    return f"{rendered[:-1]},{tail[1:]}"


# -- visibility --------------------------------------------------------------------------------
_share = aliased(AlertShare)  # apart from the AlertShare rows of a query it filters
_SHARED_WITH_CALLER = exists().where(and_(_share.alert_id == Alert.id,
                                          _share.authority_id == CALLER))
ALERT_VISIBLE: ColumnElement[bool] = or_(Alert.sender_id == CALLER, _SHARED_WITH_CALLER)


def no_alert(alert_id: str) -> NotFound:
    return NotFound(f"no alert {alert_id} for this authority")


Direction = Literal["outgoing", "incoming"]
OutcomeFilter = Literal["pending", "seized", "inspected_clear", "not_found", "no_action"]
_OUTCOME = bindparam("outcome", type_=String())
_ANSWERED = exists().where(and_(AlertOutcome.alert_id == Alert.id,
                                AlertOutcome.outcome == _OUTCOME))
_UNANSWERED = exists().where(and_(
    AlertShare.alert_id == Alert.id,
    not_(exists().where(and_(AlertOutcome.alert_id == AlertShare.alert_id,
                             AlertOutcome.authority_id == AlertShare.authority_id)))))
_SERVED = select(Alert.id, Alert.rendered).where(ALERT_VISIBLE)
_ONE_SERVED = _SERVED.where(Alert.id == RECORD_ID)
_IDS = bindparam("ids", expanding=True, type_=String())
_ANSWERS = (select(AlertShare.alert_id, AlertShare.authority_id, AlertOutcome.outcome,
                   AlertOutcome.note, AlertOutcome.incident_id, AlertOutcome.created_at,
                   AlertOutcome.signature)
            .outerjoin(AlertOutcome, and_(AlertOutcome.alert_id == AlertShare.alert_id,
                                          AlertOutcome.authority_id == AlertShare.authority_id))
            .where(AlertShare.alert_id.in_(_IDS)))


@cache
def _page(direction: Direction | None, outcome: OutcomeFilter | None) -> Select[str, str]:
    query = _SERVED
    if direction == "outgoing":
        query = query.where(Alert.sender_id == CALLER)
    elif direction == "incoming":
        query = query.where(_SHARED_WITH_CALLER)
    if outcome == "pending":
        query = query.where(_UNANSWERED)
    elif outcome is not None:
        query = query.where(_ANSWERED)
    return (query.order_by(Alert.created_at.desc(), Alert.id)
            .limit(bindparam("limit", type_=Integer()))
            .offset(bindparam("offset", type_=Integer())))


def _answers(connection: Connection, ids: Sequence[str]) -> dict[str, list[Answer]]:
    out: dict[str, list[Answer]] = defaultdict(list)
    if ids:
        for alert_id, authority_id, outcome, note, incident_id, at, signature in (
                connection.execute(_ANSWERS, {"ids": list(ids)})):
            out[alert_id].append(Answer(authority_id, outcome, note, incident_id, at,
                                        signature))
    return out


def _read_served(ex: Exchange, statement: Select[str, str], params: dict[str, Any],
                 count: Count | None) -> list[str]:
    def work(connection: Connection) -> list[str]:
        rows = (count.rows(connection, statement, params) if count is not None
                else [tuple(r) for r in connection.execute(statement, params)])
        answers = _answers(connection, [r[0] for r in rows])
        codes = ex.codes()
        return [_served(r[1], answers[r[0]], codes) for r in rows]

    return ex.read(work)


def get_alert(ex: Exchange, caller: Caller, alert_id: str, count: Count | None = None) -> str:
    """The alert with its outcomes, as JSON text (`AlertOut`); 404 unless the caller sent it
    or it was shared with the caller."""
    found = _read_served(ex, _ONE_SERVED, {"caller_id": caller.id, "record_id": alert_id},
                         count)
    if not found:
        raise no_alert(alert_id)
    return found[0]


def list_alerts(ex: Exchange, caller: Caller, *, direction: Direction | None = None,
                outcome: OutcomeFilter | None = None, limit: int = 100, offset: int = 0,
                count: Count | None = None) -> list[str]:
    """A page of the alerts the caller sent (`outgoing`) or was sent (`incoming`), newest
    first. `outcome` keeps alerts some recipient answered so, or (`pending`) that some
    recipient has not answered yet."""
    params = {"caller_id": caller.id, "outcome": outcome, "limit": limit, "offset": offset}
    return _read_served(ex, _page(direction, outcome), params, count)


# -- writes ------------------------------------------------------------------------------------
_REFERENCED = (select(Alert.id, Alert.rendered)
               .where(Alert.sender_id == CALLER,
                      Alert.reference == bindparam("reference", type_=String())))
_NOTIFICATION_SEEN = select(Notification.id).where(Notification.id == RECORD_ID,
                                                   NOTIFICATION_VISIBLE)
_INCIDENT_SEEN = select(Incident.id).where(Incident.id == RECORD_ID, INCIDENT_VISIBLE)


def _seen(session: Session, statement: Select[Any], caller: Caller, record_id: str | None,
          field_name: str, what: str) -> None:
    """422 naming the field for a linked record the caller may not read, whether or not it
    exists (its existence is not disclosed)."""
    if record_id is not None and session.scalar(
            statement, {"caller_id": caller.id, "record_id": record_id}) is None:
        raise Invalid(f"{field_name}: no {what} {record_id} for this authority",
                      code=f"unknown_{what}")


@dataclass(frozen=True)
class Sent:
    """An alert as served; `receipt` is None when the reference found one sent before."""

    text: str
    receipt: audit.Receipt | None

    @property
    def created(self) -> bool:
        return self.receipt is not None


def _existing(session: Session, ex: Exchange, caller: Caller, reference: str) -> Sent | None:
    row = session.execute(_REFERENCED, {"caller_id": caller.id,
                                        "reference": reference}).first()
    if row is None:
        return None
    answers = _answers(session.connection(), [row[0]])
    return Sent(_served(row[1], answers[row[0]], ex.codes()), None)


def send_alert(ex: Exchange, caller: Caller, data: AlertIn) -> Sent:
    """Sign the alert with the caller's key, share it, log it in the caller's chain. With a
    `reference` already used by the caller, the alert sent then, unchanged."""
    with ex.writing() as session:
        chain = audit.lock_chain(session, caller.id)  # re-sends by one sender queue here
        me = chain.authority
        if data.reference is not None:
            sent = _existing(session, ex, caller, data.reference)
            if sent is not None:
                return sent
        known = dict(session.execute(select(Authority.code, Authority.id)).all())
        shared: dict[str, int] = {}
        for i, code in enumerate(data.share_with):
            where = f"share_with[{i}]"
            if code == me.code:
                raise Invalid(f"{where}: {code!r} is the sender; share with other "
                              "authorities", code="shared_with_sender")
            if code not in known:
                raise Invalid(f"{where}: {code!r} is not a registered authority "
                              "(see GET /v1/authorities)", code="unknown_authority")
            if code in shared:
                raise Invalid(f"{where}: {code!r} is named twice", code="duplicate_authority")
            shared[code] = known[code]
        _seen(session, _NOTIFICATION_SEEN, caller, data.notification_id, "notification_id",
              "notification")
        _seen(session, _INCIDENT_SEEN, caller, data.incident_id, "incident_id", "incident")
        now = ex.now()
        body = data.model_dump(mode="json", include={"shipment", "screening", "reason"},
                               exclude_none=True)
        row = Alert(id=str(uuid.uuid4()), sender_id=me.id, reference=data.reference,
                    notification_id=data.notification_id, incident_id=data.incident_id,
                    created_at=now, body=body, signature="", canon=JCS)
        doc = alert_document(row, sender=me.code, shared_with=shared)
        codes = {**ex.codes(), **{a: c for c, a in shared.items()}}
        written = write(
            ex.vault, session, chain, row, doc, actor=caller.person, action="alert.send",
            record_type="alert", at=now,
            render=lambda r: render_alert(r, sender=me.code, shared_with=shared),
            serve=lambda r: _served(r.rendered, [Answer(a) for a in shared.values()], codes))
        session.add_all(AlertShare(alert_id=row.id, authority_id=a) for a in shared.values())
        session.flush()
        return Sent(written.text, written.receipt)


def record_outcome(ex: Exchange, caller: Caller, alert_id: str, data: OutcomeIn) -> Written:
    """A receiving authority's answer: signed with its key, logged in its chain; final."""
    with ex.writing() as session:
        # Two answers by one authority queue on its chain lock: the second sees the first.
        chain = audit.lock_chain(session, caller.id)
        me = chain.authority
        row = session.execute(_ONE_SERVED, {"caller_id": caller.id,
                                            "record_id": alert_id}).first()
        if row is None:
            raise no_alert(alert_id)
        answers = _answers(session.connection(), [alert_id])[alert_id]
        mine = next((a for a in answers if a.authority_id == me.id), None)
        if mine is None:
            raise Forbidden("only an authority the alert was shared with can answer it",
                            code="not_receiving_authority")
        if mine.outcome is not None:
            raise Conflict(f"alert {alert_id} was already answered by {me.code} "
                           f"({mine.outcome}, {when(mine.at) if mine.at else ''}); an "
                           "outcome is final", code="outcome_given")
        _seen(session, _INCIDENT_SEEN, caller, data.incident_id, "incident_id", "incident")
        now = ex.now()
        outcome = AlertOutcome(id=str(uuid.uuid4()), alert_id=alert_id, authority_id=me.id,
                               outcome=data.outcome, note=data.note,
                               incident_id=data.incident_id, created_at=now, signature="",
                               canon=JCS)
        doc = outcome_document(outcome, authority=me.code)

        def served(o: AlertOutcome) -> str:
            now_answers = [Answer(a.authority_id, o.outcome, o.note, o.incident_id, now,
                                  o.signature) if a.authority_id == me.id else a
                           for a in answers]
            return _served(row[1], now_answers, ex.codes())

        # The row is flushed first: the unique (alert, authority) key refuses a second
        # answer there too.
        written = write(ex.vault, session, chain, outcome, doc, actor=caller.person,
                        action=f"alert.{data.outcome}", record_type="alert_outcome", at=now,
                        serve=served)
        session.flush()
        return written


# -- statistics of the red-flag rules ----------------------------------------------------------
@dataclass(frozen=True)
class AlertFacts:
    """What the statistics count of one alert: the rules that fired, the shipment's origin
    and destination countries ("" when not given), and each recipient's answer (None while
    pending)."""

    rules: tuple[str, ...]
    origin: str
    destination: str
    answers: tuple[str | None, ...]


@dataclass
class Tally:
    """Alerts counted by their outcome (`overall_outcome`)."""

    alerts: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_ORDER, 0))

    def add(self, outcome: str) -> None:
        self.alerts += 1
        self.outcomes[outcome] += 1

    @property
    def inspected(self) -> int:
        return sum(self.outcomes[o] for o in INSPECTED)

    @property
    def precision(self) -> float | None:
        """seized / inspected; None when none was inspected."""
        return self.outcomes["seized"] / self.inspected if self.inspected else None

    def to_dict(self) -> dict[str, Any]:
        return {"alerts": self.alerts, "outcomes": dict(self.outcomes),
                "inspected": self.inspected,
                "precision": None if self.precision is None else round(self.precision, 4)}


@dataclass
class RuleTally(Tally):
    by_origin: dict[str, Tally] = field(default_factory=dict)
    by_destination: dict[str, Tally] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def countries(tallies: dict[str, Tally]) -> list[dict[str, Any]]:
            return [{"country": c, **t.to_dict()} for c, t in
                    sorted(tallies.items(), key=lambda kv: (-kv[1].alerts, kv[0]))]

        return {**super().to_dict(), "by_origin": countries(self.by_origin),
                "by_destination": countries(self.by_destination)}


def aggregate_rules(alerts: Iterable[AlertFacts]) -> dict[str, RuleTally]:
    """Per red-flag rule code: the alerts it fired on, by outcome, overall and per origin and
    destination country. A rule that fired twice on one shipment counts the alert once."""
    tallies: dict[str, RuleTally] = {}
    for a in alerts:
        outcome = overall_outcome(a.answers)
        for rule in dict.fromkeys(a.rules):
            t = tallies.setdefault(rule, RuleTally())
            t.add(outcome)
            if a.origin:
                t.by_origin.setdefault(a.origin, Tally()).add(outcome)
            if a.destination:
                t.by_destination.setdefault(a.destination, Tally()).add(outcome)
    return tallies


def stats_report(alerts: Sequence[AlertFacts], since: dt.date | None) -> dict[str, Any]:
    """`RuleStatsOut`: the rules, most alerts first."""
    tallies = aggregate_rules(alerts)
    return {"since": since.isoformat() if since else None, "alerts": len(alerts),
            "definition": PRECISION_DEFINITION,
            "rules": [{"rule": code, **t.to_dict()} for code, t in
                      sorted(tallies.items(), key=lambda kv: (-kv[1].alerts, kv[0]))]}


def _country(value: Any) -> str:
    from precursorwatch.screen.countries import country_code

    if not isinstance(value, str) or not value.strip():
        return ""
    code = country_code(value)
    return code if len(code) == 2 and code.isalpha() else value.strip().upper()[:40]


_SINCE = bindparam("since", type_=UtcDateTime())
_FACTS = (select(Alert.id, Alert.body["screening"]["flags"],
                 Alert.body["shipment"]["shipper_country"].as_string(),
                 Alert.body["shipment"]["consignee_country"].as_string())
          .where(ALERT_VISIBLE, or_(_SINCE.is_(None), Alert.created_at >= _SINCE))
          .order_by(Alert.created_at, Alert.id))
_FACT_ANSWERS = (select(AlertShare.alert_id, AlertOutcome.outcome)
                 .join(Alert, Alert.id == AlertShare.alert_id)
                 .outerjoin(AlertOutcome,
                            and_(AlertOutcome.alert_id == AlertShare.alert_id,
                                 AlertOutcome.authority_id == AlertShare.authority_id))
                 .where(ALERT_VISIBLE, or_(_SINCE.is_(None), Alert.created_at >= _SINCE)))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def alert_facts(connection: Connection, caller_id: int, since: dt.date | None
                ) -> list[AlertFacts]:
    """The facts of every alert the authority sent or was sent since `since` (UTC)."""
    params = {"caller_id": caller_id, "since": None if since is None else
              dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)}
    answers: dict[str, list[str | None]] = defaultdict(list)
    for alert_id, outcome in connection.execute(_FACT_ANSWERS, params):
        answers[alert_id].append(outcome)
    out: list[AlertFacts] = []
    for alert_id, flags, origin, destination in connection.execute(_FACTS, params):
        codes = tuple(f["code"] for f in (_json(flags) or []) if isinstance(f, dict)
                      and isinstance(f.get("code"), str))
        out.append(AlertFacts(codes, _country(origin), _country(destination),
                              tuple(answers[alert_id])))
    return out


def rule_stats(ex: Exchange, caller: Caller, since: dt.date | None = None,
               count: Count | None = None) -> dict[str, Any]:
    """`RuleStatsOut` over the caller's alerts, sent and received."""
    def work(connection: Connection) -> list[AlertFacts]:
        if count is not None:
            count.rows(connection, select(Authority.id).where(Authority.id == CALLER),
                       {"caller_id": caller.id})
        return alert_facts(connection, caller.id, since)

    return stats_report(ex.read(work), since)


# -- the audit's view --------------------------------------------------------------------------
def stored_records(session: Session, alert_ids: Sequence[str], outcome_ids: Sequence[str],
                   codes: dict[int, str]) -> dict[audit.RecordKey, audit.StoredRecord]:
    """Alerts and outcomes as the audit sees them (`audit.stored_records`)."""
    found: dict[audit.RecordKey, audit.StoredRecord] = {}
    if alert_ids:
        shares: dict[str, list[str]] = defaultdict(list)
        for alert_id, authority_id in session.execute(
                select(AlertShare.alert_id, AlertShare.authority_id)
                .where(AlertShare.alert_id.in_(alert_ids))):
            shares[alert_id].append(codes.get(authority_id, "?"))
        for a in session.scalars(select(Alert).options(undefer_group("content"))
                                 .where(Alert.id.in_(alert_ids))):
            sender = codes.get(a.sender_id, "?")
            doc = alert_document(a, sender=sender, shared_with=shares[a.id])
            served = render_alert(a, sender=sender, shared_with=shares[a.id])
            found["alert", a.id] = audit.StoredRecord(doc, a.signature, a.rendered == served,
                                                      canon=a.canon)
    if outcome_ids:
        for o in session.scalars(select(AlertOutcome).where(AlertOutcome.id.in_(outcome_ids))):
            doc = outcome_document(o, authority=codes.get(o.authority_id, "?"))
            found["alert_outcome", o.id] = audit.StoredRecord(doc, o.signature, True,
                                                              canon=o.canon)
    return found


def authored(session: Session, authority_id: int) -> set[audit.RecordKey]:
    """Every alert and outcome the authority signed (each must be in its chain)."""
    keys: set[audit.RecordKey] = {("alert", i) for i in session.scalars(
        select(Alert.id).where(Alert.sender_id == authority_id))}
    keys.update(("alert_outcome", i) for i in session.scalars(
        select(AlertOutcome.id).where(AlertOutcome.authority_id == authority_id)))
    return keys

