"""Deliveries: what an authority is told of, and how (pure; the I/O is in `dispatch`).

An event is a record an authority is party to, seen from its side: a notification it
imports or transits, an answer to one it sent, an incident shared with it, a permit it
relies on revoked, an alert sent to it or an outcome of one it sent. Each event is told to
each of the authority's subscriptions that asks for its kind, once: a webhook (a signed POST)
or an e-mail. The payload carries the record as the authority reads it through the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import urlsplit

Channel = Literal["webhook", "email"]
SIGNATURE_HEADER = "X-PWatch-Signature"
# How long before a reply deadline the importing authority is reminded.
DEADLINE_NOTICE = dt.timedelta(days=2)


@dataclass(frozen=True)
class EventKind:
    """A kind of event: its record type, whom it is told to (the docstring users read), and
    the subject line of its e-mail."""

    name: str
    record_type: Literal["notification", "incident", "permit", "alert"]
    told_to: str
    title: str


EVENTS: dict[str, EventKind] = {e.name: e for e in [
    EventKind("notification.received", "notification",
              "the importing and transit authorities of a notification (each version)",
              "Pre-export notification received"),
    EventKind("notification.deadline", "notification",
              "the importing authority, once, when an unanswered notification's reply "
              "deadline is two days away or less", "Reply deadline in two days"),
    EventKind("notification.answered", "notification",
              "the exporting authority, when the importing authority objects or does not",
              "Pre-export notification answered"),
    EventKind("incident.shared", "incident",
              "every authority an incident is shared with (by name or with all), not its "
              "reporter", "Incident shared with you"),
    EventKind("permit.revoked", "permit",
              "the authorities of the permit's exporter country, which rely on it",
              "Import permit revoked"),
    EventKind("alert.received", "alert", "every authority an alert is shared with",
              "Shipment alert received"),
    EventKind("alert.outcome", "alert",
              "the authority that sent an alert, when a receiving authority reports what it "
              "found", "Outcome of your shipment alert"),
]}


def parse_events(given: Iterable[str]) -> tuple[str, ...]:
    """Event kinds as given (`--events`, comma- or space-separated), each once in the order of
    `EVENTS`; none given means all. ValueError names the first unknown one."""
    names = [n.strip().lower() for g in given for n in re.split(r"[,\s]+", g) if n.strip()]
    for name in names:
        if name not in EVENTS:
            raise ValueError(f"event {name!r} is not one of: {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in names) if names else tuple(EVENTS)


def webhook_url(url: str) -> str:
    """The URL if a webhook can be posted to it (http or https, with a host); ValueError
    naming the value otherwise."""
    value = url.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"URL {url!r} cannot be read: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL {url!r}: only http:// and https:// webhooks can be delivered")
    if not parts.hostname:
        raise ValueError(f"URL {url!r} names no host")
    if len(value) > 2000 or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"URL {url!r}: too long, or has spaces or control characters")
    return value


_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$")


def email_address(address: str) -> str:
    value = address.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"ADDRESS {address!r} is not an e-mail address (name@example.org)")
    return value


def new_secret() -> str:
    """A webhook's signing key: 32 random bytes, hex (shown once, kept sealed)."""
    return secrets.token_hex(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-PWatch-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
    `<t>.<raw body>`. The time is signed too, so a receiver can refuse a replayed old
    delivery."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                   hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, now: int,
                     tolerance: int = 300) -> bool:
    """What a receiver checks: the MAC matches, and the time is within `tolerance` seconds."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter: the n-th failure waits `base * 2**(n-1)` seconds (at
    most `cap`), of which a random part (`jitter`) is dropped, so receivers coming back up are
    not hit by every dispatcher at once. After `attempts` tries the event is given up."""

    attempts: int = 10
    base: float = 60.0
    cap: float = 3600.0
    jitter: float = 0.5

    def delay(self, failures: int, draw: float) -> dt.timedelta:
        """The wait after the `failures`-th failed try; `draw` is uniform in [0, 1)."""
        full = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return dt.timedelta(seconds=full * (1 - self.jitter * draw))

    def longest(self, failures: int) -> dt.timedelta:
        """The most `delay` can be: a clock moved this far has reached the next try."""
        return self.delay(failures, 0.0)


def link(public_url: str, record_type: str, record_id: str) -> str:
    """The record's page in the web app."""
    return f"{public_url.rstrip('/')}/{record_type}s/{record_id}"


def payload(*, event: str, delivery_id: int, authority: str, record_id: str, served: str,
            page: str) -> bytes:
    """The webhook body: the event, the record id, the record's served JSON as the recipient
    reads it through the API, and the link to its page."""
    kind = EVENTS[event]
    return json.dumps({"event": event, "delivery_id": delivery_id, "authority": authority,
                       "record_type": kind.record_type, "record_id": record_id, "link": page,
                       "record": json.loads(served)},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def summary(record: Mapping[str, Any]) -> str:
    """A line naming the record for a person: what, how much, between whom."""
    bits = [str(record[k]) for k in ("substance",) if record.get(k)]
    quantity = record.get("quantity")
    if isinstance(quantity, int | float) and record.get("unit"):
        bits.append(f"{quantity:,g} {record['unit']}")
    route = [str(record[k]) for k in ("exporting_authority", "importing_authority", "reporter")
             if record.get(k)]
    if route:
        bits.append(" -> ".join(route))
    return ", ".join(bits)


def email(*, event: str, sender: str, to: str, record_id: str, served: str, page: str
          ) -> EmailMessage:
    """The e-mail of an event: a subject naming the event and record, the link, the record."""
    kind = EVENTS[event]
    record = json.loads(served)
    message = EmailMessage()
    message["Subject"] = f"Precursor Watch: {kind.title} ({kind.record_type} {record_id})"
    message["From"] = sender
    message["To"] = to
    described = summary(record)
    message.set_content(
        f"{kind.title}.\n\n"
        + (f"{described}\n\n" if described else "")
        + f"Open it: {page}\n\n"
        f"The {kind.record_type} as your authority reads it through the API:\n\n"
        + json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return message
