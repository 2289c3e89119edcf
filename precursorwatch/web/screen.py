"""Screening a manifest in the browser: upload a CSV or XLSX file, read the report as
`pwatch screen --format html` writes it, and share flagged shipments with another authority.

Until shipment alerts exist, a shared shipment becomes an incident shared with the chosen
authority carrying the shipment's screening result (`share_flagged`, the one place to change
when alerts arrive).
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

from precursorwatch.exchange import service
from precursorwatch.exchange.audit import Receipt
from precursorwatch.exchange.errors import Invalid
from precursorwatch.exchange.schemas import IncidentIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange
from precursorwatch.screen.model import ShipmentResult
from precursorwatch.screen.rules import CONCERN
from precursorwatch.web.auth import WebUser, require_role
from precursorwatch.web.deps import CsrfChecked, ExchangeDep, UserDep, exchange_of
from precursorwatch.web.forms import FormErrors
from precursorwatch.web.i18n import N_
from precursorwatch.web.notifications import authorities
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

FORMATS = (".csv", ".tsv", ".txt", ".xlsx")
SHOWN_FLAGGED = 200  # flagged shipments offered for sharing
NOTES_MAX = 4000

NO_FILE = N_("Choose a manifest file to screen.")
BAD_FORMAT = N_("The file must be a .csv, .tsv or .xlsx manifest.")
TOO_BIG = N_("The file is larger than %(size)s KB, the most this exchange accepts.")
EMPTY_FILE = N_("The file is empty.")
CANNOT_SCREEN = N_("The manifest cannot be screened:")
NOTHING_CHOSEN = N_("Choose at least one shipment to share.")
NO_AUTHORITY = N_("Choose the authority to share with.")
BAD_SHIPMENT = N_("A chosen shipment could not be read; screen the file again.")


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


def screening_notes(s: dict[str, Any], source: str) -> str:
    """The screening result of one shipment as an incident's notes (as the report words it)."""
    lines = [f"Screening result of shipment {s['shipment_id']} (row {s['row']} of {source}): "
             f"risk {s['risk']}, level {s['level']} (rules {s['rule_set']}).",
             f"Goods: {s['description']}"]
    if s.get("shipper") or s.get("consignee"):
        lines.append(f"Shipper: {s.get('shipper') or '-'}; consignee: "
                     f"{s.get('consignee') or '-'} ({s.get('country') or '-'})")
    lines += [f"Flag {code}: {detail}" for code, detail in s.get("flags", [])]
    if s.get("chemicals"):
        lines.append("Chemicals: " + "; ".join(s["chemicals"]))
    lines += [f"Watchlist: {p}" for p in s.get("parties", [])]
    text = "\n".join(lines)
    return text if len(text) <= NOTES_MAX else text[:NOTES_MAX - 1] + "…"


def share_flagged(ex: Exchange, caller: Caller, shipment: dict[str, Any], authority: str,
                  source: str) -> service.Written:
    """Share one flagged shipment with `authority`: for now an incident (a suspicious order)
    shared with it, its notes the shipment's screening result."""
    country = str(shipment.get("country") or "")
    data = IncidentIn.model_validate({
        "kind": "suspicious_order",
        "substance": str(shipment["substance"]) or str(shipment["shipment_id"]),
        "incident_date": ex.now().date().isoformat(),
        "route": [country] if len(country) == 2 and country.isalpha() else [],
        "notes": screening_notes(shipment, source),
        "shared_with": [authority],
    })
    return service.report_incident(ex, caller, data)


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
        "flagged": [(shipment_summary(r), json.dumps(shipment_summary(r),
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
            if not isinstance(found, dict) or "shipment_id" not in found:
                raise ValueError(text[:40])
            chosen.append(found)
        except ValueError:
            errors["shipment"] = (BAD_SHIPMENT, {})
    if errors:
        return _page(request, user, errors=errors, status_code=422)
    last: Receipt | None = None
    try:
        for s in chosen:
            last = share_flagged(ex, user.caller, s, authority, source[:200]).receipt
    except (Invalid, ValidationError) as exc:
        detail = exc.message if isinstance(exc, Invalid) else str(exc.errors()[0].get("msg"))
        return _page(request, user, errors={"shipment": (BAD_SHIPMENT, {})},
                     problems=[detail], status_code=422)
    return RedirectResponse(f"/incidents?done=shared&receipt={last}", status_code=303)

