"""Authorities, their public signing keys, and the audit check."""

from __future__ import annotations

from fastapi import APIRouter

from precursorwatch.exchange import service
from precursorwatch.exchange.deps import COMMON_ERRORS, CallerDep, ExchangeDep
from precursorwatch.exchange.schemas import AuditProblem, AuditReport, AuthorityOut

router = APIRouter(prefix="/v1", responses=COMMON_ERRORS)


@router.get("/authorities", response_model=list[AuthorityOut], tags=["authorities"],
            summary="Authorities and their public keys")
def authorities(exchange: ExchangeDep, caller: CallerDep) -> list[AuthorityOut]:
    """Every registered authority with its Ed25519 public key, to verify any record's
    `signature` over its canonical JSON independently of this server."""
    return [AuthorityOut(code=a.code, name=a.name, reply_days=a.reply_days,
                         public_key=a.public_key) for a in service.public_authorities(exchange)]


@router.get("/audit/verify", response_model=AuditReport, tags=["audit"],
            summary="Check your audit chain")
def verify(exchange: ExchangeDep, caller: CallerDep) -> AuditReport:
    """Re-hashes every link of the caller's audit chain and every record it names, and checks
    their signatures; any change made behind the service's back is listed in `problems`."""
    report = service.verify_own_chain(exchange, caller)
    return AuditReport(authority=report.authority, entries=report.entries, ok=report.ok,
                       problems=[AuditProblem(seq=p.seq, record_type=p.record_type,
                                              record_id=p.record_id, problem=p.problem)
                                 for p in report.problems])
