"""Authorities, their public signing keys, and the audit check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from precursorwatch.exchange import service
from precursorwatch.exchange.audit import Receipt
from precursorwatch.exchange.deps import COMMON_ERRORS, CallerDep, ExchangeDep
from precursorwatch.exchange.errors import Invalid
from precursorwatch.exchange.permits import key_id
from precursorwatch.exchange.schemas import AuditProblem, AuditReport, AuthorityOut

router = APIRouter(prefix="/v1", responses=COMMON_ERRORS)


@router.get("/authorities", response_model=list[AuthorityOut], tags=["authorities"],
            summary="Authorities and their public keys")
def authorities(exchange: ExchangeDep, caller: CallerDep) -> list[AuthorityOut]:
    """Every registered authority with its Ed25519 public key, to verify any record's
    `signature` over its canonical JSON independently of this server, and the key's id,
    which signed permits name. Saved as a file, this list is what `pwatch permit verify
    --keys` checks permits against offline."""
    return [AuthorityOut(code=a.code, name=a.name, reply_days=a.reply_days,
                         public_key=a.public_key, key_id=key_id(a.public_key))
            for a in service.public_authorities(exchange)]


@router.get("/audit/verify", response_model=AuditReport, tags=["audit"],
            summary="Check your audit chain")
def verify(exchange: ExchangeDep, caller: CallerDep,
           receipt: Annotated[list[str] | None, Query(
               description="Receipts you kept (`SEQ:HASH` from `Audit-Receipt` headers or an "
                           "earlier report's `head`): the chain must still hold those links as "
                           "they were.", examples=["12:" + "3f" * 32])] = None,
           ) -> AuditReport:
    """Re-hashes every link of the caller's audit chain and every record it names, and checks
    their signatures; any change made behind the service's back is listed in `problems`. With
    `receipt`, a chain cut back behind a receipt is listed too; keep `head` for next time."""
    try:
        receipts = [Receipt.parse(r) for r in receipt or ()]
    except ValueError as exc:
        raise Invalid(str(exc)) from None  # the message names the receipt
    report = service.verify_own_chain(exchange, caller, receipts)
    return AuditReport(authority=report.authority, entries=report.entries, ok=report.ok,
                       head=str(report.head) if report.head else None,
                       problems=[AuditProblem(seq=p.seq, record_type=p.record_type,
                                              record_id=p.record_id, problem=p.problem)
                                 for p in report.problems])
