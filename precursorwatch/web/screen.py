"""Screening a manifest in the browser: upload a CSV or XLSX file, read the report as
`pwatch screen --format html` writes it, and share flagged shipments with another authority
as shipment alerts (each with its manifest row and its screening result, as
`pwatch screen --share-with` sends them).
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from precursorwatch.exchange import alerts
from precursorwatch.exchange.audit import Receipt
from precursorwatch.exchange.errors import Invalid
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange
from precursorwatch.screen.model import ShipmentResult
from precursorwatch.screen.rules import CONCERN
from precursorwatch.screen.share import Flagged, default_reason, flagged_shipments
from precursorwatch.web.auth import WebUser, require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of
from precursorwatch.web.forms import FormErrors
from precursorwatch.web.i18n import N_
from precursorwatch.web.notifications import authorities
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

FORMATS = (".csv", ".tsv", ".txt", ".xlsx")
SHOWN_FLAGGED = 200  # flagged shipments offered for sharing

NO_FILE = N_("Choose a manifest file to screen.")
BAD_FORMAT = N_("The file must be a .csv, .tsv or .xlsx manifest.")
TOO_BIG = N_("The file is larger than %(size)s KB, the most this exchange accepts.")
EMPTY_FILE = N_("The file is empty.")
CANNOT_SCREEN = N_("The manifest cannot be screened:")
NOTHING_CHOSEN = N_("Choose at least one shipment to share.")
NO_AUTHORITY = N_("Choose the authority to share with.")
BAD_SHIPMENT = N_("A chosen shipment could not be read; screen the file again.")
NOT_ALL_SHARED = N_("These shipments could not be shared (any others chosen were):")


def upload_limit(ex: Exchange) -> int:
    """The largest manifest the page takes: the upload limit of its form post, less room for
    the rest of the form."""
    return max(ex.settings.max_upload_bytes - 4096, 1024)


def shipment_summary(r: ShipmentResult) -> dict[str, Any]:
    """What is carried from the report to the sharing form for one flagged shipment."""
    concern = [c for c in r.chemicals if c.get("verdict") in CONCERN]
    chemical = (concern or list(r.chemicals) or [{}])[0]
    return {
        "shipment_id": r.shipment_id, "row": r.row, "risk": r.risk, "level": r.level,
        "substance": (chemical.get("name") or chemical.get("input") or r.description)[:200],
        "country": r.consignee_country, "description": r.description[:300],
        "shipper": r.shipper_name, "consignee": r.consignee_name,
        "flags": [[f.code, f.detail] for f in r.flags],
        "chemicals": [f"{c.get('name') or c.get('input')} ({c.get('verdict')})"
                      for c in r.chemicals],
        "parties": [f"{p.role}: {p.name} ~ {p.entry} ({p.list} {', '.join(p.programmes)}, "
                    f"{p.score:.2f})" for p in r.parties],
        "rule_set": f"{r.rule_set} {r.rule_set_version}",
    }


def shared_shipment(r: ShipmentResult, flagged: Flagged | None) -> dict[str, Any]:
    """What the sharing form carries for one flagged shipment: its summary for the table,
    and the manifest row, screening result and reference an alert is made of."""
    found = shipment_summary(r)
    if flagged is not None:
        found.update(shipment=flagged.shipment, screening=flagged.screening,
                     reference=flagged.reference)
    return found


def share_flagged(ex: Exchange, caller: Caller, shipment: dict[str, Any], authority: str,
                  source: str) -> alerts.Sent:
    """Share one flagged shipment with `authority` as a shipment alert. Its reference is the
    shipment's in this manifest and the authority's: the same form sent twice shares once."""
    screening = shipment["screening"]
    reference = shipment.get("reference")
    data = alerts.AlertIn.model_validate({
        "shipment": shipment["shipment"], "screening": screening,
        "reason": f"{default_reason(screening)} Manifest {source}, row {shipment['row']}.",
        "share_with": [authority],
        **({"reference": f"{reference}:{authority}"} if isinstance(reference, str) else {}),
    })
    return alerts.send_alert(ex, caller, data)


def _page(request: Request, user: WebUser, *, errors: FormErrors | None = None,
          problems: list[str] | None = None, report: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    ex = exchange_of(request)
    others = [a for a in authorities(request) if a.id != user.caller.id]
    return page(request, "screen.html", {
        "section": "screen", "errors": errors or {}, "problems": problems or [],
        "report": report, "authorities": others, "limit_kb": upload_limit(ex) // 1024,
        "may_share": user.role in ("officer", "approver"),
    }, user=user, status_code=status_code)


@router.get("/screen")
def screen_form(request: Request, user: UserDep) -> Response:
    return _page(request, user)


@router.post("/screen", dependencies=[CsrfChecked])
def screen_upload(request: Request, user: UserDep, ex: ExchangeDep,
                  manifest: Annotated[UploadFile | None, File()] = None) -> Response:
    from precursorwatch.screen.engine import screen_file
    from precursorwatch.screen.readers import ManifestError
    from precursorwatch.screen.report import render_html

    if manifest is None or not manifest.filename:
        return _page(request, user, errors={"manifest": (NO_FILE, {})}, status_code=422)
    name = Path(manifest.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        return _page(request, user, errors={"manifest": (BAD_FORMAT, {})}, status_code=422)
    limit = upload_limit(ex)
    content = manifest.file.read(limit + 1)
    if len(content) > limit:
        return _page(request, user, errors={"manifest": (TOO_BIG, {"size": limit // 1024})},
                     status_code=413)
    if not content.strip():
        return _page(request, user, errors={"manifest": (EMPTY_FILE, {})}, status_code=422)
    with tempfile.TemporaryDirectory(prefix="pwatch-upload-") as folder:
        path = Path(folder) / f"manifest{suffix}"
        path.write_bytes(content)
        try:
            run = screen_file(path)
            rows = {f.screening["row"]: f for f in flagged_shipments(path, {}, run.results,
                                                                     "medium")}
        except ManifestError as exc:
            return _page(request, user, errors={"manifest": (CANNOT_SCREEN, {})},
                         problems=[str(p).replace(str(path), name) for p in exc.problems],
                         status_code=422)
    run.path = Path(name)
    html = render_html(run)
    flagged = sorted((r for r in run.results if r.level in ("high", "medium")),
                     key=lambda r: (-r.risk, r.row))[:SHOWN_FLAGGED]
    levels = {k: sum(1 for r in run.results if r.level == k)
              for k in ("high", "medium", "low", "none")}
    report = {
        "source": name, "total": len(run.results), "levels": levels,
        "html": html, "download": base64.b64encode(html.encode()).decode(),
        "flagged": [(shipment_summary(r), json.dumps(shared_shipment(r, rows.get(r.row)),
                                                     ensure_ascii=False)) for r in flagged],
    }
    return _page(request, user, report=report)


@router.post("/screen/share", dependencies=[CsrfChecked])
def share(request: Request, user: UserDep, ex: ExchangeDep,
          shipment: Annotated[list[str] | None, Form()] = None,
          authority: Annotated[str, Form()] = "",
          source: Annotated[str, Form()] = "manifest") -> Response:
    require_role(user, "officer", "approver")
    shipment = shipment or []
    errors: FormErrors = {}
    if not shipment:
        errors["shipment"] = (NOTHING_CHOSEN, {})
    codes = {a.code for a in authorities(request) if a.id != user.caller.id}
    if authority not in codes:
        errors["authority"] = (NO_AUTHORITY, {})
    chosen: list[dict[str, Any]] = []
    for text in shipment:
        try:
            found = json.loads(text)
            if not isinstance(found, dict) or not isinstance(found.get("shipment"), dict) \
                    or not isinstance(found.get("screening"), dict):
                raise ValueError(text[:40])
            chosen.append(found)
        except ValueError:
            errors["shipment"] = (BAD_SHIPMENT, {})
    if errors:
        return _page(request, user, errors=errors, status_code=422)
    last: Receipt | None = None
    problems: list[str] = []
    for s in chosen:  # a shipment the exchange refuses is named; the others still go
        try:
            last = share_flagged(ex, user.caller, s, authority, source[:200]).receipt or last
        except (Invalid, ValidationError) as exc:
            detail = (exc.message if isinstance(exc, Invalid)
                      else "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                     for e in exc.errors()[:3]))
            problems.append(f"{s.get('shipment_id')}: {detail}")
    if problems:
        return _page(request, user, errors={"shipment": (NOT_ALL_SHARED, {})},
                     problems=problems, status_code=422)
    return RedirectResponse(f"/alerts?done=shared&receipt={last or ''}", status_code=303)

