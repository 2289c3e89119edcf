"""Alerts and incidents: seizures, stopped shipments, attempted diversions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from precursorwatch.exchange import incidents
from precursorwatch.exchange.deps import (
    COMMON_ERRORS,
    NOT_FOUND,
    UUID_PATTERN,
    AuthDep,
    CallerDep,
    ExchangeDep,
    PathId,
    QueryOf,
    authorized,
    read_openapi,
    receipt_header,
    served,
    served_copies,
    served_page,
    written,
)
from precursorwatch.exchange.models import Incident
from precursorwatch.exchange.schemas import (
    INCIDENT_EXAMPLE,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    SignedRecord,
)

router = APIRouter(prefix="/v1/incidents", tags=["incidents"], responses=COMMON_ERRORS)
# Checked in the endpoint of the single read (see `deps.authorized`).
READ_ID = PathId("incident_id", "7d3f0a1e-2b4c-4d5e-8f90-a1b2c3d4e5f6")


@router.post("", status_code=201, response_model=IncidentOut, summary="Share an incident",
             responses=receipt_header(201))
async def report(exchange: ExchangeDep, auth: AuthDep,
                 data: Annotated[IncidentIn, Body(openapi_examples={
                     "seizure shared with one authority": {"value": INCIDENT_EXAMPLE},
                     "alert to all": {"value": {**INCIDENT_EXAMPLE, "kind": "stopped_shipment",
                                                "shared_with": "all"}}})],
                 ) -> Response:
    """Shared with the authorities named in `shared_with`, or every authority (`"all"`). The
    substance is checked like a notification's (an unidentified one is kept, with the verdict
    `unresolved` and its reason: seized material is not always known); `notification_ids`
    link notifications you are party to. Signed with the caller's key."""
    return written(await auth.write(  # on the event loop unless OPSIN may run (as `send`)
        lambda caller, count: incidents.report_incident(exchange, caller, data, count=count),
        on_loop=exchange.verdict_kept(data.substance)), status_code=201)


class PageQuery(BaseModel):
    """The query of `GET /v1/incidents`."""

    notification_id: Annotated[str | None, Field(
        pattern=UUID_PATTERN, examples=["2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b"],
        description="Only incidents linked to this notification.")] = None
    limit: Annotated[int, Field(ge=1, le=500, examples=[50])] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000, examples=[0])] = 0


PAGE_QUERY = QueryOf(PageQuery)


@router.get("", response_model=IncidentPage, summary="List incidents shared with you",
            openapi_extra=read_openapi(query=PAGE_QUERY))
async def list_(request: Request) -> Response:
    """Incidents you reported, shared with you by name, or shared with all; newest first."""
    auth = await authorized(request)  # before the query: a bad key is 401 whatever it asks
    q = PAGE_QUERY.of(request)
    exchange = auth.exchange
    rows = await auth.rows(lambda caller: incidents.page_read(
        caller, notification_id=q.notification_id, limit=q.limit, offset=q.offset))
    items = await served_copies(exchange, Incident, incidents.page_ids(rows))
    return served_page(items, limit=q.limit, offset=q.offset)


@router.get("/{incident_id}", response_model=IncidentOut, responses=NOT_FOUND,
            summary="Read one incident", openapi_extra=read_openapi(READ_ID))
async def read(request: Request) -> Response:
    """404 unless you reported it or it was shared with you."""
    auth = await authorized(request)  # before the id: a bad key is 401 whatever the path
    incident_id = READ_ID.of(request)
    rows = await auth.rows(lambda caller: incidents.one_read(caller, incident_id))
    return served(incidents.served_one(rows, incident_id))


@router.get("/{incident_id}/signed", response_model=SignedRecord, responses=NOT_FOUND,
            summary="An incident as signed, to verify it")
def signed(exchange: ExchangeDep, caller: CallerDep,
           incident_id: Annotated[str, Path(
               pattern=UUID_PATTERN,
               examples=["7d3f0a1e-2b4c-4d5e-8f90-a1b2c3d4e5f6"])]) -> SignedRecord:
    """The document the reporting authority signed, its canonical form and the Ed25519
    signature (see GET /v1/notifications/{notification_id}/signed). 404 unless you may read
    the incident."""
    return SignedRecord.model_validate(incidents.signed_incident(exchange, caller, incident_id))
