"""Settings of the exchange service, from arguments or `PWATCH_EXCHANGE_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_URL = "sqlite:///pwatch-exchange.db"
DEFAULT_SECRET_FILE = "pwatch-exchange.secret"


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server deliveries are sent through (`PWATCH_SMTP_*`)."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str = "precursorwatch@localhost"
    starttls: bool = True

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """None when PWATCH_SMTP_HOST is unset."""
        host = os.environ.get("PWATCH_SMTP_HOST", "").strip()
        if not host:
            return None
        port = _env_int("PWATCH_SMTP_PORT", 587)
        if not 1 <= port <= 65535:
            raise ValueError(f"PWATCH_SMTP_PORT={port}: give 1-65535")
        return cls(host=host, port=port, user=os.environ.get("PWATCH_SMTP_USER") or None,
                   password=os.environ.get("PWATCH_SMTP_PASSWORD") or None,
                   sender=os.environ.get("PWATCH_SMTP_FROM") or "precursorwatch@localhost",
                   starttls=_env_flag("PWATCH_SMTP_STARTTLS", True))


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number") from exc


@dataclass(frozen=True)
class ExchangeSettings:
    """How the exchange runs.

    `secret` encrypts the authorities' private signing keys at rest (a Fernet key); when absent it
    is read from `secret_file`, which is created (mode 0600) on first use. Keep that file apart from
    the database: whoever has both can sign as any authority.
    """

    db_url: str = DEFAULT_DB_URL
    # PostgreSQL only: the schema holding the tables (search_path); None means the server default.
    db_schema: str | None = None
    secret: str | None = None
    secret_file: Path = field(default_factory=lambda: Path(DEFAULT_SECRET_FILE))
    max_body_bytes: int = 64 * 1024
    # A manifest uploaded to the web app's screening page (a form post, not an API record).
    max_upload_bytes: int = 20 * 1024 * 1024
    # Requests per API key per rate window; a burst above this gets 429 with Retry-After.
    rate_limit: int = 600
    rate_window_seconds: int = 60
    default_reply_days: int = 14
    max_page: int = 500
    # Watchlists the notified parties are screened against (paths as `pwatch screen
    # --watchlist` takes them); empty: the bundled OFAC SDNTK excerpt.
    watchlists: tuple[str, ...] = ()
    party_match: float = 0.80
    screen_parties: bool = True  # False: parties are not screened (party_hits is null)
    # Deliveries (`dispatch`): webhooks and e-mail telling authorities of their records. The
    # background dispatcher runs in `pwatch serve` (on by default there, off otherwise).
    deliver: bool = False
    deliver_interval: float = 30.0  # seconds between two scans of the outbox
    delivery_attempts: int = 10  # tries of one event before giving up
    public_url: str = "http://127.0.0.1:8000"  # where the links in deliveries point
    smtp: SmtpSettings | None = None  # None: e-mail subscriptions wait until it is set

    @classmethod
    def from_env(cls, **overrides: object) -> ExchangeSettings:
        values: dict[str, object] = {
            "db_url": os.environ.get("PWATCH_EXCHANGE_DB", DEFAULT_DB_URL),
            "db_schema": os.environ.get("PWATCH_EXCHANGE_DB_SCHEMA") or None,
            "secret": os.environ.get("PWATCH_EXCHANGE_SECRET") or None,
            "secret_file": Path(os.environ.get("PWATCH_EXCHANGE_SECRET_FILE", DEFAULT_SECRET_FILE)),
            "max_body_bytes": _env_int("PWATCH_EXCHANGE_MAX_BODY", 64 * 1024),
            "max_upload_bytes": _env_int("PWATCH_EXCHANGE_MAX_UPLOAD", 20 * 1024 * 1024),
            "rate_limit": _env_int("PWATCH_EXCHANGE_RATE_LIMIT", 600),
            "rate_window_seconds": _env_int("PWATCH_EXCHANGE_RATE_WINDOW", 60),
            "watchlists": tuple(p for p in os.environ.get("PWATCH_EXCHANGE_WATCHLIST", "")
                                .split(os.pathsep) if p.strip()),
            "screen_parties": os.environ.get("PWATCH_EXCHANGE_SCREEN_PARTIES", "1").strip()
            not in ("0", "false", "no", "off"),
            "deliver": _env_flag("PWATCH_DELIVER", False),  # `pwatch serve` turns it on
            "deliver_interval": _env_float("PWATCH_DELIVER_INTERVAL", 30.0),
            "delivery_attempts": _env_int("PWATCH_DELIVERY_ATTEMPTS", 10),
            "public_url": os.environ.get("PWATCH_PUBLIC_URL") or "http://127.0.0.1:8000",
            "smtp": SmtpSettings.from_env(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
