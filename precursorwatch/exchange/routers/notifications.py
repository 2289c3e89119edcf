"""Pre-export notifications: send, list, read, answer, correct."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from precursorwatch.exchange import notifications
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
    error_doc,
    read_openapi,
    receipt_header,
    served,
    served_copies,
    served_page,
    written,
)
from precursorwatch.exchange.models import Notification
from precursorwatch.exchange.schemas import (
    NOTIFICATION_EXAMPLE,
    NotificationIn,
    NotificationOut,
    NotificationPage,
    ResponseIn,
    SignedRecord,
    Status,
)

router = APIRouter(prefix="/v1/notifications", tags=["notifications"], responses=COMMON_ERRORS)

RecordId = Annotated[str, Path(pattern=UUID_PATTERN,
                               examples=["2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b"],
                               description="The notification version's id (a UUID).")]
# The same, for the reads that check it in the endpoint (see `deps.authorized`).
READ_ID = PathId("notification_id", "2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b",
                 "The notification version's id (a UUID).")

_send_examples = {
    "controlled precursor": {"summary": "4-piperidone salt hydrate to Mexico via the US",
                             "value": NOTIFICATION_EXAMPLE},
    "minimal": {"summary": "Only the required fields", "value": {
        "substance": "110-89-4", "quantity": 200, "unit": "l",
        "exporter": {"name": "Example Export Ltd", "address": "1 Port Rd, Ningbo",
                     "country": "CN"},
        "importer": {"name": "Example Import Inc", "address": "9 Main St, Vancouver",
                     "country": "CA"},
        "importing_authority": "CA", "planned_shipment_date": "2026-12-10",
        "point_of_entry": "Vancouver"}},
}


@router.post("", status_code=201, response_model=NotificationOut,
             summary="Notify a planned export",
             responses={**receipt_header(201),
                        409: error_doc("The corrected notification can no longer change.")})
async def send(exchange: ExchangeDep, auth: AuthDep,
               data: Annotated[NotificationIn, Body(openapi_examples=_send_examples)]
               ) -> Response:
    """The calling authority notifies a shipment to the importing authority (and the transit
    authorities, who may read it). The substance is resolved and checked on receipt; the
    verdict and its evidence are stored with the record, which is signed with the caller's key.
    A substance that cannot be identified is refused (422 `unidentified_substance`, with the
    reason). The reply deadline is set by the importing authority's reply period."""
    # On the event loop unless something in it may block: a substance not checked yet today
    # (OPSIN), or a cited permit (read apart from the write's batch).
    return written(await auth.write(
        lambda caller, count: notifications.send_notification(exchange, caller, data, count=count),
        on_loop=data.permit is None and exchange.verdict_kept(data.substance)),
        status_code=201)


class PageQuery(BaseModel):
    """The query of `GET /v1/notifications`."""

    direction: Annotated[notifications.Direction | None, Field(
        description="outgoing: you exported; incoming: you import; transit: you are a "
                    "transit authority.", examples=["incoming"])] = None
    status: Annotated[Status | None, Field(examples=["sent"])] = None
    thread_id: Annotated[str | None, Field(
        pattern=UUID_PATTERN, examples=["2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b"],
        description="Only the versions of one notified shipment (its first version's id), "
                    "newest first.")] = None
    limit: Annotated[int, Field(ge=1, le=500, examples=[50])] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000, examples=[0])] = 0


PAGE_QUERY = QueryOf(PageQuery)


@router.get("", response_model=NotificationPage, summary="List notifications you are party to",
            openapi_extra=read_openapi(query=PAGE_QUERY))
async def list_(request: Request) -> Response:
    """Newest first. Deadlines are applied on read: an unanswered notification past its
    deadline is listed as `expired`."""
    auth = await authorized(request)  # before the query: a bad key is 401 whatever it asks
    q = PAGE_QUERY.of(request)
    exchange = auth.exchange
    now = exchange.now()
    rows = await auth.rows(lambda caller: notifications.page_read(
        caller, direction=q.direction, status=q.status, thread_id=q.thread_id, limit=q.limit,
        offset=q.offset, now=now))
    rendered = await served_copies(exchange, Notification, notifications.page_ids(rows))
    return served_page(notifications.page_items(rendered, rows, now), limit=q.limit,
                       offset=q.offset)


@router.get("/{notification_id}", response_model=NotificationOut, responses=NOT_FOUND,
            summary="Read one notification", openapi_extra=read_openapi(READ_ID))
async def read(request: Request) -> Response:
    """Only for the exporting, importing and transit authorities; 404 for anyone else."""
    auth = await authorized(request)  # before the id: a bad key is 401 whatever the path
    notification_id = READ_ID.of(request)
    rows = await auth.rows(lambda caller: notifications.one_read(caller, notification_id))
    return served(notifications.served_one(rows, notification_id, auth.exchange.now()))


@router.get("/{notification_id}/signed", response_model=SignedRecord, responses=NOT_FOUND,
            summary="A notification as signed, to verify it")
def signed(exchange: ExchangeDep, caller: CallerDep, notification_id: RecordId
           ) -> SignedRecord:
    """The document the exporting authority signed, its canonical form (`rfc8785`: RFC 8785
    JSON Canonicalization Scheme) and the Ed25519 signature, with the importing authority's
    signed answer once given: everything needed to verify the record with the signer's public
    key (GET /v1/authorities) and any Ed25519 library, independently of this server. Same
    access as reading the notification."""
    return SignedRecord.model_validate(
        notifications.signed_notification(exchange, caller, notification_id))


@router.post("/{notification_id}/response", response_model=NotificationOut,
             summary="Answer a notification (importing authority)",
             responses={**NOT_FOUND, **receipt_header(200),
                        403: error_doc("The caller may read the notification but is not its "
                                  "importing authority (exporter or transit)."),
                        409: error_doc("Already answered, expired, or superseded.")})
async def respond(exchange: ExchangeDep, auth: AuthDep, notification_id: RecordId,
                  data: Annotated[ResponseIn, Body(openapi_examples={
                      "objection": {"value": {"decision": "objection",
                                              "reason": "Importer holds no licence."}},
                      "no objection": {"value": {"decision": "no_objection"}}})],
                  ) -> Response:
    """`no_objection` or `objection` (with a reason), signed with the caller's key. Only while
    the notification is `sent`: not after its deadline, an answer, or a correction."""
    return written(await auth.write(lambda caller, count: notifications.answer_notification(
        exchange, caller, notification_id, data, count=count)))


@router.post("/{notification_id}/corrections", status_code=201, response_model=NotificationOut,
             summary="Correct a notification (exporting authority)",
             responses={**NOT_FOUND, **receipt_header(201),
                        403: error_doc("Only the exporting authority can correct."),
                        409: error_doc("Already answered, expired, or corrected before.")})
async def correct(exchange: ExchangeDep, auth: AuthDep, notification_id: RecordId,
                  data: Annotated[NotificationIn, Body(openapi_examples=_send_examples)]
                  ) -> Response:
    """Send the full corrected notification. It becomes a new version (same `thread_id`,
    `version` + 1, a new deadline); the old version is kept unchanged as `superseded`."""
    return written(await auth.read(lambda caller, count: notifications.send_notification(
        exchange, caller, data, corrects=notification_id, count=count)), status_code=201)
