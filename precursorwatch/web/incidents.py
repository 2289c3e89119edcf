"""Incidents: the list shared with the authority, the form to report one, and its page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from precursorwatch.exchange.errors import Invalid
from precursorwatch.exchange.incidents import get_incident, list_incidents, report_incident
from precursorwatch.exchange.schemas import IncidentIn
from precursorwatch.web.auth import require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of, record
from precursorwatch.web.forms import (
    FormErrors,
    codes,
    number,
    read_form,
    service_errors,
    text,
    validation_errors,
)
from precursorwatch.web.notifications import UNITS, UUID, authorities, structure_of
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
KINDS = ("seizure", "stopped_shipment", "attempted_diversion", "suspicious_order")
PARTY_ROLES = ("shipper", "consignee", "importer", "exporter", "broker", "carrier",
               "notify_party", "other")
PARTY_ROWS = 3  # party rows on the form


@router.get("/incidents")
def incidents(request: Request, user: UserDep, ex: ExchangeDep,
              page_number: int = Query(1, alias="page")) -> Response:
    number_ = max(1, min(page_number, 100_000))
    batch = list_incidents(ex, user.caller, limit=PAGE_SIZE + 1,
                                   offset=(number_ - 1) * PAGE_SIZE)
    rows = [record(t) for t in batch]
    return page(request, "incidents.html", {
        "section": "incidents", "rows": rows[:PAGE_SIZE], "page_number": number_,
        "has_next": len(rows) > PAGE_SIZE,
        "may_report": user.role in ("officer", "approver"),
    }, user=user)


def _form(request: Request, user: Any, values: dict[str, Any], errors: FormErrors,
          status_code: int = 200) -> Response:
    others = [a for a in authorities(request) if a.id != user.caller.id]
    return page(request, "incident_new.html", {
        "section": "incidents", "values": values, "errors": errors, "authorities": others,
        "kinds": KINDS, "units": UNITS, "roles": PARTY_ROLES, "party_rows": PARTY_ROWS,
        "today": exchange_of(request).now().date().isoformat(),
    }, user=user, status_code=status_code)


@router.get("/incidents/new")
def new_form(request: Request, user: UserDep, notification_id: str = "") -> Response:
    require_role(user, "officer", "approver")
    return _form(request, user, {"notification_ids": notification_id}, {})


def incident_body(form: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The JSON body of an incident from the form's fields."""
    parties = []
    for i in range(PARTY_ROWS):
        found = {k: text(form, f"parties.{i}.{k}") for k in ("role", "name", "address",
                                                               "country")}
        if found["name"] or found["address"]:
            parties.append({"role": found["role"] or "other", "name": found["name"] or "",
                            "address": found["address"] or "",
                            "country": (found["country"] or "").upper()})
    shared: list[str] | str = ("all" if form.get("share_all") == "all"
                               else [c for c in form.get("shared_with", []) if c])
    body: dict[str, Any] = {
        "kind": text(form, "kind") or "",
        "substance": text(form, "substance") or "",
        "quantity": number(form, "quantity", errors),
        "unit": text(form, "unit"),
        "incident_date": text(form, "incident_date"),
        "parties": parties,
        "route": codes(text(form, "route")),
        "modus_operandi": text(form, "modus_operandi"),
        "notes": text(form, "notes"),
        "shared_with": shared,
        "notification_ids": [c.lower() for c in codes(text(form, "notification_ids"))],
    }
    return {k: v for k, v in body.items() if v is not None or k == "incident_date"}


@router.post("/incidents/new", dependencies=[CsrfChecked])
async def report(request: Request, user: UserDep) -> Response:
    require_role(user, "officer", "approver")
    form = await read_form(request, "shared_with")
    return await run_in_threadpool(_report, request, user, form)


def _report(request: Request, user: Any, form: dict[str, Any]) -> Response:
    errors: FormErrors = {}
    body = incident_body(form, errors)
    if errors:
        return _form(request, user, form, errors, 422)
    try:
        data = IncidentIn.model_validate(body)
    except ValidationError as exc:
        return _form(request, user, form, validation_errors(exc), 422)
    try:
        written = report_incident(exchange_of(request), user.caller, data)
    except Invalid as exc:
        return _form(request, user, form, service_errors(exc), 422)
    made = record(written.text)
    return RedirectResponse(f"/incidents/{made['id']}?done=reported&receipt={written.receipt}",
                            status_code=303)


@router.get("/incidents/{incident_id}")
def detail(request: Request, user: UserDep, ex: ExchangeDep,
           incident_id: str = Path(pattern=UUID)) -> Response:
    i = record(get_incident(ex, user.caller, incident_id))
    return page(request, "incident.html", {
        "section": "incidents", "i": i, "svg": structure_of(i["verdict"]),
    }, user=user)
