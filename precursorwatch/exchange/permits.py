"""Import permits: the signed document, its compact (QR-sized) form, and the checks anyone can
run on it without the exchange.

Since 10 November 2025 China requires exports of listed fentanyl precursors to the US, Mexico
and Canada to carry a document from the importing country's authority. On the exchange that
authority issues an import permit signed with its Ed25519 key over the permit's RFC 8785
canonical JSON, the same rule as every record (`signing`). A customs officer or exporter
holding the permit, as JSON or as the compact text of a QR code, checks it here against a file
of authorities' public keys: no server and no database are needed. Only revocation needs the
exchange, which the holder cannot know offline.

Everything here is a pure function over typed values; the exchange stores and serves permits
in `permit_store`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from precursorwatch.exchange.schemas import (
    CountryCode,
    IsoDate,
    LongText,
    Quantity,
    ShortText,
    Unit,
    quantity_problem,
)
from precursorwatch.exchange.signing import canonical_json, verify_signature

COMPACT_PREFIX = "PWP1."  # Precursor Watch permit, format 1
MAX_COMPACT_CHARS = 4000  # a compact permit longer than this is no permit of ours
MAX_PAYLOAD_BYTES = 16_000  # inflated payload at most (a typical permit is about 800 bytes)
MAX_VALIDITY_DAYS = 3 * 366  # a permit is valid three years at most
MAX_START_AHEAD_DAYS = 366  # and starts within a year of its issue

_MASS = {"kg": 1.0, "g": 1e-3, "mg": 1e-6, "t": 1e3}
_VOLUME = {"l": 1.0, "ml": 1e-3}


# -- who may issue and read: authorities named by country ------------------------------------
def authority_country(code: str) -> str | None:
    """The country an authority acts for, read from its code: `MX` and `US-DEA` act for MX and
    US; a code that does not start with a two-letter country (`INCB`) acts for none."""
    match = re.fullmatch(r"([A-Z]{2})(?:[-_][A-Z0-9_-]*)?", code)
    return match[1] if match else None


def key_id(public_key_b64: str) -> str:
    """The id of an Ed25519 public key: the first 16 hex digits of the SHA-256 of its raw 32
    bytes. A permit names the key it was signed with, so a verifier picks the right one of an
    authority's current and past keys."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


# -- the request -------------------------------------------------------------------------------
class PermitImporter(BaseModel):
    """The company the permit allows to import."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: ShortText
    country: CountryCode
    address: LongText | None = None


class PermitExporter(BaseModel):
    """The exporter, where the permit names one."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: ShortText
    country: CountryCode | None = None
    address: LongText | None = None


PermitNumber = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./_:#-]*$",
               examples=["COFEPRIS-2026-000123"],
               description="The authority's own number for the permit: letters, digits, "
                           "spaces and . / _ : # -; unique per issuing authority.")]

PERMIT_EXAMPLE: dict[str, Any] = {
    "permit_number": "COFEPRIS-2026-000123",
    "substance": "4-piperidone hydrochloride monohydrate",
    "quantity": 25,
    "unit": "kg",
    "importer": {"name": "Quimica Ejemplo SA de CV", "country": "MX",
                 "address": "Av. Ejemplo 1, Guadalajara"},
    "exporter_country": "CN",
    "exporter": {"name": "Hubei Example Chemical Co.", "country": "CN",
                 "address": "12 Example Rd, Wuhan"},
    "valid_from": "2026-11-23",
    "valid_until": "2027-05-22",
}


class PermitIn(BaseModel):
    """An import permit issued by the importing country's authority.

    Rules between fields (422 naming the field when broken): `valid_until` is not before
    `valid_from`, at most three years after it, and not before today (UTC); `valid_from` is
    at most a year ahead; `importer.country` is the issuing authority's country and
    `exporter_country` another one; an `exporter.country`, when given, is `exporter_country`;
    `quantity` is at most 100,000 t in its `unit`; the substance can be identified."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [PERMIT_EXAMPLE]})

    permit_number: PermitNumber
    substance: ShortText = Field(description="Any identifier: CAS number, name, abbreviation, "
                                             "SMILES, InChI or InChIKey; checked on receipt.")
    quantity: Quantity
    unit: Unit
    importer: PermitImporter
    exporter_country: CountryCode
    exporter: PermitExporter | None = None
    valid_from: IsoDate = Field(description="YYYY-MM-DD, first day the permit is valid.")
    valid_until: IsoDate = Field(description="YYYY-MM-DD, last day the permit is valid.")

    @model_validator(mode="after")
    def _fields_agree(self) -> PermitIn:
        if (problem := quantity_problem(self.quantity, self.unit)) is not None:
            raise ValueError(problem)
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if (self.valid_until - self.valid_from).days > MAX_VALIDITY_DAYS:
            raise ValueError("valid_until is more than three years after valid_from")
        if self.exporter_country == self.importer.country:
            raise ValueError("exporter_country is the importer's country: an import permit "
                             "covers goods from another country")
        if self.exporter is not None and self.exporter.country not in (None,
                                                                       self.exporter_country):
            raise ValueError("exporter.country differs from exporter_country")
        return self


class RevokeIn(BaseModel):
    """Why the issuer withdraws the permit. Final: a revoked permit stays revoked."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"reason": "The importer's licence was suspended on 2026-12-03."}]})

    reason: LongText

    @model_validator(mode="after")
    def _reason_given(self) -> RevokeIn:
        if not self.reason.strip():
            raise ValueError("reason: say why the permit is revoked")
        return self


def issue_problems(data: PermitIn, *, issuer: str, today: dt.date) -> list[str]:
    """What forbids `issuer` to issue this permit on `today`, each naming its field."""
    problems: list[str] = []
    country = authority_country(issuer)
    if country is not None and data.importer.country != country:
        problems.append(f"importer.country: {data.importer.country} is not the country of "
                        f"the issuing authority {issuer} ({country}); a permit is issued by "
                        "the importing country's authority")
    if data.valid_until < today:
        problems.append(f"valid_until: {data.valid_until} is before today ({today})")
    if (data.valid_from - today).days > MAX_START_AHEAD_DAYS:
        problems.append(f"valid_from: {data.valid_from} is more than a year after today "
                        f"({today})")
    return problems


# -- the signed document -----------------------------------------------------------------------
def checked_substance(verdict: Mapping[str, Any], verdict_hash: str) -> dict[str, Any]:
    """What the exchange found the permitted substance to be, as it goes into the signed
    permit: the verdict, name, InChIKey and CAS number (null when unknown), and the SHA-256
    of the full stored verdict (its RFC 8785 form), which binds the evidence to the
    signature."""
    return {"verdict": verdict.get("verdict"), "name": verdict.get("name"),
            "inchikey": verdict.get("inchikey"), "cas": verdict.get("cas"),
            "verdict_sha256": verdict_hash}


def permit_document(*, permit_id: str, issuer: str, signing_key_id: str, data: Mapping[str, Any],
                    checked: Mapping[str, Any], issued_at: str) -> dict[str, Any]:
    """The permit as signed: `data` is the issuer's request as stored (`PermitIn` in JSON);
    an absent exporter is left out."""
    doc: dict[str, Any] = {
        "type": "permit", "id": permit_id, "issuer": issuer, "key_id": signing_key_id,
        "permit_number": data["permit_number"], "substance": data["substance"],
        "checked": dict(checked), "quantity": data["quantity"], "unit": data["unit"],
        "importer": data["importer"], "exporter_country": data["exporter_country"],
        "valid_from": data["valid_from"], "valid_until": data["valid_until"],
        "issued_at": issued_at,
    }
    if data.get("exporter") is not None:
        doc["exporter"] = data["exporter"]
    return doc


class PermitDocument(BaseModel):
    """A signed permit's content as a verifier reads it. Fields a later format adds are kept
    (the signature covers them) but not read."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["permit"]
    id: str = Field(min_length=1, max_length=64)
    issuer: str = Field(min_length=1, max_length=16)
    key_id: str = Field(min_length=1, max_length=64)
    permit_number: str
    substance: str
    checked: dict[str, Any]
    quantity: float = Field(strict=False, gt=0, allow_inf_nan=False)
    unit: str
    importer: dict[str, Any]
    exporter_country: str
    exporter: dict[str, Any] | None = None
    valid_from: dt.date = Field(strict=False)
    valid_until: dt.date = Field(strict=False)
    issued_at: str


# -- the forms a holder presents ---------------------------------------------------------------
class MalformedPermit(ValueError):
    """A permit that cannot be read; the message says what is wrong, in its holder's terms."""


@dataclass(frozen=True)
class SignedPermit:
    """The signed content and the signature over its canonical bytes (`payload`)."""

    document: dict[str, Any]
    signature: bytes
    payload: bytes  # the RFC 8785 bytes the signature covers

    @property
    def issuer(self) -> str:
        return str(self.document.get("issuer", ""))

    @property
    def key_id(self) -> str:
        return str(self.document.get("key_id", ""))

    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode("ascii")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise MalformedPermit(f"the compact permit's {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedPermit(f"the compact permit's {what} is not base64url: {exc}") from None


def encode_compact(document: Mapping[str, Any], signature: bytes) -> str:
    """`PWP1.` + base64url(zlib(RFC 8785 bytes of the permit)) + `.` + base64url(signature),
    without padding: about 700 characters for a typical permit, a QR code of version 21 at
    error correction level M. The signature is the permit's own (over the uncompressed
    canonical bytes), so both forms verify alike."""
    payload = canonical_json(dict(document))
    return (COMPACT_PREFIX + _b64url(zlib.compress(payload, 9)) + "."
            + _b64url(signature))


def decode_compact(text: str) -> SignedPermit:
    """The permit in a compact text (`encode_compact`); MalformedPermit says what is wrong."""
    text = "".join(text.split())  # a QR reader or an e-mail may break the line
    if not text.startswith(COMPACT_PREFIX):
        raise MalformedPermit(f"a compact permit starts with {COMPACT_PREFIX!r}; this starts "
                              f"with {text[:8]!r}")
    if len(text) > MAX_COMPACT_CHARS:
        raise MalformedPermit(f"the compact permit is {len(text)} characters; at most "
                              f"{MAX_COMPACT_CHARS}")
    parts = text[len(COMPACT_PREFIX):].split(".")
    if len(parts) != 2 or not all(parts):
        raise MalformedPermit("a compact permit has two parts after the prefix, the payload and "
                              "the signature, joined by '.' (is it cut short?)")
    packed, signature = _unb64url(parts[0], "payload"), _unb64url(parts[1], "signature")
    _signature_length(signature, "the compact permit's signature")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(packed, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        raise MalformedPermit(f"the compact permit's payload cannot be inflated ({exc}); is it "
                              "cut short?") from None
    if inflater.unconsumed_tail:
        raise MalformedPermit(f"the compact permit's payload is over {MAX_PAYLOAD_BYTES} bytes")
    if not inflater.eof:
        raise MalformedPermit("the compact permit's payload ends early: it was cut short")
    return SignedPermit(_json_object(payload, "the compact permit's payload"), signature,
                        payload)


def _signature_length(signature: bytes, what: str) -> None:
    if len(signature) != 64:
        raise MalformedPermit(f"{what} is {len(signature)} bytes; an Ed25519 signature is 64 "
                              "(is it cut short?)")


def _json_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPermit(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise MalformedPermit(f"{what} nests JSON too deeply") from None
    if not isinstance(value, dict):
        raise MalformedPermit(f"{what} is not a JSON object")
    return value


def from_json(value: Any) -> SignedPermit:
    """The permit in a JSON value: a signed permit as the exchange serves it (`permit`,
    `signature`, and `issuer` / `key_id` that must agree with the permit's), or an object
    whose only need is its `compact` form. Other members (`verdict`, `revocation`) are not
    signed and not read."""
    if not isinstance(value, dict):
        raise MalformedPermit("a permit is a JSON object with `permit` and `signature`, or "
                              "with `compact`")
    if "permit" not in value and isinstance(value.get("compact"), str):
        return decode_compact(value["compact"])
    document, signature = value.get("permit"), value.get("signature")
    if not isinstance(document, dict):
        raise MalformedPermit("`permit` is missing or not a JSON object")
    if not isinstance(signature, str):
        raise MalformedPermit("`signature` is missing or not text")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPermit("`signature` is not base64") from None
    _signature_length(raw, "`signature`")
    for name in ("issuer", "key_id"):
        if name in value and value[name] != document.get(name):
            raise MalformedPermit(f"`{name}` {value[name]!r} differs from the permit's "
                                  f"{document.get(name)!r}")
    try:
        payload = canonical_json(document)
    except ValueError as exc:
        raise MalformedPermit(f"`permit` cannot be put in canonical form: {exc}") from None
    except RecursionError:
        raise MalformedPermit("`permit` nests JSON too deeply") from None
    return SignedPermit(document, raw, payload)


def read_permit(text: str) -> SignedPermit:
    """A permit as a holder has it: compact text, or JSON (`from_json`)."""
    stripped = text.strip()
    if stripped.startswith("PWP"):
        return decode_compact(stripped)
    if not stripped.startswith("{"):
        raise MalformedPermit(f"neither a compact permit (it starts with {COMPACT_PREFIX!r}) "
                              "nor a JSON permit (it starts with '{')")
    return from_json(_json_object(stripped.encode("utf-8"), "the permit"))


# -- keys --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicKey:
    authority: str
    key_id: str
    public_key: str  # raw Ed25519, base64


@dataclass(frozen=True)
class KeyRing:
    """Authorities' public keys by code, current and past, each known by its key id."""

    keys: Mapping[str, Sequence[PublicKey]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)

    def knows(self, authority: str) -> bool:
        return authority in self.keys

    def find(self, authority: str, wanted: str) -> PublicKey | None:
        return next((k for k in self.keys.get(authority, ()) if k.key_id == wanted), None)

    @classmethod
    def of(cls, entries: Iterable[PublicKey], names: Mapping[str, str] | None = None
           ) -> KeyRing:
        keys: dict[str, list[PublicKey]] = {}
        for entry in entries:
            keys.setdefault(entry.authority, []).append(entry)
        return cls(keys, dict(names or {}))


def _public_key(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: `public_key` is missing or not text")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: `public_key` is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"{where}: `public_key` is {len(raw)} bytes; an Ed25519 key is 32")
    return value


def key_ring(authorities: Any) -> KeyRing:
    """The keys in a file as `GET /v1/authorities` returns it: a list of objects each with
    `code` and `public_key` (and `key_id`, which must be that key's id), optionally
    `previous_keys`, a list of `{"public_key", "key_id"?}` the authority signed with before.
    ValueError names the entry that is wrong."""
    if not isinstance(authorities, list):
        raise ValueError("expected a JSON list of authorities, as GET /v1/authorities returns")
    entries: list[PublicKey] = []
    names: dict[str, str] = {}
    for i, item in enumerate(authorities):
        where = f"entry {i + 1}"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise ValueError(f"{where}: expected an object with `code` and `public_key`")
        code = item["code"]
        where = f"entry {i + 1} ({code})"
        names[code] = str(item.get("name") or code)
        given = [item, *(item.get("previous_keys") or [])]
        for j, key in enumerate(given):
            at = where if j == 0 else f"{where} previous_keys[{j - 1}]"
            if not isinstance(key, dict):
                raise ValueError(f"{at}: expected an object with `public_key`")
            public = _public_key(key.get("public_key"), at)
            computed = key_id(public)
            if key.get("key_id") not in (None, computed):
                raise ValueError(f"{at}: `key_id` {key['key_id']!r} is not the id of its "
                                 f"public key ({computed})")
            entries.append(PublicKey(code, computed, public))
    return KeyRing.of(entries, names)


# -- verification ------------------------------------------------------------------------------
ReasonCode = Literal["malformed", "unknown_issuer", "unknown_key", "bad_signature",
                     "not_yet_valid", "expired", "revoked", "not_on_record"]


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Verification:
    """What a verifier can say of a permit: valid or not, and every reason why not."""

    valid: bool
    reasons: tuple[Reason, ...]
    issuer: str | None
    key_id: str | None
    permit: dict[str, Any] | None  # the signed content, when it could be read
    checked_on: dt.date
    revoked: bool | None = None  # None: not checked (offline)
    revocation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reasons": [r.to_dict() for r in self.reasons],
                "issuer": self.issuer, "key_id": self.key_id, "permit": self.permit,
                "checked_on": self.checked_on.isoformat(), "revoked": self.revoked,
                "revocation": self.revocation}


def malformed(problem: str, on: dt.date) -> Verification:
    return Verification(False, (Reason("malformed", problem),), None, None, None, on)


def _field_problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'permit'}: {e['msg']}"
                     for e in exc.errors()[:5])


def verify_permit(signed: SignedPermit, keys: KeyRing, on: dt.date) -> Verification:
    """Check a permit's signature with its issuer's key of the permit's key id, and its
    validity on `on`. Revocation is the exchange's to say (`with_revocation`)."""
    doc = signed.document
    issuer, kid = doc.get("issuer"), doc.get("key_id")
    shown_issuer = issuer if isinstance(issuer, str) else None
    shown_kid = kid if isinstance(kid, str) else None
    try:
        permit = PermitDocument.model_validate(doc)
    except ValidationError as exc:
        return Verification(False, (Reason("malformed", "the permit lacks or garbles a field: "
                                           + _field_problems(exc)),),
                            shown_issuer, shown_kid, doc, on)
    reasons: list[Reason] = []
    key = keys.find(permit.issuer, permit.key_id)
    if not keys.knows(permit.issuer):
        reasons.append(Reason("unknown_issuer", f"the issuer {permit.issuer!r} is not among the "
                              "authorities whose keys are known"))
    elif key is None:
        reasons.append(Reason("unknown_key", f"the issuer {permit.issuer} has no known key "
                              f"{permit.key_id!r}"))
    elif not verify_signature(key.public_key, signed.signature_b64(), doc):
        reasons.append(Reason("bad_signature", f"the signature does not verify with "
                              f"{permit.issuer}'s key {permit.key_id}: the permit was changed "
                              "after it was signed, or was not signed by that key"))
    if on < permit.valid_from:
        reasons.append(Reason("not_yet_valid", f"the permit is valid from {permit.valid_from}; "
                              f"checked on {on}"))
    if on > permit.valid_until:
        reasons.append(Reason("expired", f"the permit expired after {permit.valid_until}; "
                              f"checked on {on}"))
    return Verification(not reasons, tuple(reasons), permit.issuer, permit.key_id, doc, on)


def with_revocation(found: Verification, revocation: Mapping[str, Any] | None, *,
                    on_record: bool) -> Verification:
    """The verification completed with what the exchange knows: whether the permit's issuer
    revoked it, and whether it was issued on this exchange at all."""
    reasons = list(found.reasons)
    if revocation is not None:
        reasons.append(Reason("revoked", f"revoked by {revocation.get('by')} on "
                              f"{revocation.get('at')}: {revocation.get('reason')}"))
    elif not on_record and found.permit is not None and not any(
            r.code in ("malformed", "bad_signature", "unknown_issuer", "unknown_key")
            for r in reasons):
        reasons.append(Reason("not_on_record", "no permit with this id was issued on this "
                              "exchange"))
    return Verification(not reasons, tuple(reasons), found.issuer, found.key_id, found.permit,
                        found.checked_on, revoked=revocation is not None,
                        revocation=dict(revocation) if revocation is not None else None)


# -- a permit cited by a notification ----------------------------------------------------------
@dataclass(frozen=True)
class Shipment:
    """What a notification says that a permit must cover."""

    importing_authority: str
    exporter_country: str
    importer_country: str
    quantity: float
    unit: str
    on: dt.date  # the planned shipment date
    inchikey: str | None
    name: str | None
    cas: str | None


def in_unit(quantity: float, unit: str, target: str) -> float | None:
    """`quantity` of `unit` in `target`, or None when one is a mass and the other a volume."""
    for table in (_MASS, _VOLUME):
        if unit in table and target in table:
            return quantity * table[unit] / table[target]
    return None


def _same_substance(checked: Mapping[str, Any], shipment: Shipment) -> bool:
    if checked.get("inchikey") and shipment.inchikey:
        return bool(checked["inchikey"] == shipment.inchikey)
    if checked.get("cas") and shipment.cas:
        return bool(checked["cas"] == shipment.cas)
    return bool(checked.get("name")) and checked.get("name") == shipment.name


def shipment_problems(permit: Mapping[str, Any], shipment: Shipment) -> list[Reason]:
    """Where a verified permit does not cover the notified shipment: another issuer than the
    importing authority, another exporter or importer country, another substance, more than
    the permitted quantity (compared in the permit's unit), or a unit that cannot be
    compared."""
    reasons: list[Reason] = []
    if permit.get("issuer") != shipment.importing_authority:
        reasons.append(Reason("wrong_issuer", f"the permit was issued by {permit.get('issuer')}, "
                              f"not by the importing authority {shipment.importing_authority}"))
    if permit.get("exporter_country") != shipment.exporter_country:
        reasons.append(Reason("exporter_country_mismatch", "the permit covers exports from "
                              f"{permit.get('exporter_country')}, the exporter is in "
                              f"{shipment.exporter_country}"))
    importer = permit.get("importer") or {}
    if importer.get("country") != shipment.importer_country:
        reasons.append(Reason("importer_country_mismatch", "the permit's importer is in "
                              f"{importer.get('country')}, the notified importer in "
                              f"{shipment.importer_country}"))
    checked = permit.get("checked") or {}
    if not _same_substance(checked, shipment):
        reasons.append(Reason("substance_mismatch", "the permit is for "
                              f"{checked.get('name') or permit.get('substance')} "
                              f"({checked.get('inchikey') or 'no structure'}), the notification "
                              f"for {shipment.name or 'an unnamed substance'} "
                              f"({shipment.inchikey or 'no structure'})"))
    permitted, unit = float(permit.get("quantity") or 0), str(permit.get("unit"))
    notified = in_unit(shipment.quantity, shipment.unit, unit)
    if notified is None:
        reasons.append(Reason("unit_mismatch", f"the permit counts in {unit}, the notification "
                              f"in {shipment.unit}: a mass and a volume cannot be compared"))
    elif notified > permitted * (1 + 1e-9):
        reasons.append(Reason("quantity_exceeded", f"{shipment.quantity:g} {shipment.unit} is "
                              f"more than the permitted {permitted:g} {unit}"))
    return reasons


def permit_check(verification: Verification, shipment: Shipment, *, cited_as: str,
                 permit_id: str | None) -> dict[str, Any]:
    """The `permit_check` a notification stores: whether the cited permit is valid on the
    planned shipment date and covers the shipment, with every reason it does not."""
    reasons = list(verification.reasons)
    if verification.permit is not None and not any(r.code == "malformed" for r in reasons):
        reasons.extend(shipment_problems(verification.permit, shipment))
    permit = verification.permit or {}
    return {"ok": not reasons, "cited_as": cited_as,
            "permit_id": permit.get("id", permit_id), "permit_number": permit.get("permit_number"),
            "issuer": verification.issuer, "checked_on": shipment.on.isoformat(),
            "revoked": verification.revoked, "reasons": [r.to_dict() for r in reasons]}


def not_found_check(permit_id: str, on: dt.date) -> dict[str, Any]:
    """The `permit_check` of a cited permit id the exporting authority may not read."""
    return {"ok": False, "cited_as": "id", "permit_id": permit_id, "permit_number": None,
            "issuer": None, "checked_on": on.isoformat(), "revoked": None,
            "reasons": [Reason("not_found", f"no permit {permit_id} for this authority (a "
                               "permit is readable by its issuer and its exporter country's "
                               "authority); cite its compact form instead").to_dict()]}
