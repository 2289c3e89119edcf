"""What every page handler takes: the signed-in person and the running exchange."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from precursorwatch.exchange.service import Exchange
from precursorwatch.web.auth import WebUser, csrf_protect, current_user

UserDep = Annotated[WebUser, Depends(current_user)]
CsrfChecked = Depends(csrf_protect)


def exchange_of(request: Request) -> Exchange:
    ex: Exchange = request.app.state.exchange
    return ex


ExchangeDep = Annotated[Exchange, Depends(exchange_of)]


def record(text: str) -> dict[str, Any]:
    """A record as the service serves it (JSON text), as a dict for the templates."""
    found: dict[str, Any] = json.loads(text)
    return found
