"""Shipment alerts: the alerts the authority sent and received with their outcomes, the
statistics of the red-flag rules over those outcomes, an alert's page (the shipment, its
screening result, the reason, linked records, the answers) and the form on which an authority
the alert was shared with says what it found.

Handlers call `exchange.alerts` with `user.caller`; who reads and who answers is the
exchange's rule.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from precursorwatch.exchange import alerts
from precursorwatch.exchange.errors import Conflict, Invalid
from precursorwatch.exchange.incidents import list_incidents
from precursorwatch.web.auth import require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of, record
from precursorwatch.web.forms import BAD_TEXT, FormErrors, validation_errors
from precursorwatch.web.i18n import N_, gettext
from precursorwatch.web.inbox import BAD_DATE
from precursorwatch.web.notifications import UUID
from precursorwatch.web.render import language_for, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
INCIDENT_CHOICES = 50  # the authority's latest incidents offered on the outcome form
OUTCOMES = alerts.OUTCOMES
# The shipment's columns shown, in the order a manifest usually has them.
SHIPMENT_FIELDS = ("shipment_id", "date", "description", "hs_code", "cas", "quantity", "unit",
                   "shipper_name", "shipper_address", "shipper_country", "consignee_name",
                   "consignee_address", "consignee_country", "notify_party", "mode",
                   "origin_port", "destination_port", "transit_countries", "declared_value",
                   "currency", "payment_method")

CHOOSE_OUTCOME = N_("Choose what was found.")
NOTE_NEEDED = N_("Say what was done and found.")
UNKNOWN_INCIDENT = N_("Choose an incident your authority may read.")
ALREADY_ANSWERED = N_("Your authority already answered this alert; an outcome is final.")

FLASHES = {
    "shared": N_("The flagged shipments were shared as alerts. Audit receipt: %(receipt)s"),
    "answered": N_("Your outcome was signed and sent. Audit receipt: %(receipt)s"),
}


def _flash(request: Request, language: str) -> str:
    key = request.query_params.get("done", "")
    if key not in FLASHES:
        return ""
    receipt = request.query_params.get("receipt", "")[:90]
    return gettext(language, FLASHES[key], receipt=receipt or "-")


def _since(value: str) -> tuple[dt.date | None, bool]:
    """The statistics' first day from the address, and whether it could be read."""
    if not value.strip():
        return None, True
    try:
        return dt.date.fromisoformat(value.strip()), True
    except ValueError:
        return None, False


# -- the list and the statistics -----------------------------------------------------------
@router.get("/alerts")
def alert_list(request: Request, user: UserDep, ex: ExchangeDep,
               page_in: int = Query(1, ge=1, le=100_000),
               page_out: int = Query(1, ge=1, le=100_000),
               since: str = Query("", max_length=20)) -> Response:
    sections = []
    for key, number_ in (("incoming", page_in), ("outgoing", page_out)):
        rows = [record(t) for t in alerts.list_alerts(
            ex, user.caller, direction=key,  # type: ignore[arg-type]
            limit=PAGE_SIZE + 1, offset=(number_ - 1) * PAGE_SIZE)]
        sections.append({"key": key, "rows": rows[:PAGE_SIZE], "page": number_,
                         "has_next": len(rows) > PAGE_SIZE})
    first_day, readable = _since(since)
    language = language_for(request, user)
    context: dict[str, Any] = {
        "section": "alerts", "sections": sections,
        "stats": alerts.rule_stats(ex, user.caller, first_day),
        "since": since.strip() if readable else "",
        "errors": {} if readable else {"since": BAD_DATE},
        "pages": {"incoming": page_in, "outgoing": page_out},
    }
    if (said := _flash(request, language)):
        context["flash"] = said
    return page(request, "alerts.html", context, user=user, language=language)


# -- one alert ---------------------------------------------------------------------------------
def _detail(request: Request, user: Any, alert_id: str, *, errors: FormErrors | None = None,
            values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    ex = exchange_of(request)
    a = record(alerts.get_alert(ex, user.caller, alert_id))
    may_answer = (user.role in ("officer", "approver")
                  and user.caller.code in a.get("pending", []))
    incidents = ([record(t) for t in list_incidents(ex, user.caller,
                                                            limit=INCIDENT_CHOICES)]
                 if may_answer else [])
    language = language_for(request, user)
    context: dict[str, Any] = {
        "section": "alerts", "a": a, "shipment_fields": SHIPMENT_FIELDS,
        "may_answer": may_answer, "outcomes": OUTCOMES, "incidents": incidents,
        "errors": errors or {}, "values": values or {},
        "mine": next((o for o in a.get("outcomes", [])
                      if o.get("authority") == user.caller.code), None),
    }
    if (said := _flash(request, language)):
        context["flash"] = said
    return page(request, "alert.html", context, user=user, status_code=status_code,
                language=language)


@router.get("/alerts/{alert_id}")
def detail(request: Request, user: UserDep, alert_id: str = Path(pattern=UUID)) -> Response:
    return _detail(request, user, alert_id)


@router.post("/alerts/{alert_id}/outcome", dependencies=[CsrfChecked])
async def outcome(request: Request, user: UserDep,
                  alert_id: str = Path(pattern=UUID)) -> Response:
    require_role(user, "officer", "approver")
    raw = await request.form()
    values = {k: str(raw.get(k) or "") for k in ("outcome", "note", "incident_id")}
    return await run_in_threadpool(_outcome, request, user, alert_id, values)


def outcome_errors(exc: ValidationError) -> FormErrors:
    """The form's mistakes, each said next to its field."""
    errors: FormErrors = {}
    for field, found in validation_errors(exc).items():
        if field == "outcome":
            errors["outcome"] = (CHOOSE_OUTCOME, {})
        elif field == "incident_id":
            errors["incident_id"] = (UNKNOWN_INCIDENT, {})
        else:
            errors.setdefault("note", found if found[0] == BAD_TEXT else (NOTE_NEEDED, {}))
    return errors


def _outcome(request: Request, user: Any, alert_id: str, values: dict[str, str]) -> Response:
    errors: FormErrors = {}
    if not values["note"].strip():
        errors["note"] = (NOTE_NEEDED, {})
    body: dict[str, Any] = {"outcome": values["outcome"], "note": values["note"].strip()}
    if values["incident_id"].strip():
        body["incident_id"] = values["incident_id"].strip().lower()
    try:
        data = alerts.OutcomeIn.model_validate(body)
    except ValidationError as exc:
        errors = {**outcome_errors(exc), **errors}
    if errors:
        return _detail(request, user, alert_id, errors=errors, values=values, status_code=422)
    try:
        written = alerts.record_outcome(exchange_of(request), user.caller, alert_id, data)
    except Conflict:
        return _detail(request, user, alert_id, errors={"form": (ALREADY_ANSWERED, {})},
                       values=values, status_code=409)
    except Invalid:  # an incident the authority may not read
        return _detail(request, user, alert_id,
                       errors={"incident_id": (UNKNOWN_INCIDENT, {})}, values=values,
                       status_code=422)
    return RedirectResponse(f"/alerts/{alert_id}?done=answered&receipt={written.receipt}",
                            status_code=303)
