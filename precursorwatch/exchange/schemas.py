"""The API's request and response models (Contract 3), strict: unknown fields and wrong types are
refused, never coerced. Examples here are what the OpenAPI page shows."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from precursorwatch.detect.verdict import Verdict

# Characters refused in text fields. Control characters (C0, DEL, C1) and invisible ones break
# or hide text; bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and kin) make a name
# display differently from what it says on other authorities' screens; zero-width spaces and
# word joiners hide inside a name to slip past the watchlist screening. ZWJ and ZWNJ stay
# allowed: scripts such as Persian and the Indic ones need them. Lone surrogates cannot be
# stored or signed as UTF-8. Free text may hold tabs and line breaks (CR LF and CR are
# stored as LF).
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b\u2028\u2029\u2060\ufeff"
_REFUSED_SHORT = re.compile(
    f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_INVISIBLE}\ud800-\udfff]")
_REFUSED_LONG = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_INVISIBLE}\ud800-\udfff]")
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"NUL ({code})"
    if 0xD800 <= ord(char) <= 0xDFFF:
        return f"a lone surrogate ({code}): it is not valid Unicode text"
    name = unicodedata.name(char, "")
    if _BIDI.match(char):
        return (f"the bidirectional control {code} {name}: it makes text display "
                "differently from what it says")
    if unicodedata.category(char) == "Cc":
        return f"the control character {code}" + (" (a line break)" if char in "\r\n" else "")
    return f"the invisible character {code} {name}"


def _checked(value: str, refused: re.Pattern[str]) -> str:
    found = refused.search(value)
    if found is not None:
        raise ValueError(f"must not contain {_describe(found.group())} at position "
                         f"{found.start()}")
    return value


def _short_text(value: str) -> str:
    return _checked(value, _REFUSED_SHORT)


def _long_text(value: str) -> str:
    return _checked(value.replace("\r\n", "\n").replace("\r", "\n"), _REFUSED_LONG)


def shown(text: str) -> str:
    """`text` safe to quote in an error message: each character refused in text fields
    written as its escape (`\\u202e`), so a quoted value cannot disguise the message."""
    return _REFUSED_SHORT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_DATE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    # Strict: a timestamp is refused, not cut to its date.
    if not isinstance(value, str) or not _DATE_FORM.match(value):
        raise ValueError("must be a date in YYYY-MM-DD form (no time)")
    return value


ShortText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_short_text)]
LongText = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_long_text)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(strict=False)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["CN"],
                                   description="ISO 3166-1 alpha-2 country code.")]
AuthorityCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_-]{1,15}$", examples=["MX"],
                                     description="An authority's code, as listed by "
                                                 "GET /v1/authorities.")]
Unit = Literal["kg", "g", "mg", "t", "l", "ml"]
# At least a thousandth of the unit; at most MAX_BASE_QUANTITY kg or l in whatever unit
# (checked with the unit, `quantity_problem`).
MIN_QUANTITY = 0.001
MAX_BASE_QUANTITY = 1e8  # 100,000 t
_TO_BASE: dict[str, float] = {"kg": 1, "g": 1e-3, "mg": 1e-6, "t": 1e3, "l": 1, "ml": 1e-3}
Quantity = Annotated[float, Field(
    ge=MIN_QUANTITY, le=1e9, allow_inf_nan=False, examples=[25],
    description="At least 0.001 of the unit, at most 100,000 t (1e8 kg or l) whatever the "
                "unit.")]


def quantity_problem(quantity: float | None, unit: str | None) -> str | None:
    if quantity is None or unit is None:
        return None
    if quantity * _TO_BASE[unit] > MAX_BASE_QUANTITY:
        return (f"quantity: {quantity:g} {unit} is more than any shipment carries (at most "
                f"{MAX_BASE_QUANTITY:g} kg or l, 100,000 t)")
    return None


# Dates are bounded relative to the service's today (UTC), so they are checked on receipt
# (`date_problems`), not here where there is no clock.
SHIPMENT_DAYS_BACK = 365
SHIPMENT_DAYS_AHEAD = 2 * 365
ARRIVAL_DAYS_AFTER_SHIPMENT = 365
EARLIEST_INCIDENT = dt.date(1990, 1, 1)  # the 1988 Convention's first year in force
INCIDENT_DAYS_AHEAD = 1  # reporters in time zones ahead of UTC


def date_problems(today: dt.date, *, planned_shipment_date: dt.date | None = None,
                  planned_arrival_date: dt.date | None = None,
                  incident_date: dt.date | None = None) -> list[str]:
    """What is wrong with the dates of a record received on `today`, each naming its field."""
    problems: list[str] = []
    if planned_shipment_date is not None:
        earliest = today - dt.timedelta(days=SHIPMENT_DAYS_BACK)
        latest = today + dt.timedelta(days=SHIPMENT_DAYS_AHEAD)
        if not earliest <= planned_shipment_date <= latest:
            problems.append(f"planned_shipment_date: {planned_shipment_date} is not between "
                            f"{earliest} and {latest} (a year before to two years after "
                            f"today, {today})")
        if planned_arrival_date is not None:
            last = planned_shipment_date + dt.timedelta(days=ARRIVAL_DAYS_AFTER_SHIPMENT)
            if planned_arrival_date > last:
                problems.append(f"planned_arrival_date: {planned_arrival_date} is more than "
                                f"a year after planned_shipment_date ({planned_shipment_date})")
    if incident_date is not None:
        latest = today + dt.timedelta(days=INCIDENT_DAYS_AHEAD)
        if not EARLIEST_INCIDENT <= incident_date <= latest:
            problems.append(f"incident_date: {incident_date} is not between "
                            f"{EARLIEST_INCIDENT} and today ({today})")
    return problems


STRICT = ConfigDict(extra="forbid", strict=True)


class Party(BaseModel):
    """A company or person named in a shipment (Art. 12(10)(a)(i): name and address)."""

    model_config = STRICT

    name: ShortText
    address: LongText
    country: CountryCode


NOTIFICATION_EXAMPLE: dict[str, Any] = {
    "substance": "4-piperidone hydrochloride monohydrate",
    "quantity": 25,
    "unit": "kg",
    "exporter": {"name": "Hubei Example Chemical Co.", "address": "12 Example Rd, Wuhan",
                 "country": "CN"},
    "importer": {"name": "Quimica Ejemplo SA de CV", "address": "Av. Ejemplo 1, Guadalajara",
                 "country": "MX"},
    "consignee": {"name": "Quimica Ejemplo SA de CV", "address": "Av. Ejemplo 1, Guadalajara",
                  "country": "MX"},
    "importing_authority": "MX",
    "transit_authorities": ["US"],
    "transit_countries": ["US"],
    "planned_shipment_date": "2026-12-01",
    "planned_arrival_date": "2026-12-20",
    "point_of_entry": "Manzanillo",
    "mode": "sea",
}


class NotificationIn(BaseModel):
    """A pre-export notification: the fields of Art. 12(10)(a) of the 1988 Convention (parties,
    substance, quantity, point of entry, date of dispatch) plus transit and planned dates.

    Rules between fields (422 naming the field when broken): `importing_authority` is not
    also in `transit_authorities`, which names each authority once; `planned_arrival_date`
    is not before `planned_shipment_date`; the importing and transit authorities are
    registered (GET /v1/authorities) and none is the sender; `quantity` is at most
    100,000 t in its `unit`; the dates lie in the ranges their fields give.

    Text (names, addresses, free text) must not hold control characters, bidirectional
    controls (U+202E and kin) or invisible characters (U+200B, U+2060, U+FEFF); free text may
    hold tabs and line breaks (CR LF is stored as LF)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [NOTIFICATION_EXAMPLE]})

    substance: ShortText = Field(description="Any identifier: CAS number, name, abbreviation, "
                                             "SMILES, InChI or InChIKey; checked on receipt.")
    quantity: Quantity
    unit: Unit
    exporter: Party
    importer: Party
    consignee: Party | None = None
    importing_authority: AuthorityCode
    transit_authorities: list[AuthorityCode] = Field(default_factory=list, max_length=20)
    transit_countries: list[CountryCode] = Field(default_factory=list, max_length=20)
    planned_shipment_date: IsoDate = Field(
        description="YYYY-MM-DD, from a year before to two years after today (UTC).")
    planned_arrival_date: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD, from planned_shipment_date to a year after it.")
    point_of_entry: ShortText
    mode: Literal["sea", "air", "courier", "post", "road", "rail"] | None = None
    exporter_reference: ShortText | None = None
    other_information: LongText | None = Field(
        default=None, description="Any other mutually agreed information (Art. 12(10)(a)(v)).")
    permit: Annotated[str, Field(min_length=1, max_length=4000),
                      AfterValidator(_short_text)] | None = Field(
        default=None, description="The importing authority's import permit for this shipment: "
        "its id on the exchange (readable by the notifying authority) or its compact form "
        "(`PWP1.…`). Checked on receipt; the result is stored as `permit_check`.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> NotificationIn:
        if (problem := quantity_problem(self.quantity, self.unit)) is not None:
            raise ValueError(problem)
        if (self.planned_arrival_date is not None
                and self.planned_arrival_date < self.planned_shipment_date):
            raise ValueError("planned_arrival_date is before planned_shipment_date")
        if self.importing_authority in self.transit_authorities:
            raise ValueError("importing_authority must not also be a transit authority")
        if len(set(self.transit_authorities)) != len(self.transit_authorities):
            raise ValueError("transit_authorities names an authority twice")
        return self


class ResponseIn(BaseModel):
    """The importing authority's answer. Rule between fields (422 when broken): an
    `objection` gives a `reason` that is not blank; `no_objection` may give one."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"decision": "objection", "reason": "Importer holds no licence for this substance."},
        {"decision": "no_objection"},
    ]})

    decision: Literal["no_objection", "objection"]
    reason: LongText | None = None

    @model_validator(mode="after")
    def _objection_has_reason(self) -> ResponseIn:
        if self.decision == "objection" and not (self.reason and self.reason.strip()):
            raise ValueError("an objection needs a reason")
        return self


Status = Literal["sent", "no_objection", "objection", "expired", "superseded"]


class ResponseOut(BaseModel):
    decision: Literal["no_objection", "objection"]
    reason: str | None
    by: str = Field(examples=["MX"])
    at: dt.datetime
    signature: str = Field(description="Ed25519 signature (base64) by the answering authority "
                                       "over the response's canonical JSON.")


class PartyHitOut(BaseModel):
    """A party of a notification or incident that matched a watchlist entry on receipt (as
    `pwatch screen` reports a shipment's parties)."""

    role: str = Field(description="The party's role in the record: exporter, importer, "
                      "consignee, or an incident party's role.")
    name: str
    list: str
    entry: str
    entry_id: str
    alias: str
    programme: str
    score: float
    detail: str


class NotificationOut(BaseModel):
    """A stored notification version with its chemistry verdict, status and signature."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b", "thread_id":
        "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b", "version": 1, "supersedes": None,
        "superseded_by": None, "status": "sent", "exporting_authority": "CN",
        "importing_authority": "MX", "transit_authorities": ["US"],
        "created_at": "2026-11-23T09:00:00Z", "reply_deadline": "2026-12-07T09:00:00Z",
        **{k: v for k, v in NOTIFICATION_EXAMPLE.items() if k not in ("importing_authority",
                                                                     "transit_authorities")},
        "verdict": {"input": "4-piperidone hydrochloride monohydrate", "resolved_by": "synonym",
                    "verdict": "controlled", "matches": []},
        "party_hits": [{
            "role": "importer", "name": "Shanghai Boyle Chemical Co Ltd", "list": "OFAC SDN",
            "entry": "BOYLE CHEMICAL CO., LTD.", "entry_id": "16907",
            "alias": "SHANGHAI BOYLE CHEMICAL CO., LTD.", "programme": "SDNTK", "score": 1.0,
            "detail": "name 'Shanghai Boyle Chemical Co Ltd' ~ 'SHANGHAI BOYLE CHEMICAL CO., "
                      "LTD.' (1.00); country agrees (CN)"}],
        "response": None, "signature": "base64…", "signed_by": "CN",
    }]})

    id: str
    thread_id: str
    version: int
    supersedes: str | None
    superseded_by: str | None
    status: Status
    exporting_authority: str
    importing_authority: str
    transit_authorities: list[str]
    created_at: dt.datetime
    reply_deadline: dt.datetime
    substance: str
    quantity: float
    unit: str
    exporter: Party
    importer: Party
    consignee: Party | None = None
    transit_countries: list[str] = Field(default_factory=list)
    planned_shipment_date: dt.date
    planned_arrival_date: dt.date | None = None
    point_of_entry: str
    mode: str | None = None
    exporter_reference: str | None = None
    other_information: str | None = None
    verdict: Verdict
    party_hits: list[PartyHitOut] = Field(
        default_factory=list, description="Watchlist hits of the exporter, importer and "
        "consignee on receipt; empty when none matched.")
    response: ResponseOut | None
    signature: str
    signed_by: str
    permit: str | None = Field(default=None, description="The permit the notification cites.")
    permit_check: dict[str, Any] | None = Field(
        default=None, description="The cited permit checked on receipt (signed with the "
        "record): `ok`, `cited_as` (id, compact, document), `permit_id`, `permit_number`, "
        "`issuer`, `checked_on` (the planned shipment date), `revoked` and `reasons` "
        "(`{code, message}`: bad_signature, expired, not_yet_valid, revoked, wrong_issuer, "
        "substance_mismatch, quantity_exceeded, unit_mismatch, exporter_country_mismatch, "
        "importer_country_mismatch, not_found, malformed, …); absent when none is cited.")


class NotificationPage(BaseModel):
    """One page of notifications, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": NotificationOut.model_config["json_schema_extra"]["examples"],  # type: ignore
        "limit": 100, "offset": 0}]})

    items: list[NotificationOut]
    limit: int
    offset: int


INCIDENT_EXAMPLE: dict[str, Any] = {
    "kind": "seizure",
    "substance": "1-boc-4-AP",
    "quantity": 400,
    "unit": "kg",
    "incident_date": "2026-11-02",
    "parties": [{"role": "consignee", "name": "Ejemplo Importaciones", "address":
                 "Calle 5, Culiacan", "country": "MX"}],
    "route": ["CN", "US", "MX"],
    "modus_operandi": "Declared as 'chemical reagent'; low-weight courier parcels",
    "notes": "Payment in cryptocurrency.",
    "shared_with": ["US"],
    "notification_ids": [],
}


class IncidentParty(Party):
    role: Literal["shipper", "consignee", "importer", "exporter", "broker", "carrier",
                  "notify_party", "other"]


class IncidentIn(BaseModel):
    """A stopped shipment, seizure or attempted diversion, shared with the authorities named in
    `shared_with` or with every authority when it is `"all"`.

    Rules between fields (422 naming the field when broken): `quantity` and `unit` are given
    together or not at all, the quantity at most 100,000 t in its unit; `shared_with` names
    registered authorities; `notification_ids` are notifications the reporter is party to.
    Text follows the rules of a notification's (no control, bidirectional or invisible
    characters)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [INCIDENT_EXAMPLE]})

    kind: Literal["seizure", "stopped_shipment", "attempted_diversion", "suspicious_order"]
    substance: ShortText
    quantity: Quantity | None = None
    unit: Unit | None = None
    incident_date: IsoDate = Field(
        description="YYYY-MM-DD, from 1990-01-01 to today (UTC; a day ahead is accepted for "
                    "time zones ahead of UTC).")
    parties: list[IncidentParty] = Field(default_factory=list, max_length=20)
    route: list[CountryCode] = Field(default_factory=list, max_length=20)
    modus_operandi: LongText | None = None
    notes: LongText | None = None
    shared_with: Literal["all"] | list[AuthorityCode] = Field(max_length=50)
    notification_ids: list[Annotated[str, Field(max_length=36)]] = Field(
        default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _quantity_has_unit(self) -> IncidentIn:
        if (self.quantity is None) != (self.unit is None):
            raise ValueError("quantity and unit go together")
        if (problem := quantity_problem(self.quantity, self.unit)) is not None:
            raise ValueError(problem)
        return self


class IncidentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7d3f…", "reporter": "US", "created_at": "2026-11-23T09:00:00Z", **INCIDENT_EXAMPLE,
        "verdict": {"input": "1-boc-4-AP", "resolved_by": "synonym", "verdict": "controlled",
                    "matches": []}, "signature": "base64…"}]})

    id: str
    reporter: str
    created_at: dt.datetime
    kind: str
    substance: str
    quantity: float | None = None
    unit: str | None = None
    incident_date: dt.date
    parties: list[IncidentParty]
    route: list[str]
    modus_operandi: str | None = None
    notes: str | None = None
    shared_with: Literal["all"] | list[str]
    notification_ids: list[str]
    verdict: Verdict
    party_hits: list[PartyHitOut] = Field(
        default_factory=list, description="Watchlist hits of the incident's parties on "
        "receipt; empty when none matched.")
    signature: str


class IncidentPage(BaseModel):
    """One page of incidents, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": IncidentOut.model_config["json_schema_extra"]["examples"],  # type: ignore
        "limit": 100, "offset": 0}]})

    items: list[IncidentOut]
    limit: int
    offset: int


class AuthorityOut(BaseModel):
    """An authority and its published Ed25519 public key (raw 32 bytes, base64)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "MX", "name": "COFEPRIS", "reply_days": 14,
        "public_key": "mC0uvGQ3Xq0k1m1uJd6m2cJ1r8Dq9Zq9Zq9Zq9Zq9Zo=",
        "key_id": "3f9a0c1d2e4b5a6f"}]})

    code: str
    name: str
    reply_days: int
    public_key: str
    key_id: str | None = Field(default=None, description="The key's id, which signed permits "
                               "name: the first 16 hex digits of the SHA-256 of the raw key.")


class SignedRecord(BaseModel):
    """A record exactly as its authority signed it, to verify it away from this server.

    The signature is Ed25519 (RFC 8032) over the UTF-8 bytes of `document` in the canonical
    form `canonicalization` names: `rfc8785`, the JSON Canonicalization Scheme of RFC 8785
    (every record written now), or `sorted-json` (records stored before it: object keys
    sorted by code point, no whitespace, non-ASCII characters unescaped, numbers as Python
    writes them). Check it with the `public_key` of `signed_by` from GET /v1/authorities;
    `document` is the signed content, and what a verified record says."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "notification", "id": "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b",
        "document": {"type": "notification", "id": "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b",
                     "exporting_authority": "CN", "importing_authority": "MX",
                     "body": NOTIFICATION_EXAMPLE, "verdict": {"verdict": "controlled"}},
        "canonicalization": "rfc8785", "signature": "base64…", "signed_by": "CN",
        "response": None}]})

    type: Literal["notification", "response", "incident"]
    id: str
    document: dict[str, Any]
    canonicalization: Literal["rfc8785", "sorted-json"]
    signature: str = Field(description="Ed25519 signature, base64 (standard alphabet, padded).")
    signed_by: str = Field(description="The code of the signing authority.")
    response: SignedRecord | None = Field(
        default=None, description="A notification's answer, signed by the importing "
                                  "authority; null while unanswered and for incidents.")


# -- checks and matches for integrators -----------------------------------------------------
MAX_BATCH = 1000  # identifiers or parties in one request
MAX_ITEM_CHARS = 1000  # characters in one identifier or party name

BatchText = Annotated[str, Field(min_length=1, max_length=MAX_ITEM_CHARS),
                      AfterValidator(_short_text)]
JurisdictionName = Annotated[str, Field(min_length=1, max_length=16, examples=["UN"]),
                             AfterValidator(_short_text)]

CHECK_EXAMPLE: dict[str, Any] = {
    "identifiers": ["1-boc-4-AP", "39742-60-4", "tert-butyl 4-oxopiperidine-1-carboxylate",
                    "sodium chloride"],
    "as_of": "2026-11-30", "jurisdictions": ["UN", "US", "MX"]}


class CheckIn(BaseModel):
    """Identifiers to check against the control lists, as `pwatch check` does.

    Bounds (422 naming the item): 1 to 1,000 identifiers, each 1 to 1,000 characters without
    control, bidirectional or invisible characters; `jurisdictions` among UN, US, CN, MX, EU,
    CA (any case); `as_of` a date from 1900-01-01 to 2199-12-31, default today (UTC)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [CHECK_EXAMPLE]})

    identifiers: list[BatchText] = Field(
        min_length=1, max_length=MAX_BATCH,
        description="CAS numbers, names, abbreviations, SMILES, InChI or InChIKeys.")
    as_of: IsoDate | None = Field(
        default=None, ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31),
        description="The lists as in force on this date (YYYY-MM-DD); default today (UTC).")
    jurisdictions: list[JurisdictionName] | None = Field(
        default=None, max_length=20,
        description="Only these jurisdictions' lists; default all.")


class CheckOut(BaseModel):
    """One Contract 1 verdict per identifier, in input order (what `pwatch check --format
    json` prints)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2026-11-30", "jurisdictions": ["MX", "UN", "US"],
        "results": [{"input": "1-boc-4-AP", "resolved_by": "synonym",
                     "name": "tert-butyl 4-(phenylamino)piperidine-1-carboxylate",
                     "smiles": "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1",
                     "inchikey": "HTIWISWAPVQGMI-UHFFFAOYSA-N", "cas": "125541-22-2",
                     "verdict": "controlled",
                     "matches": [{"substance": "tert-butyl 4-(phenylamino)piperidine-1-"
                                               "carboxylate", "jurisdiction": "UN",
                                  "list": "1988 Convention Table I", "category": "Table I",
                                  "since": "2022-11-23", "basis": "identity",
                                  "explanation": "… is listed in UN 1988 Convention Table I "
                                                 "since 2022-11-23 (CND decisions 65/4, 65/5 "
                                                 "and 65/6 …)",
                                  "legal_reference": "CND decisions 65/4, 65/5 and 65/6, 65th "
                                                     "session (14-18 March 2022)",
                                  "source": "https://www.incb.org/…"}]}]}]})

    as_of: dt.date
    jurisdictions: list[str] | None
    results: list[Verdict]


MATCH_EXAMPLE: dict[str, Any] = {
    "parties": [
        {"name": "Shanghai Boyle Chemical Co Ltd", "country": "CN",
         "address": "Room 520, No. 135 Dongfang Road, Pudong, Shanghai", "role": "exporter"},
        {"name": "Quimica Ejemplo SA de CV", "country": "MX", "role": "importer"}],
    "threshold": 0.8}


class MatchParty(BaseModel):
    model_config = STRICT

    name: BatchText
    country: Annotated[str, Field(min_length=1, max_length=100, examples=["CN"],
                                  description="ISO 3166-1 code or a country's name."),
                       AfterValidator(_short_text)] | None = None
    address: Annotated[str, Field(min_length=1, max_length=MAX_ITEM_CHARS),
                       AfterValidator(_long_text)] | None = None
    role: Annotated[str, Field(min_length=1, max_length=50, examples=["consignee"]),
                    AfterValidator(_short_text)] | None = None


class MatchIn(BaseModel):
    """Parties (companies or people) to screen against the exchange's watchlists, as the
    parties of every notification and incident are screened on receipt.

    Bounds (422 naming the item): 1 to 1,000 parties, each name 1 to 1,000 characters (an
    address as long); `country` an ISO 3166-1 code or a country's name; `threshold` from 0.5
    to 1.0, default the service's (0.8)."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [MATCH_EXAMPLE]})

    parties: list[MatchParty] = Field(min_length=1, max_length=MAX_BATCH)
    threshold: Annotated[float, Field(ge=0.5, le=1.0, allow_inf_nan=False, strict=False,
                                      examples=[0.8])] | None = None


class MatchFeatures(BaseModel):
    """How each part of the party compares with the entry, from 0 to 1; null where one side
    does not say (no country given, no city listed, no aliases)."""

    name: float = Field(description="The party's name against the entry's listed name.")
    alias: float | None = Field(description="The best of the entry's aliases (null: none).")
    country: float | None = Field(description="1 when the party's country is one of the "
                                  "entry's, 0 when it is not.")
    address: float | None = Field(description="1 when the party's address names a city of "
                                  "the entry's listed addresses, 0 when it names none.")


CountryCodes = list[str]  # named here: in MatchHit, `list` is a field


class MatchHit(BaseModel):
    list: str
    entry: str = Field(description="The listed (primary) name.")
    entry_id: str
    alias: str = Field(description="The listed name or alias that matched best.")
    kind: str = Field(examples=["entity"])
    programme: str
    countries: CountryCodes
    score: float = Field(description="The overall score the service screens with: the best "
                         "name or alias, lowered a little for a different country or kind.")
    features: MatchFeatures
    detail: str


class MatchResult(BaseModel):
    party: MatchParty
    hits: list[MatchHit] = Field(description="Best first, at most 10, each scoring at least "
                                 "the threshold; empty when none does.")


class MatchOut(BaseModel):
    """Per party, in input order, the watchlist entries it matches."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "threshold": 0.8, "watchlist_entries": 22,
        "results": [{"party": MATCH_EXAMPLE["parties"][0], "hits": [{
            "list": "OFAC SDN", "entry": "BOYLE CHEMICAL CO., LTD.", "entry_id": "16907",
            "alias": "SHANGHAI BOYLE CHEMICAL CO., LTD.", "kind": "entity",
            "programme": "SDNTK", "countries": ["CN"], "score": 1.0,
            "features": {"name": 0.83, "alias": 1.0, "country": 1.0, "address": 1.0},
            "detail": "name 'Shanghai Boyle Chemical Co Ltd' ~ 'SHANGHAI BOYLE CHEMICAL CO., "
                      "LTD.' (1.00); country agrees (CN); city agrees (Shanghai)"}]},
            {"party": MATCH_EXAMPLE["parties"][1], "hits": []}]}]})

    threshold: float
    watchlist_entries: int = Field(description="Entries on the watchlists screened against.")
    results: list[MatchResult]


class AuditProblem(BaseModel):
    seq: int | None
    record_type: str | None
    record_id: str | None
    problem: str


class AuditReport(BaseModel):
    """The result of re-checking an authority's hash chain and every record it covers."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"authority": "CN", "entries": 12, "ok": True, "problems": [],
         "head": "12:" + "3f" * 32},
        {"authority": "CN", "entries": 12, "ok": False, "head": "12:" + "3f" * 32,
         "problems": [{"seq": 3, "record_type": "notification", "record_id": "2f1c…",
                       "problem": "record content changed since it was logged"}]}]})

    authority: str
    entries: int
    ok: bool
    problems: list[AuditProblem]
    head: str | None = Field(None, description="The newest link, `SEQ:HASH`: a receipt to "
                             "check the chain against next time (null for an empty chain).")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no notification 2f1c… for this authority"])


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code": ..., "message": ...}}`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": {"code": "not_found", "message": "no notification 2f1c… for this authority"}}]})

    error: ErrorDetail
