"""The API's request and response models (Contract 3), strict: unknown fields and wrong types are
refused, never coerced. Examples here are what the OpenAPI page shows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from precursorwatch.detect.verdict import Verdict


def _printable(value: str) -> str:
    # NUL and lone surrogates cannot be stored by PostgreSQL or signed as UTF-8.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a date string in YYYY-MM-DD form")
    return value


ShortText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
LongText = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_printable)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(strict=False)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["CN"],
                                   description="ISO 3166-1 alpha-2 country code.")]
AuthorityCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_-]{1,15}$", examples=["MX"],
                                     description="An authority's code, as listed by "
                                                 "GET /v1/authorities.")]
Unit = Literal["kg", "g", "mg", "t", "l", "ml"]
Quantity = Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False, examples=[25])]

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
    registered (GET /v1/authorities) and none is the sender."""

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
    planned_shipment_date: IsoDate
    planned_arrival_date: IsoDate | None = None
    point_of_entry: ShortText
    mode: Literal["sea", "air", "courier", "post", "road", "rail"] | None = None
    exporter_reference: ShortText | None = None
    other_information: LongText | None = Field(
        default=None, description="Any other mutually agreed information (Art. 12(10)(a)(v)).")

    @model_validator(mode="after")
    def _dates_in_order(self) -> NotificationIn:
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
    together or not at all; `shared_with` names registered authorities; `notification_ids`
    are notifications the reporter is party to."""

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [INCIDENT_EXAMPLE]})

    kind: Literal["seizure", "stopped_shipment", "attempted_diversion", "suspicious_order"]
    substance: ShortText
    quantity: Quantity | None = None
    unit: Unit | None = None
    incident_date: IsoDate
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
        "public_key": "mC0uvGQ3Xq0k1m1uJd6m2cJ1r8Dq9Zq9Zq9Zq9Zq9Zo="}]})

    code: str
    name: str
    reply_days: int
    public_key: str


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
