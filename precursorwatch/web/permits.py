"""Import permits: the list (issued by the authority, and those for exports from its country),
the form to issue one, a permit's page with its compact form as text and as a QR code, its
revocation, and the page where anyone signed in checks a permit they were shown.

Handlers call `permit_store` with `user.caller`; the rules (who issues, who reads, who
revokes, what makes a permit valid) are the exchange's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

import segno
from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from precursorwatch.exchange import permit_store
from precursorwatch.exchange.errors import Conflict, Invalid, NotFound
from precursorwatch.exchange.permits import PermitIn, RevokeIn, authority_country, malformed
from precursorwatch.web.auth import require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of, record
from precursorwatch.web.forms import (
    BAD_TEXT,
    UNIDENTIFIED,
    FieldError,
    FormErrors,
    number,
    read_form,
    text,
    validation_errors,
)
from precursorwatch.web.i18n import N_, gettext
from precursorwatch.web.notifications import UNITS, UUID, structure_of
from precursorwatch.web.render import language_for, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
VERIFY_MAX_BYTES = 64_000  # a permit file is about 2 KB; a compact form at most 4,000 chars
STATUSES = ("valid", "not_yet_valid", "expired", "revoked")

PERMIT_NUMBER = N_("Use letters, digits, spaces and . / _ : # - only, starting with a letter "
                   "or digit.")
IMPORTER_COUNTRY = N_("A permit is issued by the importing country's authority: the importer "
                      "must be in %(country)s.")
NO_COUNTRY = N_("Your authority acts for no country, so it cannot issue import permits.")
UNTIL_PAST = N_("The last day of validity cannot be before today.")
FROM_AHEAD = N_("The first day of validity must be within a year from today.")
UNTIL_BEFORE_FROM = N_("The last day of validity must be on or after the first day.")
TOO_LONG_VALID = N_("A permit is valid for three years at most.")
SAME_COUNTRY = N_("The exporter country must differ from the importer's country.")
DUPLICATE_NUMBER = N_("Your authority already issued a permit with this number.")
REVOKE_REASON = N_("Say why the permit is revoked.")
ALREADY_REVOKED = N_("This permit was already revoked; a revocation is final.")
NOTHING_TO_VERIFY = N_("Paste a permit or choose its file.")
FILE_TOO_LARGE = N_("The file is too large to be a permit (at most 64 KB).")
NOT_TEXT = N_("The file is not text: a permit is a JSON file or its compact form.")

FLASHES = {
    "issued": N_("The permit was signed and issued. Audit receipt: %(receipt)s"),
    "revoked": N_("The permit was revoked. Audit receipt: %(receipt)s"),
}

# The exchange's messages for rules between a permit's fields, and the field each concerns.
_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^importer\.country: "), "importer.country", IMPORTER_COUNTRY),
    (re.compile(r"^valid_until: .* before today"), "valid_until", UNTIL_PAST),
    (re.compile(r"^valid_from: .* more than a year"), "valid_from", FROM_AHEAD),
    (re.compile(r"valid_until is before valid_from"), "valid_until", UNTIL_BEFORE_FROM),
    (re.compile(r"more than three years after"), "valid_until", TOO_LONG_VALID),
    (re.compile(r"exporter_country is the importer's country"), "exporter_country",
     SAME_COUNTRY),
    (re.compile(r"could not be identified"), "substance", UNIDENTIFIED),
    (re.compile(r"already issued"), "permit_number", DUPLICATE_NUMBER),
)


def permit_status(p: dict[str, Any], today: dt.date) -> str:
    """valid, not_yet_valid, expired or revoked, on `today` (UTC)."""
    if p.get("revoked"):
        return "revoked"
    doc = p["permit"]
    if today < dt.date.fromisoformat(doc["valid_from"]):
        return "not_yet_valid"
    if today > dt.date.fromisoformat(doc["valid_until"]):
        return "expired"
    return "valid"


def rule_errors(message: str, country: str | None) -> FormErrors:
    """The exchange's refusal of a permit (one or more rules, `; `-joined) as a message per
    field; a refusal not known here keeps its own words."""
    errors: FormErrors = {}
    for part in message.removeprefix("Value error, ").split("; "):
        for pattern, field, said in _RULES:
            if pattern.search(part):
                errors.setdefault(field, (said, {"country": country or "-"}))
                break
        else:
            errors.setdefault("form", (N_("This value is not accepted: %(detail)s"),
                                       {"detail": part}))
    return errors


def permit_errors(exc: ValidationError, country: str | None) -> FormErrors:
    """Pydantic's refusal of the form, field by field, with the permit's own rules named."""
    errors: FormErrors = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if loc == "permit_number" and err.get("type") == "string_pattern_mismatch":
            errors.setdefault(loc, (PERMIT_NUMBER, {}))
        elif not loc and err.get("type") == "value_error":
            msg = str(err.get("msg", ""))
            if "must not contain" in msg:
                continue  # a field's own check, named below
            for field, found in rule_errors(msg, country).items():
                errors.setdefault(field, found)
    for field, found in validation_errors(exc).items():
        if field in errors or (field == "form" and errors):
            continue
        errors.setdefault(field, found if field != "form" or found[0] != BAD_TEXT
                          else (BAD_TEXT, {}))
    return errors


def qr_code(compact: str, title: str) -> Markup:
    """The compact permit as a QR code, inline SVG drawn here (segno escapes the title)."""
    code = segno.make(compact, error="m", micro=False)
    svg = code.svg_inline(scale=3, title=title, svgclass="qr")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def _flash(request: Request, language: str) -> str:
    key = request.query_params.get("done", "")
    if key not in FLASHES:
        return ""
    receipt = request.query_params.get("receipt", "")[:90]
    return gettext(language, FLASHES[key], receipt=receipt or "-")


# -- the list -----------------------------------------------------------------------------------
@router.get("/permits")
def permits(request: Request, user: UserDep, ex: ExchangeDep,
            page_number: int = Query(1, alias="page")) -> Response:
    number_ = max(1, min(page_number, 100_000))
    rows = [record(t) for t in permit_store.list_permits(
        ex, user.caller, limit=PAGE_SIZE + 1, offset=(number_ - 1) * PAGE_SIZE)]
    today = ex.now().date()
    return page(request, "permits.html", {
        "section": "permits", "rows": rows[:PAGE_SIZE], "page_number": number_,
        "has_next": len(rows) > PAGE_SIZE,
        "statuses": {p["id"]: permit_status(p, today) for p in rows},
        "may_issue": user.role in ("officer", "approver")
        and authority_country(user.caller.code) is not None,
    }, user=user)


# -- issuing ------------------------------------------------------------------------------------
def _form(request: Request, user: Any, values: dict[str, Any], errors: FormErrors,
          status_code: int = 200, verdict: dict[str, Any] | None = None) -> Response:
    return page(request, "permit_new.html", {
        "section": "permits", "values": values, "errors": errors, "units": UNITS,
        "verdict": verdict, "svg": structure_of(verdict) if verdict else "",
        "today": exchange_of(request).now().date().isoformat(),
    }, user=user, status_code=status_code)


@router.get("/permits/new")
def new_form(request: Request, user: UserDep) -> Response:
    require_role(user, "officer", "approver")
    country = authority_country(user.caller.code)
    errors: FormErrors = {"form": (NO_COUNTRY, {})} if country is None else {}
    return _form(request, user, {"importer.country": country or ""}, errors)


def permit_body(form: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    """The JSON body of a permit from the form's fields."""
    exporter_country = (text(form, "exporter_country") or "").upper()
    exporter_name = text(form, "exporter.name")
    exporter_address = text(form, "exporter.address")
    exporter: dict[str, Any] | None = None
    if exporter_name or exporter_address:
        exporter = {"name": exporter_name or "", "country": exporter_country or None}
        if exporter_address:
            exporter["address"] = exporter_address
    importer: dict[str, Any] = {"name": text(form, "importer.name") or "",
                                "country": (text(form, "importer.country") or "").upper()}
    if (address := text(form, "importer.address")) is not None:
        importer["address"] = address
    return {
        "permit_number": text(form, "permit_number") or "",
        "substance": text(form, "substance") or "",
        "quantity": number(form, "quantity", errors),
        "unit": text(form, "unit"),
        "importer": importer,
        "exporter_country": exporter_country,
        "exporter": exporter,
        "valid_from": text(form, "valid_from"),
        "valid_until": text(form, "valid_until"),
    }


@router.post("/permits/new", dependencies=[CsrfChecked])
async def issue(request: Request, user: UserDep) -> Response:
    require_role(user, "officer", "approver")
    form = await read_form(request)
    return await run_in_threadpool(_issue, request, user, form)


def _issue(request: Request, user: Any, form: dict[str, Any]) -> Response:
    country = authority_country(user.caller.code)
    errors: FormErrors = {}
    body = permit_body(form, errors)
    if errors:
        return _form(request, user, form, errors, 422)
    try:
        data = PermitIn.model_validate(body)
    except ValidationError as exc:
        return _form(request, user, form, permit_errors(exc, country), 422)
    ex = exchange_of(request)
    try:
        written = permit_store.issue_permit(ex, user.caller, data)
    except (Invalid, Conflict) as exc:
        verdict = None
        if getattr(exc, "code", "") == "unidentified_substance":
            verdict = ex.check_substance(data.substance)
        return _form(request, user, form, rule_errors(exc.message, country),
                     409 if isinstance(exc, Conflict) else 422, verdict)
    made = record(written.text)
    return RedirectResponse(f"/permits/{made['id']}?done=issued&receipt={written.receipt}",
                            status_code=303)


# -- checking a permit one was shown --------------------------------------------------------------
def verification(ex: Any, given: str) -> dict[str, Any]:
    """The exchange's verification (online: revocation known) of what the holder gave: a JSON
    document, or else the compact form."""
    stripped = given.strip()
    if not stripped.startswith("{"):
        return permit_store.verify_presented(ex, {"compact": stripped})
    try:
        found = json.loads(stripped)
    except ValueError as exc:
        return malformed(f"the permit is not valid JSON: {exc}", ex.now().date()).to_dict()
    return permit_store.verify_presented(ex, found)


def _verify_page(request: Request, user: Any, values: dict[str, str], errors: FormErrors,
                 result: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    return page(request, "permit_verify.html", {
        "section": "permits", "values": values, "errors": errors, "result": result,
        "max_bytes": VERIFY_MAX_BYTES,
    }, user=user, status_code=status_code)


@router.get("/permits/verify")
def verify_form(request: Request, user: UserDep) -> Response:
    return _verify_page(request, user, {}, {})


@router.post("/permits/verify", dependencies=[CsrfChecked])
async def verify(request: Request, user: UserDep,
                 file: Annotated[UploadFile | None, File()] = None) -> Response:
    raw = await request.form()
    pasted = str(raw.get("permit") or "")
    content: bytes | None = None
    if file is not None and file.filename:
        content = await file.read(VERIFY_MAX_BYTES + 1)
    return await run_in_threadpool(_verify, request, user, pasted, content)


def _verify(request: Request, user: Any, pasted: str, content: bytes | None) -> Response:
    values = {"permit": pasted[:VERIFY_MAX_BYTES]}
    given = pasted
    if content:
        if len(content) > VERIFY_MAX_BYTES:
            return _verify_page(request, user, values, {"file": (FILE_TOO_LARGE, {})},
                                status_code=422)
        try:
            given = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _verify_page(request, user, values, {"file": (NOT_TEXT, {})},
                                status_code=422)
    if not given.strip():
        return _verify_page(request, user, values, {"permit": (NOTHING_TO_VERIFY, {})},
                            status_code=422)
    if len(given) > VERIFY_MAX_BYTES:
        return _verify_page(request, user, values, {"permit": (FILE_TOO_LARGE, {})},
                            status_code=422)
    result = verification(exchange_of(request), given)
    return _verify_page(request, user, values, {}, result)


# -- one permit -----------------------------------------------------------------------------------
def _detail(request: Request, user: Any, permit_id: str, *,
            errors: FormErrors | None = None, reason: str = "",
            status_code: int = 200) -> Response:
    ex = exchange_of(request)
    p = record(permit_store.get_permit(ex, user.caller, permit_id))
    doc = p["permit"]
    language = language_for(request, user)
    title = gettext(language, "Import permit %(number)s", number=doc["permit_number"])
    context: dict[str, Any] = {
        "section": "permits", "p": p, "doc": doc, "svg": structure_of(p["verdict"]),
        "qr": qr_code(p["compact"], title), "status": permit_status(p, ex.now().date()),
        "may_revoke": (user.role == "approver" and p["issuer"] == user.caller.code
                       and not p["revoked"]),
        "errors": errors or {}, "reason": reason,
    }
    if (said := _flash(request, language)):
        context["flash"] = said
    return page(request, "permit.html", context, user=user, status_code=status_code,
                language=language)


@router.get("/permits/{permit_id}")
def detail(request: Request, user: UserDep, permit_id: str = Path(pattern=UUID)) -> Response:
    return _detail(request, user, permit_id)


@router.get("/permits/{permit_id}/permit.json")
def download(user: UserDep, ex: ExchangeDep, permit_id: str = Path(pattern=UUID)) -> Response:
    """The signed permit as its holder keeps it: what `pwatch permit verify` and the verify
    page read."""
    p = record(permit_store.get_permit(ex, user.caller, permit_id))
    signed = {k: p[k] for k in ("permit", "issuer", "key_id", "signature", "compact")}
    number_ = re.sub(r"[^A-Za-z0-9._-]+", "_", p["permit"]["permit_number"])
    return JSONResponse(signed, headers={
        "Content-Disposition": f'attachment; filename="permit-{number_}.json"'})


@router.post("/permits/{permit_id}/revoke", dependencies=[CsrfChecked])
async def revoke(request: Request, user: UserDep,
                 permit_id: str = Path(pattern=UUID)) -> Response:
    require_role(user, "approver")
    raw = await request.form()
    reason = str(raw.get("reason") or "")
    return await run_in_threadpool(_revoke, request, user, permit_id, reason)


def _revoke(request: Request, user: Any, permit_id: str, reason: str) -> Response:
    try:
        data = RevokeIn.model_validate({"reason": reason})
    except ValidationError as exc:
        errors: dict[str, FieldError] = {}
        for field, found in validation_errors(exc).items():
            errors.setdefault("reason", found if field == "reason" and found[0] == BAD_TEXT
                              else (REVOKE_REASON, {}))
        return _detail(request, user, permit_id, errors=errors, reason=reason,
                       status_code=422)
    try:
        written = permit_store.revoke_permit(exchange_of(request), user.caller, permit_id, data)
    except Conflict:
        return _detail(request, user, permit_id, errors={"form": (ALREADY_REVOKED, {})},
                       reason=reason, status_code=409)
    return RedirectResponse(f"/permits/{permit_id}?done=revoked&receipt={written.receipt}",
                            status_code=303)


def readable_permit(request: Request, user: Any, permit_id: str | None) -> bool:
    """Whether the person's authority may read permit `permit_id` (its page would show)."""
    if not permit_id or not re.match(UUID, permit_id):
        return False
    try:
        permit_store.get_permit(exchange_of(request), user.caller, permit_id)
    except NotFound:
        return False
    return True
