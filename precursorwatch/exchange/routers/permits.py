"""Import permits: issue, list, read, verify, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from precursorwatch.detect.verdict import Verdict
from precursorwatch.exchange import permit_store
from precursorwatch.exchange.deps import (
    COMMON_ERRORS,
    NOT_FOUND,
    UUID_PATTERN,
    AuthDep,
    CallerDep,
    ExchangeDep,
    error_doc,
    receipt_header,
    served,
    served_page,
    written,
)
from precursorwatch.exchange.permits import PERMIT_EXAMPLE, PermitIn, RevokeIn

router = APIRouter(prefix="/v1/permits", tags=["permits"], responses=COMMON_ERRORS)

_DOC_EXAMPLE: dict[str, Any] = {
    "type": "permit", "id": "5b8e2c1a-3f4d-4e6a-9b0c-1d2e3f4a5b6c", "issuer": "MX",
    "key_id": "3f9a0c1d2e4b5a6f", **{k: v for k, v in PERMIT_EXAMPLE.items()},
    "checked": {"verdict": "controlled", "name": "4-piperidone",
                "inchikey": "VRJHQPZVIGNGMX-UHFFFAOYSA-N", "cas": "41661-47-6",
                "verdict_sha256": "9c1f" + "0" * 60},
    "issued_at": "2026-11-23T09:00:00Z"}
_COMPACT_EXAMPLE = "PWP1.eNp1kMtOwzAQRX9l5HVb2Xk0bXcIUAUSQhQhFr... .Qk9fX2...w"


class RevocationOut(BaseModel):
    reason: str
    at: str = Field(examples=["2026-12-03T10:00:00Z"])
    by: str = Field(examples=["MX"])
    signature: str = Field(description="Ed25519 signature (base64) by the issuer over the "
                           "revocation's canonical JSON.")


class PermitOut(BaseModel):
    """A signed import permit. `permit`, `signature` (and `issuer`, `key_id`, which repeat
    the permit's) are what a holder keeps and anyone verifies; `compact` is the same permit
    and signature as one QR-sized line (docs/permits.md). `verdict` is the substance check
    on issue, bound to the signature by `permit.checked.verdict_sha256`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _DOC_EXAMPLE["id"], "permit": _DOC_EXAMPLE, "issuer": "MX",
        "key_id": "3f9a0c1d2e4b5a6f", "signature": "base64…", "compact": _COMPACT_EXAMPLE,
        "verdict": {"input": "4-piperidone hydrochloride monohydrate",
                    "resolved_by": "synonym", "verdict": "controlled", "matches": []},
        "created_at": "2026-11-23T09:00:00Z", "revoked": False, "revocation": None}]})

    id: str
    permit: dict[str, Any]
    issuer: str
    key_id: str
    signature: str = Field(description="Ed25519 signature, base64, over the RFC 8785 form of "
                           "`permit`.")
    compact: str = Field(description="`PWP1.` + base64url(zlib(RFC 8785 bytes of `permit`)) "
                         "+ `.` + base64url(signature).")
    verdict: Verdict
    created_at: str
    revoked: bool
    revocation: RevocationOut | None


class PermitPage(BaseModel):
    """One page of permits, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": PermitOut.model_config["json_schema_extra"]["examples"],  # type: ignore
        "limit": 100, "offset": 0}]})

    items: list[PermitOut]
    limit: int
    offset: int


class PresentedPermit(BaseModel):
    """A permit as its holder has it: the signed JSON (`permit` and `signature`, as served;
    `issuer` and `key_id`, when given, must agree with the permit's) or only its `compact`
    form. Other members of a served permit (`verdict`, `revocation`, …) are ignored: only
    the signed part counts."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"compact": _COMPACT_EXAMPLE},
        {"permit": _DOC_EXAMPLE, "issuer": "MX", "key_id": "3f9a0c1d2e4b5a6f",
         "signature": "base64…"}]})

    permit: dict[str, Any] | None = None
    signature: str | None = None
    issuer: str | None = None
    key_id: str | None = None
    compact: Annotated[str, Field(max_length=8000)] | None = None


class ReasonOut(BaseModel):
    code: str = Field(examples=["expired"], description="malformed, unknown_issuer, "
                      "unknown_key, bad_signature, not_yet_valid, expired, revoked or "
                      "not_on_record.")
    message: str = Field(examples=["the permit expired after 2027-05-22; checked on "
                                   "2027-06-01"])


class VerificationOut(BaseModel):
    """Whether a permit is valid today (UTC), and every reason it is not. `revoked` is null
    when the permit could not be trusted enough to look it up (malformed, forged, unknown
    key)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"valid": True, "reasons": [], "issuer": "MX", "key_id": "3f9a0c1d2e4b5a6f",
         "permit": _DOC_EXAMPLE, "checked_on": "2026-11-30", "revoked": False,
         "revocation": None},
        {"valid": False, "reasons": [{"code": "bad_signature", "message": "the signature does "
                                      "not verify with MX's key 3f9a0c1d2e4b5a6f: the permit "
                                      "was changed after it was signed, or was not signed by "
                                      "that key"}],
         "issuer": "MX", "key_id": "3f9a0c1d2e4b5a6f", "permit": _DOC_EXAMPLE,
         "checked_on": "2026-11-30", "revoked": None, "revocation": None}]})

    valid: bool
    reasons: list[ReasonOut]
    issuer: str | None
    key_id: str | None
    permit: dict[str, Any] | None = Field(description="The signed content as presented "
                                          "(trust it only when `valid`).")
    checked_on: str
    revoked: bool | None
    revocation: RevocationOut | None


PermitId = Annotated[str, Path(pattern=UUID_PATTERN,
                               examples=["5b8e2c1a-3f4d-4e6a-9b0c-1d2e3f4a5b6c"],
                               description="The permit's id (a UUID).")]


@router.post("", status_code=201, response_model=PermitOut,
             summary="Issue an import permit (importing authority)",
             responses={**receipt_header(201),
                        409: error_doc("You already issued a permit with this "
                                       "`permit_number` (`duplicate_permit_number`).")})
async def issue(exchange: ExchangeDep, auth: AuthDep,
                data: Annotated[PermitIn, Body(openapi_examples={
                    "4-piperidone to Mexico from China": {"value": PERMIT_EXAMPLE},
                    "no exporter named": {"value": {
                        k: v for k, v in PERMIT_EXAMPLE.items() if k != "exporter"}}})],
                ) -> Response:
    """The calling authority permits an importer in its country to import a substance from
    `exporter_country`. The substance is resolved and checked like a notification's (422
    `unidentified_substance` when it cannot be identified); the verdict is stored with the
    permit. Signed with the caller's Ed25519 key over the permit's RFC 8785 form and logged
    in its audit chain. Readable by the caller and by the exporter country's authority."""
    return written(await auth.run(
        lambda caller: permit_store.issue_permit(exchange, caller, data)), status_code=201)


@router.get("", response_model=PermitPage, summary="List permits you issued or export under")
async def list_(exchange: ExchangeDep, auth: AuthDep,
                role: Annotated[Literal["issued", "exporting"] | None, Query(
                    description="issued: permits you issued; exporting: permits for exports "
                                "from your country.", examples=["issued"])] = None,
                limit: Annotated[int, Query(ge=1, le=500, examples=[50])] = 100,
                offset: Annotated[int, Query(ge=0, le=1_000_000, examples=[0])] = 0,
                ) -> Response:
    """Permits you issued and permits for exports from your country; newest first."""
    items = await auth.read(lambda caller, count: permit_store.list_permits(
        exchange, caller, role=role, limit=limit, offset=offset, count=count))
    return served_page(items, limit=limit, offset=offset)


@router.post("/verify", response_model=VerificationOut, summary="Verify a permit",
             responses={200: {"description": "The verification, valid or not."}})
def verify(exchange: ExchangeDep, caller: CallerDep,
           data: Annotated[PresentedPermit, Body(openapi_examples={
               "compact form from a QR code": {"value": {"compact": _COMPACT_EXAMPLE}},
               "signed JSON": {"value": {"permit": _DOC_EXAMPLE, "issuer": "MX",
                                         "key_id": "3f9a0c1d2e4b5a6f",
                                         "signature": "base64…"}}})],
           ) -> VerificationOut:
    """Any authority checks a permit it was shown: the signature with the issuer's key of
    the permit's `key_id`, the validity dates against today (UTC), and whether the issuer
    revoked it. A permit that is not valid is still a 200, with `valid: false` and each
    reason (`malformed`, `unknown_issuer`, `unknown_key`, `bad_signature`, `not_yet_valid`,
    `expired`, `revoked`, `not_on_record`)."""
    presented = data.model_dump(exclude_unset=True)
    return VerificationOut.model_validate(permit_store.verify_presented(exchange, presented))


@router.get("/{permit_id}", response_model=PermitOut, responses=NOT_FOUND,
            summary="Read one permit")
async def read(exchange: ExchangeDep, auth: AuthDep, permit_id: PermitId) -> Response:
    """Only for the issuer and the exporter country's authority; 404 for anyone else."""
    return served(await auth.read(
        lambda caller, count: permit_store.get_permit(exchange, caller, permit_id, count)))


@router.post("/{permit_id}/revoke", response_model=PermitOut,
             summary="Revoke a permit (issuer)",
             responses={**NOT_FOUND, **receipt_header(200),
                        403: error_doc("The caller may read the permit but did not issue it "
                                       "(`not_issuer`)."),
                        409: error_doc("Already revoked (`permit_revoked`): a revocation is "
                                       "final.")})
async def revoke(exchange: ExchangeDep, auth: AuthDep, permit_id: PermitId,
                 data: Annotated[RevokeIn, Body(openapi_examples={
                     "licence suspended": {"value": {
                         "reason": "The importer's licence was suspended on 2026-12-03."}}})],
                 ) -> Response:
    """The issuer withdraws the permit, with a reason; signed with its key and logged in its
    audit chain. Final. Verifying the permit online then says `revoked`; a holder checking
    offline cannot know it."""
    return written(await auth.run(
        lambda caller: permit_store.revoke_permit(exchange, caller, permit_id, data)))
