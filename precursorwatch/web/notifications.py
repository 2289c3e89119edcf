"""A notification's page (substance, evidence, parties, versions, answer, incidents), the form
for a new one, and the substance check the form calls as the officer types."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from precursorwatch.exchange import permit_store, service
from precursorwatch.exchange.errors import Conflict, Invalid, NotFound
from precursorwatch.exchange.incidents import list_incidents
from precursorwatch.exchange.models import Authority
from precursorwatch.exchange.notifications import (
    answer_notification,
    get_notification,
    list_notifications,
    send_notification,
)
from precursorwatch.exchange.schemas import NotificationIn, ResponseIn, Unit
from precursorwatch.web.auth import require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of, record
from precursorwatch.web.forms import (
    FormErrors,
    codes,
    number,
    party,
    read_form,
    service_errors,
    text,
    validation_errors,
)
from precursorwatch.web.i18n import N_, render_template
from precursorwatch.web.render import language_for, page
from precursorwatch.web.structure import drawing

router = APIRouter(include_in_schema=False)

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
NotificationId = Path(pattern=UUID)
UNITS: tuple[str, ...] = Unit.__args__  # type: ignore[attr-defined]
MODES = ("sea", "air", "courier", "post", "road", "rail")
CHECK_MAX = 200
CANNOT_ANSWER = N_("This notification can no longer be answered: %(detail)s")


def authorities(request: Request) -> list[Authority]:
    return service.public_authorities(exchange_of(request))


def structure_of(verdict: dict[str, Any]) -> Markup:
    """The verdict's structure as inline SVG (sanitised, so templates insert it as is)."""
    return Markup(drawing(verdict.get("smiles"),
                          verdict.get("name") or verdict.get("input") or ""))


def readable_permit(request: Request, user: Any, permit_id: Any) -> str | None:
    """`permit_id` when the reader's authority may read that permit (its page shows)."""
    if not isinstance(permit_id, str) or not re.match(UUID, permit_id):
        return None
    try:
        permit_store.get_permit(exchange_of(request), user.caller, permit_id)
    except NotFound:
        return None
    return permit_id


def _detail(request: Request, user: Any, notification_id: str, *,
            answer_errors: FormErrors | None = None, answer: dict[str, str] | None = None,
            status_code: int = 200) -> Response:
    ex = exchange_of(request)
    n = record(get_notification(ex, user.caller, notification_id))
    thread = [record(t) for t in list_notifications(
        ex, user.caller, thread_id=n["thread_id"], limit=100)]
    linked = [record(t) for t in list_incidents(
        ex, user.caller, notification_id=notification_id, limit=100)]
    can_answer = (user.role == "approver" and n["status"] == "sent"
                  and n["importing_authority"] == user.caller.code)
    return page(request, "notification.html", {
        "section": "inbox", "n": n, "svg": structure_of(n["verdict"]),
        "thread": sorted(thread, key=lambda t: t["version"]), "incidents": linked,
        "can_answer": can_answer, "errors": answer_errors or {}, "answer": answer or {},
        "may_report": user.role in ("officer", "approver"),
        "permit_link": readable_permit(request, user,
                                       (n.get("permit_check") or {}).get("permit_id")),
    }, user=user, status_code=status_code)


@router.get("/notifications/new")
def new_form(request: Request, user: UserDep) -> Response:
    require_role(user, "officer", "approver")
    return _form(request, user, {}, {})


def _form(request: Request, user: Any, values: dict[str, Any], errors: FormErrors,
          status_code: int = 200, verdict: dict[str, Any] | None = None) -> Response:
    others = [a for a in authorities(request) if a.id != user.caller.id]
    return page(request, "notification_new.html", {
        "section": "new", "values": values, "errors": errors, "authorities": others,
        "units": UNITS, "modes": MODES, "verdict": verdict,
        "svg": structure_of(verdict) if verdict else "",
    }, user=user, status_code=status_code)


def notification_body(form: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The JSON body of a notification from the form's fields."""
    body: dict[str, Any] = {
        "substance": text(form, "substance") or "",
        "quantity": number(form, "quantity", errors),
        "unit": text(form, "unit"),
        "exporter": party(form, "exporter") or {"name": "", "address": "", "country": ""},
        "importer": party(form, "importer") or {"name": "", "address": "", "country": ""},
        "consignee": party(form, "consignee"),
        "importing_authority": text(form, "importing_authority") or "",
        "transit_authorities": [c for c in form.get("transit_authorities", []) if c],
        "transit_countries": codes(text(form, "transit_countries")),
        "planned_shipment_date": text(form, "planned_shipment_date"),
        "planned_arrival_date": text(form, "planned_arrival_date"),
        "point_of_entry": text(form, "point_of_entry") or "",
        "mode": text(form, "mode"),
        "exporter_reference": text(form, "exporter_reference"),
        "other_information": text(form, "other_information"),
        "permit": text(form, "permit"),
    }
    return {k: v for k, v in body.items() if v is not None or k in ("quantity", "unit",
                                                                    "planned_shipment_date")}


@router.post("/notifications/new", dependencies=[CsrfChecked])
async def send(request: Request, user: UserDep) -> Response:
    require_role(user, "officer", "approver")
    form = await read_form(request, "transit_authorities")
    return await run_in_threadpool(_send, request, user, form)


def _send(request: Request, user: Any, form: dict[str, Any]) -> Response:
    errors: FormErrors = {}
    body = notification_body(form, errors)
    if errors:
        return _form(request, user, form, errors, 422)
    try:
        data = NotificationIn.model_validate(body)
    except ValidationError as exc:
        return _form(request, user, form, validation_errors(exc), 422)
    ex = exchange_of(request)
    try:
        written = send_notification(ex, user.caller, data)
    except Invalid as exc:
        verdict = None
        if getattr(exc, "code", "") == "unidentified_substance":
            verdict = ex.check_substance(data.substance)
        return _form(request, user, form, service_errors(exc), 422, verdict)
    sent = record(written.text)
    return RedirectResponse(
        f"/notifications/{sent['id']}?done=sent&receipt={written.receipt}", status_code=303)


@router.get("/notifications/{notification_id}")
def detail(request: Request, user: UserDep,
           notification_id: str = NotificationId) -> Response:
    return _detail(request, user, notification_id)


@router.post("/notifications/{notification_id}/answer", dependencies=[CsrfChecked])
async def answer(request: Request, user: UserDep,
                 notification_id: str = NotificationId) -> Response:
    require_role(user, "approver")
    raw = await request.form()
    values = {"decision": str(raw.get("decision") or ""), "reason": str(raw.get("reason") or "")}
    return await run_in_threadpool(_answer, request, user, notification_id, values)


def _answer(request: Request, user: Any, notification_id: str, values: dict[str, str]
            ) -> Response:
    reason = values["reason"].strip() or None
    try:
        data = ResponseIn.model_validate({"decision": values["decision"], "reason": reason})
    except ValidationError as exc:
        errors = validation_errors(exc)
        errors = {("reason" if k == "form" else k): v for k, v in errors.items()}
        return _detail(request, user, notification_id, answer_errors=errors, answer=values,
                       status_code=422)
    try:
        written = answer_notification(exchange_of(request), user.caller,
                                              notification_id, data)
    except Conflict as exc:
        return _detail(request, user, notification_id, status_code=409,
                       answer_errors={"form": (CANNOT_ANSWER, {"detail": exc.message})},
                       answer=values)
    return RedirectResponse(
        f"/notifications/{notification_id}?done=answered&receipt={written.receipt}",
        status_code=303)


@router.get("/web/check")
def check(request: Request, user: UserDep, ex: ExchangeDep,
          identifier: str = Query("", max_length=CHECK_MAX)) -> Response:
    """The verdict of a substance as typed: name, verdict, the explanation (HTML, in the
    person's language) and the structure (sanitised SVG)."""
    given = identifier.strip()
    if not given:
        return JSONResponse({"verdict": None, "html": "", "svg": ""})
    verdict = ex.check_substance(given)
    svg = structure_of(verdict)
    html = render_template(language_for(request, user), "check_result.html",
                           {"v": verdict, "svg": svg})
    return JSONResponse({"verdict": verdict["verdict"], "name": verdict.get("name"),
                         "html": html, "svg": str(svg)})
