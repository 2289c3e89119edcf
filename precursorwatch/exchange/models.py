"""Tables of the exchange (SQLAlchemy 2).

Signed records (notifications, responses, incidents) are never updated: a correction is a new
notification version, an answer is a response row, and a notification's status is derived from
its response and deadline when read. So every row keeps the exact content its signature covers,
and `canon` says in which canonical JSON form it was signed (`signing.JCS` or `signing.LEGACY`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from precursorwatch.exchange.signing import JCS


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Authority(Base):
    """A competent national authority (a tenant) with its API key hash and signing keys."""

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reply_days: Mapped[int] = mapped_column(Integer)
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519, base64
    private_key_enc: Mapped[str] = mapped_column(Text)  # Fernet token of the raw private key
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Notification(Base):
    """One version of a pre-export notification, signed by the exporting authority."""

    __tablename__ = "notification"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The first version's id: every correction of the same shipment shares it.
    thread_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("notification.id"), unique=True
    )
    # Indexed with the time (below): a page of one direction reads its newest rows only.
    exporter_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    importer_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reply_deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    verdict_name: Mapped[str] = mapped_column(String(16))
    # The content is loaded only where it is used (audit, corrections): reads serve `rendered`.
    body: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True, deferred_group="content")
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True,
                                                    deferred_group="content")
    # Watchlist hits of the exporter, importer and consignee on receipt (None: written
    # before the exchange screened parties).
    party_hits: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, deferred=True, deferred_group="content")
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)  # what the signature covers
    # The record as the API serves it (records.render_notification), rendered once on write.
    rendered: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="content")
    # What a read serves beside `rendered`, as the records that follow this version say it:
    # `status` is the answer's decision, `superseded` once corrected, else `sent` (whether
    # `sent` has expired is decided when read, from `reply_deadline`); `superseded_by` the
    # correction's id; `answer` the answer as served (JSON, `records.answer_json`). Set by the
    # write that adds the answer or the correction, in its transaction; the audit checks them
    # against those signed rows (`records.follow_up`).
    status: Mapped[str] = mapped_column(String(16), default="sent", server_default="sent")
    superseded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)

    # In the order pages read them (newest first, then by id): a page reads its own rows and
    # stops, with no sort of the authority's whole history, whatever the planner knows.
    __table_args__ = (UniqueConstraint("thread_id", "version"),
                      Index("ix_notification_created", created_at.desc(), id),
                      Index("ix_notification_exporter_created", exporter_id, created_at.desc(),
                            id),
                      Index("ix_notification_importer_created", importer_id, created_at.desc(),
                            id))


class NotificationTransit(Base):
    """Transit authorities of a notification: they may read it, never answer it."""

    __tablename__ = "notification_transit"

    notification_id: Mapped[str] = mapped_column(ForeignKey("notification.id"), primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), primary_key=True,
                                              index=True)


class NotificationResponse(Base):
    """The importing authority's answer, signed by it; at most one per notification version."""

    __tablename__ = "notification_response"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notification.id"), unique=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)


class Incident(Base):
    """A seizure, stopped shipment or attempted diversion, signed by the reporting authority."""

    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    shared_with_all: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    verdict_name: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True, deferred_group="content")
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True,
                                                    deferred_group="content")
    party_hits: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, deferred=True, deferred_group="content")
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)
    rendered: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="content")

    # In the order pages read them (see `Notification`).
    __table_args__ = (Index("ix_incident_created_at", created_at.desc(), id),)


class IncidentShare(Base):
    """An authority an incident was shared with by name."""

    __tablename__ = "incident_share"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incident.id"), primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), primary_key=True,
                                              index=True)


class IncidentNotification(Base):
    """A notification an incident is linked to: an index of the incident's signed
    `notification_ids`, so the incidents of a notification can be listed (the audit checks
    that it still agrees with the signed record)."""

    __tablename__ = "incident_notification"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incident.id"), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notification.id"),
                                                 primary_key=True, index=True)


class AuditEntry(Base):
    """One link of an authority's hash chain: who did what to which record, when, and the
    record's content hash at that moment."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # The authority's code for an API-key write, the person's e-mail for one made in the web app.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    record_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    # A fork of the chain (two writers appending after the same link) fails here.
    __table_args__ = (UniqueConstraint("authority_id", "seq"),)


class Person(Base):
    """Someone who signs in to the web app on behalf of an authority. Only a slow hash of the
    password is kept; `role` is `officer`, `approver` or `observer` (see `web.auth`)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # True for the one-time password `pwatch admin add-user` prints, until the person sets one.
    must_change_password: Mapped[bool] = mapped_column(Boolean)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database opens no session."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RateWindow(Base):
    """Requests counted for one API key in its current fixed window, shared by every worker
    and host that serves from the same PostgreSQL database (UNLOGGED there: counts are not
    worth a write to the WAL, and a crash only resets them)."""

    __tablename__ = "rate_window"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)  # Unix seconds
    hits: Mapped[int] = mapped_column(Integer)


class Permit(Base):
    """An import permit, signed by the importing country's authority (`permits`). Never
    updated: a revocation is a row of its own."""

    __tablename__ = "permit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    permit_number: Mapped[str] = mapped_column(String(64))
    # Who else may read it: the authority acting for this country (`permits.authority_country`).
    exporter_country: Mapped[str] = mapped_column(String(2), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date())
    valid_until: Mapped[dt.date] = mapped_column(Date())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    verdict_name: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True, deferred_group="content")
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True,
                                                    deferred_group="content")
    key_id: Mapped[str] = mapped_column(String(64))  # the issuer's signing key (`key_id`)
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)
    rendered: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="content")

    __table_args__ = (UniqueConstraint("issuer_id", "permit_number"),
                      Index("ix_permit_created_at", created_at.desc(), id))


class PermitRevocation(Base):
    """The issuer's withdrawal of a permit, signed by it; final, so at most one a permit."""

    __tablename__ = "permit_revocation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    permit_id: Mapped[str] = mapped_column(ForeignKey("permit.id"), unique=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)


class Alert(Base):
    """A suspicious shipment (manifest row and screening result) one authority shares with
    others, signed by the sender (`alerts`). Never updated: outcomes are rows of their own."""

    __tablename__ = "alert"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    # The sender's stable reference for the shipment (signed in `body` too): a re-send of the
    # same shipment finds the alert already written instead of writing a second one.
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    notification_id: Mapped[str | None] = mapped_column(ForeignKey("notification.id"),
                                                        nullable=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incident.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    body: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True, deferred_group="content")
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)
    rendered: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="content")

    __table_args__ = (UniqueConstraint("sender_id", "reference", name="uq_alert_sender_reference"),
                      Index("ix_alert_sender_created", sender_id, created_at.desc(), id),
                      Index("ix_alert_created_at", created_at.desc(), id))


class AlertShare(Base):
    """An authority an alert was shared with: it may read the alert and answer it once."""

    __tablename__ = "alert_share"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id"), primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), primary_key=True,
                                              index=True)


class AlertOutcome(Base):
    """What a receiving authority found when it acted on an alert, signed by it; final, so at
    most one per alert and authority."""

    __tablename__ = "alert_outcome"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id"))
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incident.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    signature: Mapped[str] = mapped_column(String(100))
    canon: Mapped[str] = mapped_column(String(16), default=JCS)

    __table_args__ = (UniqueConstraint("alert_id", "authority_id",
                                       name="uq_alert_outcome_authority"),)


class Subscription(Base):
    """Where an authority wants to be told of its records (`deliveries`): a webhook URL or an
    e-mail address, and which events. A webhook's HMAC secret is kept encrypted with the
    exchange secret, as signing keys are (it must be read back to sign)."""

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # webhook | email
    target: Mapped[str] = mapped_column(String(2000))  # the URL or the address
    events: Mapped[str] = mapped_column(String(400))  # event kinds, space-separated
    secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The dispatcher's last scan for it, and last full sweep of its history (`dispatch.scan`).
    scanned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    swept_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Delivery(Base):
    """One event for one subscription, found by the dispatcher's scan. The unique key makes
    each event exist once however many scans find it; the row is retried until delivered or
    given up (`state`). A dispatcher claims it (`claimed_by` until `claimed_until`) while it
    sends, so two dispatchers never send the same one."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"))
    event: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("subscription_id", "event", "record_id",
                                       name="uq_delivery_event"),
                      Index("ix_delivery_due", "state", "next_attempt_at"))


class DeliveryAttempt(Base):
    """One try at sending a delivery: the answer (HTTP status) or the error, and how long."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
