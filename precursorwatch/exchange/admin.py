"""Administration of the exchange: the functions behind `pwatch admin ...`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from precursorwatch.exchange.audit import ChainReport, Receipt, verify_all
from precursorwatch.exchange.db import make_engine, migrate, session_factory
from precursorwatch.exchange.errors import AdminError
from precursorwatch.exchange.models import Authority
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import KeyVault, hash_api_key, new_api_key

AUTHORITY_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    """An API key as shown once to the administrator."""

    code: str
    name: str
    api_key: str
    public_key: str


def open_database(settings: ExchangeSettings) -> Engine:
    """Engine for the configured database, migrated to the newest schema."""
    engine = make_engine(settings.db_url, schema=settings.db_schema)
    migrate(engine)
    return engine


def _authority(session: Session, code: str) -> Authority:
    found = session.scalar(select(Authority).where(Authority.code == code.strip().upper()))
    if found is None:
        raise AdminError(f"no authority with code {code!r}")
    return found


def add_authority(engine: Engine, vault: KeyVault, code: str, name: str, *,
                  reply_days: int = 14, now: dt.datetime | None = None) -> Issued:
    """Register an authority: a new API key (returned, only its hash kept) and a new Ed25519
    signing key pair (private half encrypted with the exchange secret)."""
    code = code.strip().upper()
    if not AUTHORITY_CODE.match(code):
        raise AdminError(f"CODE {code!r}: use 2-16 capital letters, digits, '-' or '_' starting "
                         "with a letter (e.g. MX, US-DEA)")
    name = name.strip()
    if not name or len(name) > 200:
        raise AdminError("NAME must be 1-200 characters")
    if not 1 <= reply_days <= 365:
        raise AdminError(f"--reply-days {reply_days}: give 1-365 days")
    key = new_api_key()
    public, private_enc = vault.new_signing_key()
    with session_factory(engine).begin() as session:
        if session.scalar(select(Authority.id).where(Authority.code == code)) is not None:
            raise AdminError(f"authority {code} exists already (use rotate-key for a new key)")
        session.add(Authority(code=code, name=name, reply_days=reply_days,
                              key_hash=hash_api_key(key), key_revoked_at=None,
                              public_key=public, private_key_enc=private_enc,
                              created_at=now or _now()))
    return Issued(code, name, key, public)


def rotate_key(engine: Engine, code: str) -> Issued:
    """A new API key for the authority; the old one stops working at once."""
    key = new_api_key()
    with session_factory(engine).begin() as session:
        authority = _authority(session, code)
        authority.key_hash = hash_api_key(key)
        authority.key_revoked_at = None
        return Issued(authority.code, authority.name, key, authority.public_key)


def revoke_key(engine: Engine, code: str, *, now: dt.datetime | None = None) -> None:
    """Withdraw the authority's API key; its records and signing key stay for verification."""
    with session_factory(engine).begin() as session:
        authority = _authority(session, code)
        authority.key_revoked_at = now or _now()


def verify_audit(engine: Engine, receipts: Mapping[str, Sequence[Receipt]] | None = None
                 ) -> list[ChainReport]:
    """Re-check every authority's audit chain and records, and each against the receipts
    given for it (by authority code)."""
    with session_factory(engine)() as session:
        try:
            return verify_all(session, receipts)
        except ValueError as exc:
            raise AdminError(str(exc)) from None
