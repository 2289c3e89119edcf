"""The analysts' web app, served by the exchange's process beside the API (Contract 4).

`mount_web(app)` adds the sign-in and page routes, the packaged static files and the offline
OpenAPI page, and makes errors on web paths HTML pages (a sign-in redirect, a 404 or 403
page) while the API under `/v1` keeps its JSON errors.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from precursorwatch.exchange.errors import ExchangeError, Forbidden, NotFound
from precursorwatch.web import (
    alerts,
    audit_page,
    dashboard,
    docs,
    inbox,
    incidents,
    notifications,
    permits,
    screen,
)
from precursorwatch.web.auth import SignInRequired, auth_router, optional_user, sign_in_redirect
from precursorwatch.web.i18n import gettext
from precursorwatch.web.render import language_for, page

log = logging.getLogger("precursorwatch.web")
STATIC = Path(str(files("precursorwatch.web") / "static"))
# Paths the API owns: errors there stay JSON.
API_PREFIXES = ("/v1/", "/v1", "/healthz", "/openapi.json")


def is_web(request: Request) -> bool:
    path = request.url.path
    return not any(path == p or path.startswith(p.rstrip("/") + "/") for p in API_PREFIXES)


def _signed_in_or_none(request: Request) -> object | None:
    try:
        return optional_user(request)
    except Exception:  # an error page must render even when the session cannot be read
        return None


def error_page(request: Request, status: int, reason: str | None = None) -> HTMLResponse:
    """The 403, 404 or other error page, in the person's language; `reason` (a message of
    the catalogs, e.g. why a form was refused) is said where the language has it."""
    user: Any = _signed_in_or_none(request)
    language = language_for(request, user)
    said = gettext(language, reason) if reason else ""
    shown = said if said and (language == "en" or said != reason) else ""
    return page(request, "error.html", {"status": status, "reason": shown}, user=user,
                status_code=status, language=language)


WebHandler = Callable[[Request, Exception], Awaitable[Response]]


def _wrap(app: FastAPI, kind: type[Exception] | int, web: WebHandler) -> None:
    """On web paths `web` answers; elsewhere the handler create_app installed (JSON)."""
    api = app.exception_handlers.get(kind)

    async def handler(request: Request, exc: Exception) -> Response:
        if is_web(request) or api is None:
            return await web(request, exc)
        answered = api(request, exc)
        return await answered if inspect.isawaitable(answered) else answered

    app.add_exception_handler(kind, handler)


async def _exchange_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotFound):
        return error_page(request, 404)
    if isinstance(exc, Forbidden):
        return error_page(request, 403, exc.message)
    status = exc.status if isinstance(exc, ExchangeError) else 500
    return error_page(request, status)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    return error_page(request, status)


async def _invalid(request: Request, _exc: Exception) -> Response:
    # A web path with a malformed parameter (an id that is not a record's): nothing there.
    return error_page(request, 404)


async def _unavailable(request: Request, _exc: Exception) -> Response:
    return error_page(request, 503)


async def _failed(request: Request, exc: Exception) -> Response:
    log.error("web page failed: %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500)


def mount_web(app: FastAPI) -> None:
    """Add the web app to the exchange's FastAPI app (call after its handlers are set)."""
    # Mounted before /static, which would otherwise take its paths.
    app.mount(docs.ASSETS_PATH, docs.swagger_assets(), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth_router)
    for module in (inbox, notifications, incidents, permits, alerts, screen, dashboard,
                   audit_page, docs):
        app.include_router(module.router)
    _wrap(app, ExchangeError, _exchange_error)
    _wrap(app, StarletteHTTPException, _http_error)
    _wrap(app, RequestValidationError, _invalid)
    _wrap(app, DBAPIError, _unavailable)
    _wrap(app, Exception, _failed)
    app.add_exception_handler(SignInRequired, sign_in_redirect)
