"""How every signed record of the exchange is written: notifications and their answers,
incidents, alerts and their outcomes, permits and their revocations.

A record is signed with its author's key over its canonical JSON (`signing.JCS`), stored with
its signature and canonical form (and, for a record served as is, its rendering), and logged
in its author's audit chain in the same transaction. `write` does those steps in that order,
on either kind of transaction a write holds:

- a `db.Batch` with the chain head it locked (`audit.lock_head`): the insert and the audit
  link are queued, so on PostgreSQL they go with the COMMIT and a signed write stays two round
  trips (`Exchange.batch`);
- an ORM `Session` with the chain it locked (`audit.lock_chain`): the row is added and
  flushed (a unique key refuses a second answer there), the link appended (`audit.append`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import Insert, bindparam, insert
from sqlalchemy.orm import Session

from precursorwatch.exchange import audit
from precursorwatch.exchange.db import Batch
from precursorwatch.exchange.models import Base
from precursorwatch.exchange.signing import JCS, KeyVault


@dataclass(frozen=True)
class Written:
    """A signed record as served (JSON text) and the receipt of its audit link, which its
    author keeps to check the chain against later (`audit.Receipt`)."""

    text: str
    receipt: audit.Receipt


class SignedRow(Protocol):
    """What every signed record's row has: its id, signature and canonical form."""

    id: str
    signature: str
    canon: str


R = TypeVar("R", bound=SignedRow)


@dataclass(frozen=True)
class Inserting:
    """An INSERT of every column given, bound by column name, sent as a core statement: no
    unit of work, and on PostgreSQL queued with the rest of the write (`db.Batch`)."""

    statement: Insert
    columns: tuple[str, ...]

    def of(self, row: object) -> dict[str, Any]:
        return {c: getattr(row, c) for c in self.columns}

    def queue(self, batch: Batch, rows: list[dict[str, Any]]) -> None:
        batch.execute(self.statement, rows)


@cache
def inserting(model: type[Base]) -> Inserting:
    """The `Inserting` of a table, built once (statements a batch sends are compiled once,
    by identity: `db.driver_sql`)."""
    columns = tuple(c.key for c in model.__table__.columns)
    return Inserting(insert(model).values({c: bindparam(c) for c in columns}).inline(),
                     columns)


Chain = audit.Head | audit.Chain  # an author's chain, locked by the write


def _signer(chain: Chain) -> tuple[str, str]:
    """(authority code, encrypted signing key) of the chain's authority."""
    if isinstance(chain, audit.Head):
        return chain.code, chain.private_key_enc
    return chain.authority.code, chain.authority.private_key_enc


def write(vault: KeyVault, into: Batch | Session, chain: Chain, row: R,
          document: dict[str, Any], *, action: str, record_type: str, at: dt.datetime,
          actor: str | None, render: Callable[[R], str] | None = None,
          serve: Callable[[R], str] | None = None) -> Written:
    """Sign `document` (the signed form of `row`, `records`' or its kind's `*_document`) with
    the chain's authority's key, set the row's signature and canonical form, and with `render`
    its stored served copy (`row.rendered`, from the signed row); store the row and log it in
    the chain as `action` by `actor` at `at`. Returns what `serve` makes of the row (by
    default its rendering) with the link's receipt. Rows that refer to this one (transit
    authorities, shares) are queued by the caller after it."""
    _, key = _signer(chain)
    row.signature, record_hash = vault.sign_and_hash(key, document, JCS)
    row.canon = JCS
    if render is not None:
        row.rendered = render(row)  # type: ignore[attr-defined]
    link: Any
    if isinstance(into, Session):
        if not isinstance(chain, audit.Chain):
            raise TypeError("a write in a session appends to a chain it locked (lock_chain)")
        into.add(row)
        into.flush()
        link = audit.append(into, chain, actor=actor, action=action, record_type=record_type,
                            record_id=row.id, record_hash=record_hash, at=at)
    else:
        if not isinstance(chain, audit.Head):
            raise TypeError("a batched write links after the head it locked (lock_head)")
        new = inserting(type(row))
        new.queue(into, [new.of(row)])
        link = audit.add_link(into, chain, actor=actor, action=action, record_type=record_type,
                              record_id=row.id, record_hash=record_hash, at=at)
    text = serve(row) if serve is not None else row.rendered  # type: ignore[attr-defined]
    return Written(text, audit.receipt(link))


def signed_form(record_type: str, found: audit.StoredRecord, signer: str) -> dict[str, Any]:
    """A stored record as its author signed it (`SignedRecord`): the document, its canonical
    form and the signature, for verifying off this server."""
    return {"type": record_type, "id": found.document["id"], "document": found.document,
            "canonicalization": found.canon, "signature": found.signature, "signed_by": signer}
