"""Shipment alerts between authorities: send, list, read, answer with an outcome; and the
statistics of the red-flag rules over the alerts' outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from precursorwatch.exchange import alerts
from precursorwatch.exchange.alerts import (
    ALERT_EXAMPLE,
    PRECISION_DEFINITION,
    AlertIn,
    AlertShipment,
    Direction,
    OutcomeFilter,
    OutcomeIn,
    Screening,
)
from precursorwatch.exchange.deps import (
    COMMON_ERRORS,
    NOT_FOUND,
    UUID_PATTERN,
    AuthDep,
    ExchangeDep,
    error_doc,
    receipt_header,
    served,
    served_page,
    written,
)
from precursorwatch.exchange.schemas import IsoDate
from precursorwatch.exchange.signed import Written

router = APIRouter(responses=COMMON_ERRORS)

_ID = "5b8e2c1a-3f4d-4e6a-9b0c-1d2e3f4a5b6c"


class OutcomeOut(BaseModel):
    authority: str = Field(examples=["MX"])
    outcome: str = Field(examples=["seized"])
    note: str
    incident_id: str | None
    at: str = Field(examples=["2026-11-25T14:00:00Z"])
    signature: str = Field(description="Ed25519 signature (base64) by the answering "
                           "authority over the outcome's RFC 8785 form.")


class AlertOut(BaseModel):
    """An alert as its sender signed it, with the recipients' outcomes so far. `outcome` is
    the alert's as a whole: the strongest answer (seized > inspected_clear > not_found >
    pending > no_action)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _ID, "sender": "CN", "shared_with": ["MX", "US"],
        "created_at": "2026-11-23T09:00:00Z", "reference": None, "notification_id": None,
        "incident_id": None, **{k: v for k, v in ALERT_EXAMPLE.items() if k != "share_with"},
        "signature": "base64…", "outcome": "seized",
        "outcomes": [{"authority": "MX", "outcome": "seized", "note": "400 kg seized.",
                      "incident_id": None, "at": "2026-11-25T14:00:00Z",
                      "signature": "base64…"}],
        "pending": ["US"]}]})

    id: str
    sender: str
    shared_with: list[str]
    created_at: str
    reference: str | None
    notification_id: str | None
    incident_id: str | None
    shipment: AlertShipment
    screening: Screening
    reason: str
    signature: str = Field(description="Ed25519 signature (base64) by the sender over the "
                           "alert's RFC 8785 form (GET /v1/audit/verify re-checks it).")
    outcome: str = Field(examples=["pending"])
    outcomes: list[OutcomeOut]
    pending: list[str] = Field(description="Recipients that have not answered yet.")


class AlertPage(BaseModel):
    """One page of alerts, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": AlertOut.model_config["json_schema_extra"]["examples"],  # type: ignore
        "limit": 100, "offset": 0}]})

    items: list[AlertOut]
    limit: int
    offset: int


class Counts(BaseModel):
    alerts: int
    outcomes: dict[str, int] = Field(examples=[{"seized": 1, "inspected_clear": 1,
                                                "not_found": 0, "pending": 1,
                                                "no_action": 0}])
    inspected: int = Field(description="seized + inspected_clear + not_found.")
    precision: float | None = Field(description="seized / inspected; null when none was "
                                    "inspected.")


class CountryCounts(Counts):
    country: str = Field(examples=["CN"])


class RuleCounts(Counts):
    rule: str = Field(examples=["HS_MISMATCH"])
    by_origin: list[CountryCounts] = Field(description="By the shipper's country.")
    by_destination: list[CountryCounts] = Field(description="By the consignee's country.")


class RuleStatsOut(BaseModel):
    """Per red-flag rule: the alerts it fired on and their outcomes."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "since": "2026-11-01", "alerts": 3, "definition": PRECISION_DEFINITION,
        "rules": [{"rule": "HS_MISMATCH", "alerts": 3,
                   "outcomes": {"seized": 1, "inspected_clear": 1, "not_found": 0,
                                "pending": 1, "no_action": 0},
                   "inspected": 2, "precision": 0.5,
                   "by_origin": [{"country": "CN", "alerts": 3,
                                  "outcomes": {"seized": 1, "inspected_clear": 1,
                                               "not_found": 0, "pending": 1, "no_action": 0},
                                  "inspected": 2, "precision": 0.5}],
                   "by_destination": []}]}]})

    since: str | None
    alerts: int
    definition: str
    rules: list[RuleCounts]


AlertId = Annotated[str, Path(pattern=UUID_PATTERN, examples=[_ID],
                              description="The alert's id (a UUID).")]


@router.post("/v1/alerts", status_code=201, response_model=AlertOut, tags=["alerts"],
             summary="Share a suspicious shipment with other authorities",
             responses={**receipt_header(201),
                        200: {"model": AlertOut,
                              "description": "An alert with this `reference` was sent "
                                             "before: that alert, unchanged (no new audit "
                                             "link)."},
                        422: error_doc("Bad field, or a broken rule: `unknown_authority`, "
                                       "`shared_with_sender`, `duplicate_authority` (in "
                                       "`share_with`), `unknown_notification`, "
                                       "`unknown_incident` (a linked record you are not "
                                       "party to); the message names the field.")})
async def send(exchange: ExchangeDep, auth: AuthDep,
               data: Annotated[AlertIn, Body(openapi_examples={
                   "precursor under a generic description": {"value": ALERT_EXAMPLE},
                   "re-sendable, with a reference": {"value": {
                       **ALERT_EXAMPLE, "reference": "screen:3f9a0c1d2e4b5a6f"}}})],
               ) -> Response:
    """The calling authority shares a shipment it found suspicious (its manifest row and
    its `pwatch screen` result) with the authorities in `share_with`: signed with its
    Ed25519 key over the RFC 8785 form and logged in its audit chain. Readable by the sender
    and those shared with; each of them answers once (POST /v1/alerts/{id}/outcome)."""
    sent = await auth.run(lambda caller: alerts.send_alert(exchange, caller, data))
    if sent.receipt is None:
        return served(sent.text)
    return written(Written(sent.text, sent.receipt), status_code=201)


@router.get("/v1/alerts", response_model=AlertPage, tags=["alerts"],
            summary="List alerts you sent or were sent")
async def list_(exchange: ExchangeDep, auth: AuthDep,
                direction: Annotated[Direction | None, Query(
                    description="outgoing: alerts you sent; incoming: alerts shared with you.",
                    examples=["incoming"])] = None,
                outcome: Annotated[OutcomeFilter | None, Query(
                    description="Alerts some recipient answered so; `pending`: alerts some "
                                "recipient has not answered yet.", examples=["pending"])
                ] = None,
                limit: Annotated[int, Query(ge=1, le=500, examples=[50])] = 100,
                offset: Annotated[int, Query(ge=0, le=1_000_000, examples=[0])] = 0,
                ) -> Response:
    """Alerts you sent and alerts shared with you; newest first."""
    items = await auth.read(lambda caller, count: alerts.list_alerts(
        exchange, caller, direction=direction, outcome=outcome, limit=limit, offset=offset,
        count=count))
    return served_page(items, limit=limit, offset=offset)


@router.get("/v1/alerts/{alert_id}", response_model=AlertOut, responses=NOT_FOUND,
            tags=["alerts"], summary="Read one alert")
async def read(exchange: ExchangeDep, auth: AuthDep, alert_id: AlertId) -> Response:
    """Only for the sender and the authorities it was shared with; 404 for anyone else."""
    return served(await auth.read(
        lambda caller, count: alerts.get_alert(exchange, caller, alert_id, count)))


@router.post("/v1/alerts/{alert_id}/outcome", response_model=AlertOut, tags=["alerts"],
             summary="Answer an alert with what you found (receiving authority)",
             responses={**NOT_FOUND, **receipt_header(200),
                        403: error_doc("You sent this alert: only an authority it was shared "
                                       "with answers it (`not_receiving_authority`)."),
                        409: error_doc("You already answered it (`outcome_given`): an "
                                       "outcome is final."),
                        422: error_doc("Bad field, or `incident_id` names no incident you "
                                       "may read (`unknown_incident`).")})
async def answer(exchange: ExchangeDep, auth: AuthDep, alert_id: AlertId,
                 data: Annotated[OutcomeIn, Body(openapi_examples={
                     "seized": {"value": {"outcome": "seized",
                                          "note": "400 kg seized at Manzanillo."}},
                     "inspected, nothing found": {"value": {
                         "outcome": "inspected_clear",
                         "note": "Inspected: citric acid as declared."}}})],
                 ) -> Response:
    """A receiving authority says what came of the alert: `seized`, `inspected_clear`,
    `not_found` (the shipment was not found) or `no_action`. Signed with its key and logged
    in its chain; once per authority, final. The alert as served, with the outcomes."""
    return written(await auth.run(
        lambda caller: alerts.record_outcome(exchange, caller, alert_id, data)))


@router.get("/v1/stats/rules", response_model=RuleStatsOut, tags=["alerts"],
            summary="How often each red-flag rule's alerts led to a seizure")
async def rule_stats(exchange: ExchangeDep, auth: AuthDep,
                     since: Annotated[IsoDate | None, Query(
                         description="Alerts sent on or after this day (UTC), YYYY-MM-DD.",
                         examples=["2026-11-01"])] = None,
                     ) -> RuleStatsOut:
    """Per red-flag rule code (the `flags` of each alert's screening result) and per origin
    and destination country: the alerts it fired on and their outcomes, over the alerts you
    sent and those shared with you. Precision is seized / inspected, where inspected =
    seized + inspected_clear + not_found; an alert counts once, with its strongest answer."""
    on: dt.date | None = since
    report: dict[str, Any] = await auth.read(
        lambda caller, count: alerts.rule_stats(exchange, caller, on, count))
    return RuleStatsOut.model_validate(report)
