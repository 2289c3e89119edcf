"""Import permits on the exchange: issue, read, revoke, verify, and check one a notification
cites. The permit's content, its compact form and every check live in `permits` (pure, also
used offline); here they meet the database, the signing keys and the audit chain.

Who reads a permit: its issuer, and the authority acting for the permitted exporter country
(`permits.authority_country`, bound as `caller_country`); anyone else gets 404. Anyone
authenticated may verify a permit they hold: the document carries itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, bindparam, or_, select
from sqlalchemy.orm import Session, undefer, undefer_group

from precursorwatch.exchange import audit, permits
from precursorwatch.exchange.errors import Conflict, Forbidden, Invalid, NotFound
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import Authority, Permit, PermitRevocation
from precursorwatch.exchange.records import iso, to_json, when
from precursorwatch.exchange.schemas import NotificationIn
from precursorwatch.exchange.scope import CALLER, RECORD_ID, Caller
from precursorwatch.exchange.service import Exchange
from precursorwatch.exchange.signed import Written, write
from precursorwatch.exchange.signing import JCS, content_hash

CALLER_COUNTRY = bindparam("caller_country", type_=String())
PERMIT_VISIBLE: ColumnElement[bool] = or_(Permit.issuer_id == CALLER,
                                          Permit.exporter_country == CALLER_COUNTRY)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def scope_params(caller: Caller) -> dict[str, Any]:
    """Binds `PERMIT_VISIBLE` to the caller: its id, and the country it acts for (None, which
    matches no permit, for an authority acting for none)."""
    return {"caller_id": caller.id, "caller_country": permits.authority_country(caller.code)}


def no_permit(permit_id: str) -> NotFound:
    return NotFound(f"no permit {permit_id} for this authority")


# -- the signed and served forms, rebuilt from the row ----------------------------------------
def permit_document(row: Permit, *, issuer: str) -> dict[str, Any]:
    """The permit as signed. The full verdict is stored beside it; its hash is signed."""
    return permits.permit_document(
        permit_id=row.id, issuer=issuer, signing_key_id=row.key_id, data=row.body,
        checked=permits.checked_substance(row.verdict, content_hash(row.verdict)),
        issued_at=when(row.created_at))


def _served_fields(row: Permit, doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": row.id, "permit": doc, "issuer": doc["issuer"], "key_id": row.key_id,
            "signature": row.signature, "verdict": row.verdict,
            "created_at": when(row.created_at)}


def render_permit(row: Permit, doc: dict[str, Any], compact: str) -> str:
    """A permit as served, without its revocation (spliced in when read)."""
    return to_json({**_served_fields(row, doc), "compact": compact})


def _served_as_signed(row: Permit, doc: dict[str, Any]) -> bool:
    """The stored served copy still says what the signed row says, and the columns readers
    are chosen by agree with the signed body. The compact form is compared by what it
    carries, not byte for byte (another zlib may pack the same bytes differently)."""
    try:
        served = json.loads(row.rendered)
        carried = permits.decode_compact(served.pop("compact"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    body = row.body
    return (served == json.loads(to_json(_served_fields(row, doc)))
            and carried.document == doc and carried.signature_b64() == row.signature
            and row.exporter_country == body.get("exporter_country")
            and row.valid_from.isoformat() == body.get("valid_from")
            and row.valid_until.isoformat() == body.get("valid_until"))


def revocation_document(row: PermitRevocation, *, authority: str) -> dict[str, Any]:
    return {"type": "permit_revocation", "id": row.id, "permit_id": row.permit_id,
            "authority": authority, "reason": row.reason, "created_at": iso(row.created_at)}


def _revocation_out(reason: str | None, at: dt.datetime | None, by: int | None,
                    signature: str | None, codes: dict[int, str]) -> dict[str, Any] | None:
    if reason is None or at is None or by is None:
        return None
    return {"reason": reason, "at": when(at), "by": codes[by], "signature": signature}


def _served(rendered: str, revocation: dict[str, Any] | None) -> str:
    tail = to_json({"revoked": revocation is not None, "revocation": revocation})
    return f"{rendered[:-1]},{tail[1:]}"


# -- issue, read, revoke -----------------------------------------------------------------------
def issue_permit(ex: Exchange, caller: Caller, data: permits.PermitIn) -> Written:
    """Check the substance, sign the permit with the caller's key, log it in the caller's
    chain; the permit as served, with its audit receipt."""
    problems = permits.issue_problems(data, issuer=caller.code, today=ex.now().date())
    if problems:
        raise Invalid("; ".join(problems))
    verdict = ex.check_substance(data.substance)
    if verdict["verdict"] == "unresolved":
        raise Invalid(f"substance: {data.substance!r} could not be identified "
                      f"({verdict.get('reason') or 'no match'}); give its CAS number, name, "
                      "SMILES or InChI", code="unidentified_substance")
    with ex.writing() as session:
        chain = audit.lock_chain(session, caller.id)
        me = chain.authority
        taken = session.scalar(select(Permit.id).where(
            Permit.issuer_id == me.id, Permit.permit_number == data.permit_number))
        if taken is not None:
            raise Conflict(f"permit_number: {me.code} already issued {data.permit_number!r} "
                           f"(permit {taken}); permit numbers are unique per issuer",
                           code="duplicate_permit_number")
        now = ex.now()
        row = Permit(id=str(uuid.uuid4()), issuer_id=me.id, permit_number=data.permit_number,
                     exporter_country=data.exporter_country, valid_from=data.valid_from,
                     valid_until=data.valid_until, created_at=now,
                     verdict_name=verdict["verdict"], body=data.model_dump(mode="json"),
                     verdict=verdict, key_id=permits.key_id(me.public_key), signature="",
                     canon=JCS)
        doc = permit_document(row, issuer=me.code)
        return write(ex.vault, session, chain, row, doc, actor=caller.person,
                     action="permit.issue", record_type="permit", at=now,
                     render=lambda r: render_permit(r, doc, permits.encode_compact(
                         doc, base64.b64decode(r.signature))),
                     serve=lambda r: _served(r.rendered, None))


_SERVED = (select(Permit.rendered, PermitRevocation.reason, PermitRevocation.created_at,
                  PermitRevocation.authority_id, PermitRevocation.signature)
           .outerjoin(PermitRevocation, PermitRevocation.permit_id == Permit.id)
           .where(PERMIT_VISIBLE))
_ONE_SERVED = _SERVED.where(Permit.id == RECORD_ID)


@cache
def _page(issued_only: bool, exporting_only: bool) -> Select[*tuple[Any, ...]]:
    query: Select[*tuple[Any, ...]] = _SERVED
    if issued_only:
        query = query.where(Permit.issuer_id == CALLER)
    if exporting_only:
        query = query.where(Permit.exporter_country == CALLER_COUNTRY)
    return (query.order_by(Permit.created_at.desc(), Permit.id)
            .limit(bindparam("limit", type_=Integer()))
            .offset(bindparam("offset", type_=Integer())))


def _served_row(row: Sequence[Any], codes: dict[int, str]) -> str:
    rendered, reason, at, by, signature = row
    return _served(rendered, _revocation_out(reason, at, by, signature, codes))


def list_permits(ex: Exchange, caller: Caller, *, role: str | None = None, limit: int = 100,
                 offset: int = 0, count: Count | None = None) -> list[str]:
    """A page of permits the caller issued or may read as the exporter country's authority,
    newest first, each as JSON text; `role` keeps those it `issued` or is `exporting` under."""
    params = {**scope_params(caller), "limit": limit, "offset": offset}
    rows = ex.rows(_page(role == "issued", role == "exporting"), params, count)
    codes = ex.codes()
    return [_served_row(row, codes) for row in rows]


def get_permit(ex: Exchange, caller: Caller, permit_id: str, count: Count | None = None) -> str:
    row = ex.one(_ONE_SERVED, {**scope_params(caller), "record_id": permit_id}, count,
                 lambda: no_permit(permit_id))
    return _served_row(row, ex.codes())


def revoke_permit(ex: Exchange, caller: Caller, permit_id: str, data: permits.RevokeIn
                  ) -> Written:
    """The issuer withdraws its permit, for good: signed and logged like the permit."""
    with ex.writing() as session:
        chain = audit.lock_chain(session, caller.id)
        me = chain.authority
        row = session.scalar(select(Permit).options(undefer(Permit.rendered))
                             .where(Permit.id == RECORD_ID, PERMIT_VISIBLE),
                             {**scope_params(caller), "record_id": permit_id})
        if row is None:
            raise no_permit(permit_id)
        if row.issuer_id != me.id:
            raise Forbidden("only the issuing authority can revoke this permit",
                            code="not_issuer")
        done = session.scalar(select(PermitRevocation.created_at)
                              .where(PermitRevocation.permit_id == row.id))
        if done is not None:
            raise Conflict(f"permit {permit_id} was revoked on {when(done)}; a revocation is "
                           "final", code="permit_revoked")
        now = ex.now()
        revocation = PermitRevocation(id=str(uuid.uuid4()), permit_id=row.id,
                                      authority_id=me.id, reason=data.reason, created_at=now,
                                      signature="", canon=JCS)
        doc = revocation_document(revocation, authority=me.code)
        written = write(ex.vault, session, chain, revocation, doc, actor=caller.person,
                        action="permit.revoke", record_type="permit_revocation", at=now,
                        serve=lambda r: _served(row.rendered, _revocation_out(
                            r.reason, now, me.id, r.signature, {me.id: me.code})))
        session.flush()
        return written


# -- verification ------------------------------------------------------------------------------
_KEYS = select(Authority.code, Authority.name, Authority.public_key)


def key_ring(ex: Exchange) -> permits.KeyRing:
    """Every authority's signing key as the exchange holds it (one each: the exchange does
    not rotate signing keys)."""
    rows = ex.read(lambda connection: list(connection.execute(_KEYS)))
    return permits.KeyRing.of(
        (permits.PublicKey(code, permits.key_id(key), key) for code, _, key in rows),
        {code: name for code, name, _ in rows})


_RECORD = (select(Permit.id, PermitRevocation.reason, PermitRevocation.created_at,
                  PermitRevocation.authority_id, PermitRevocation.signature)
           .join(Authority, Authority.id == Permit.issuer_id)
           .outerjoin(PermitRevocation, PermitRevocation.permit_id == Permit.id)
           .where(Permit.id == RECORD_ID, Authority.code == bindparam("issuer", type_=String()),
                  Permit.signature == bindparam("signature", type_=String())))
_READS = ("malformed", "bad_signature", "unknown_issuer", "unknown_key")


def _verify(ex: Exchange, signed: permits.SignedPermit, on: dt.date) -> permits.Verification:
    """Signature, dates, and what only the exchange knows: revocation, and that the permit
    was issued here, as presented."""
    found = permits.verify_permit(signed, key_ring(ex), on)
    if found.permit is None or any(r.code in _READS for r in found.reasons):
        return found  # nothing it says can be trusted, not even its id
    # Ed25519 signatures are deterministic: the permit stored here has this very signature.
    rows = ex.rows(_RECORD, {"record_id": str(found.permit.get("id")), "issuer": found.issuer,
                             "signature": signed.signature_b64()})
    revocation = None
    if rows:
        _, reason, at, by, signature = rows[0]
        revocation = _revocation_out(reason, at, by, signature, ex.codes())
    return permits.with_revocation(found, revocation, on_record=bool(rows))


def verify_presented(ex: Exchange, presented: dict[str, Any]) -> dict[str, Any]:
    """`VerificationOut` of a permit as its holder presents it (the signed JSON or
    `{"compact": ...}`), checked today (UTC)."""
    on = ex.now().date()
    try:
        signed = permits.from_json(presented)
    except permits.MalformedPermit as exc:
        return permits.malformed(str(exc), on).to_dict()
    return _verify(ex, signed, on).to_dict()


# -- a permit cited by a notification ----------------------------------------------------------
_CITED = select(Permit.rendered).where(Permit.id == RECORD_ID, PERMIT_VISIBLE)


def check_cited_permit(ex: Exchange, caller: Caller, data: NotificationIn,
                       verdict: dict[str, Any]) -> dict[str, Any]:
    """The `permit_check` of the permit a notification cites (`data.permit`: the permit's id,
    readable by the notifying authority, or its compact or JSON form): valid on the planned
    shipment date, not revoked, and covering this shipment."""
    cited = (data.permit or "").strip()
    on = data.planned_shipment_date
    shipment = permits.Shipment(
        importing_authority=data.importing_authority, exporter_country=data.exporter.country,
        importer_country=data.importer.country, quantity=data.quantity, unit=data.unit, on=on,
        inchikey=verdict.get("inchikey"), name=verdict.get("name"), cas=verdict.get("cas"))
    if _UUID.match(cited):
        rows = ex.rows(_CITED, {**scope_params(caller), "record_id": cited})
        if not rows:
            return permits.not_found_check(cited, on)
        signed = permits.from_json(json.loads(rows[0][0]))
        cited_as = "id"
    else:
        try:
            signed = permits.read_permit(cited)
        except permits.MalformedPermit as exc:
            return permits.permit_check(permits.malformed(str(exc), on), shipment,
                                        cited_as="document", permit_id=None)
        cited_as = "compact" if cited.startswith("PWP") else "document"
    return permits.permit_check(_verify(ex, signed, on), shipment, cited_as=cited_as,
                                permit_id=cited if cited_as == "id" else None)


# -- the audit's view --------------------------------------------------------------------------
def stored_records(session: Session, permit_ids: Sequence[str], revocation_ids: Sequence[str],
                   codes: dict[int, str]) -> dict[audit.RecordKey, audit.StoredRecord]:
    """Permits and revocations as the audit sees them (`audit.stored_records`)."""
    found: dict[audit.RecordKey, audit.StoredRecord] = {}
    if permit_ids:
        for p in session.scalars(select(Permit).options(undefer_group("content"))
                                 .where(Permit.id.in_(permit_ids))):
            doc = permit_document(p, issuer=codes.get(p.issuer_id, "?"))
            found["permit", p.id] = audit.StoredRecord(doc, p.signature,
                                                       _served_as_signed(p, doc), canon=p.canon)
    if revocation_ids:
        for r in session.scalars(select(PermitRevocation)
                                 .where(PermitRevocation.id.in_(revocation_ids))):
            doc = revocation_document(r, authority=codes.get(r.authority_id, "?"))
            found["permit_revocation", r.id] = audit.StoredRecord(doc, r.signature, True,
                                                                  canon=r.canon)
    return found


def authored(session: Session, authority_id: int) -> set[audit.RecordKey]:
    """Every permit and revocation the authority signed (each must be in its chain)."""
    keys: set[audit.RecordKey] = {("permit", i) for i in session.scalars(
        select(Permit.id).where(Permit.issuer_id == authority_id))}
    keys.update(("permit_revocation", i) for i in session.scalars(
        select(PermitRevocation.id).where(PermitRevocation.authority_id == authority_id)))
    return keys
