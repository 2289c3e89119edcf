"""The audit page: the authority's hash chain re-verified, link by link and record by record."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from precursorwatch.exchange import service
from precursorwatch.exchange.audit import Receipt
from precursorwatch.web.deps import ExchangeDep, UserDep
from precursorwatch.web.forms import FormErrors
from precursorwatch.web.i18n import N_
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

BAD_RECEIPT = N_("A receipt is SEQ:HASH, the link number and its 64-character hash, as shown "
                 "after each signed action.")


@router.get("/audit")
def audit(request: Request, user: UserDep, ex: ExchangeDep, receipt: str = "") -> Response:
    errors: FormErrors = {}
    receipts: list[Receipt] = []
    if receipt.strip():
        try:
            receipts.append(Receipt.parse(receipt[:200]))
        except ValueError:
            errors["receipt"] = (BAD_RECEIPT, {})
    report = service.verify_own_chain(ex, user.caller, receipts)
    return page(request, "audit.html", {
        "section": "audit", "report": report, "receipt": receipt[:200], "errors": errors,
        "checked_receipt": bool(receipts),
    }, user=user)
