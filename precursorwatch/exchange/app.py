"""The exchange's FastAPI application: `create_app()` builds one service over one database."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from precursorwatch.exchange.db import make_engine, migrate
from precursorwatch.exchange.errors import ExchangeError, RateLimited
from precursorwatch.exchange.http import MAX_HEAD_BYTES, MAX_HEADERS
from precursorwatch.exchange.limits import LocalRateLimits, RateLimits, SharedRateLimits
from precursorwatch.exchange.routers import (
    alerts,
    authorities,
    incidents,
    integrators,
    notifications,
    permits,
    subscriptions,
)
from precursorwatch.exchange.schemas import shown as escaped
from precursorwatch.exchange.scope import KnownKeys
from precursorwatch.exchange.service import Clock, Exchange, SubstanceChecker, system_clock
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import KeyVault

log = logging.getLogger("precursorwatch.exchange")

DESCRIPTION = """
Authorities exchange pre-export notifications (Art. 12(10)(a) of the 1988 Convention) and share
seizures and stopped shipments. Every notified substance is resolved and checked against the
control lists on receipt; every record is signed with the sending authority's Ed25519 key and
logged in its hash-chained audit log. Each authority sees only the records it is party to.

Authenticate with `Authorization: Bearer KEY` (keys come from `pwatch admin add-authority`).
Errors are `{"error": {"code": "...", "message": "..."}}` with a fitting status: 400 for a
request that cannot be read (the code says why), 401, 403, 404, 405 (with the path's full
`Allow`; `OPTIONS` answers 204 with it), 409 for a record changed meanwhile, 413, 422 for bad
values (the message names the field), 429, 431 for over-long or too many headers, 503.
"""


def encodable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate quoted from the input (JSON allows
    `"\\ud800"`, UTF-8 does not) is written as its escape, `\\ud800`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """Every error the service answers, in one shape; the message may quote the input, so
    it is made encodable here, for every error path at once."""
    return JSONResponse({"error": {"code": code, "message": encodable(message)}},
                        status_code=status, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized",
               413: "body_too_large", 415: "unsupported_media_type"}


def body_error(cause: BaseException | None) -> tuple[str, str] | None:
    """The code and message for a body FastAPI could not parse (it answers 400 "There was an
    error parsing the body" and keeps the reason as the cause), or None for another 400."""
    if isinstance(cause, UnicodeDecodeError):
        return ("invalid_utf8", f"body is not valid UTF-8: byte 0x{cause.object[cause.start]:02x} "
                f"at offset {cause.start}")
    if isinstance(cause, RecursionError):
        return ("json_too_deep", "body nests JSON arrays or objects too deeply (no request "
                "needs more than a few levels)")
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return ("number_too_long", "body has an integer of more than "
                f"{sys.get_int_max_str_digits()} digits")
    return None


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route answers at the request's path (Starlette's 405 names only the
    first route's), with OPTIONS, which the service answers for every path. Each method is
    tried against the routes as the router would match it."""
    methods = {"OPTIONS"}
    for method in _METHODS:
        trial = {**scope, "method": method}
        if any(route.matches(trial)[0] == Match.FULL for route in routes):
            methods.add(method)
    return sorted(methods)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "request"


def validation_message(errors: list[Any]) -> str:
    """One line per problem, each naming the field: `body.quantity: must be greater than 0`."""
    lines = []
    for err in errors[:10]:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            lines.append(f"body is not valid JSON: {err.get('ctx', {}).get('error', '')}".strip())
            continue
        if err.get("type") == "missing" and loc == ("body",):
            lines.append("body: a JSON object is required")
            continue
        msg = str(err.get("msg", "invalid"))
        shown = err.get("input")
        given = ""
        if err.get("type") not in ("missing", "extra_forbidden") and not isinstance(
                shown, dict | list) and shown is not None:
            text = escaped(json.dumps(shown, ensure_ascii=False, default=str))
            given = f" (got {text[:60]}{'…' if len(text) > 60 else ''})"
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "string_unicode":  # a key or value with a lone surrogate
            msg = "not valid Unicode text (a lone surrogate)"
        lines.append(f"{_field(loc)}: {msg}{given}")
    if len(errors) > 10:
        lines.append(f"… and {len(errors) - 10} more")
    return "; ".join(lines)


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413 before any route reads them, whether the
    client declared Content-Length or streamed the body in chunks. The paths in `uploads`
    (the web app's manifest upload) take files up to their own, larger limit."""

    def __init__(self, app: ASGIApp, limit: int, uploads: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = error_response(413, "body_too_large",
                                   f"request body over {limit} bytes")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class HeaderLimits:
    """Refuses, before any route runs, a request with more than `MAX_HEADERS` headers or a
    head over `MAX_HEAD_BYTES` (431; `pwatch serve` bounds the head while reading it, this
    holds under any server), and one with two `Authorization` headers (400: which key counts
    would depend on the parser)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            refusal: JSONResponse | None = None
            if len(headers) > MAX_HEADERS:
                refusal = error_response(431, "too_many_headers",
                                         f"{len(headers)} headers; at most {MAX_HEADERS}")
            elif sum(len(n) + len(v) + 4 for n, v in headers) > MAX_HEAD_BYTES:
                refusal = error_response(431, "headers_too_large",
                                         f"the headers exceed {MAX_HEAD_BYTES} bytes")
            elif sum(1 for n, _ in headers if n == b"authorization") > 1:
                refusal = error_response(400, "duplicate_header",
                                         "more than one Authorization header; send one")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: ExchangeSettings | None = None, *,
               checker: SubstanceChecker | None = None, clock: Clock = system_clock,
               engine: Engine | None = None) -> FastAPI:
    """The service over `settings.db_url`, migrated to the newest schema before it serves.

    `checker` defaults to the bundled control lists (`Checker.long_running()`: loaded once,
    OPSIN kept running for systematic names);
    `clock` decides deadlines (inject one to test expiry).
    """
    settings = settings or ExchangeSettings.from_env()
    engine = engine or make_engine(settings.db_url, schema=settings.db_schema)
    migrate(engine)
    if checker is None:
        from precursorwatch.detect.check import Checker

        checker = Checker.long_running()
    vault = KeyVault.open(settings.secret, settings.secret_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Deliveries (webhooks, e-mail) run beside the service when `settings.deliver`."""
        dispatcher = None
        if settings.deliver:
            from precursorwatch.exchange.dispatch import Dispatcher

            dispatcher = Dispatcher(app.state.exchange)
            dispatcher.start(settings.deliver_interval)
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.close()

    # docs_url=None: /docs is the web app's offline page (no CDN; see web/docs.py).
    app = FastAPI(title="Precursor Watch exchange", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan,
                  openapi_tags=[
                      {"name": "notifications", "description": "Pre-export notifications."},
                      {"name": "incidents", "description": "Seizures and stopped shipments."},
                      {"name": "permits", "description": "Import permits, verifiable by "
                                                        "anyone."},
                      {"name": "authorities", "description": "Who is on the exchange."},
                      {"name": "integrators", "description": "Substance checks and party "
                                                             "matches for other systems."},
                      {"name": "audit", "description": "Integrity of the records."},
                      {"name": "subscriptions", "description": "Webhooks and e-mail telling "
                                                               "you of your records."}])
    app.state.exchange = Exchange(engine, settings, vault, checker, clock)
    limits: RateLimits = (
        SharedRateLimits(settings.rate_limit, settings.rate_window_seconds)
        if engine.dialect.name == "postgresql"
        else LocalRateLimits(settings.rate_limit, settings.rate_window_seconds))
    app.state.rate_limits = limits
    app.state.known_keys = KnownKeys()
    app.include_router(notifications.router)
    app.include_router(incidents.router)
    app.include_router(authorities.router)
    app.include_router(integrators.router)
    app.include_router(permits.router)
    app.include_router(subscriptions.router)
    app.include_router(alerts.router)

    @app.get("/healthz", tags=["audit"], summary="Liveness",
             responses={200: {"content": {"application/json": {"example": {"ok": True}}}}})
    def healthz() -> dict[str, bool]:
        """No authentication; says the process serves requests."""
        return {"ok": True}

    @app.exception_handler(ExchangeError)
    async def _exchange_error(_request: Request, exc: ExchangeError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", validation_message(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request.app.router.routes, request.scope))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            return error_response(405, "method_not_allowed",
                                  f"{request.method} is not allowed here; use {allow}",
                                  {"Allow": allow})
        if exc.status_code == 400 and (found := body_error(exc.__cause__)) is not None:
            return error_response(400, *found)
        return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"),
                              str(exc.detail), dict(exc.headers or {}) or None)

    @app.exception_handler(DBAPIError)
    async def _database(_request: Request, exc: DBAPIError) -> JSONResponse:
        if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
            return await _unexpected(_request, exc)
        # The database went away (restart, network): the pool starts afresh, so a retry
        # usually succeeds. A write cut off while committing may have been stored.
        log.warning("database unavailable: %s", (str(exc.orig).strip().splitlines() or [""])[0])
        return error_response(503, "database_unavailable",
                              "the database connection was lost; retry in a moment (after a "
                              "failed write, read first: it may have been stored)",
                              {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "the service failed; nothing was stored")

    from precursorwatch.web.app import mount_web  # the analysts' pages, after the handlers

    mount_web(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       uploads={"/screen": settings.max_upload_bytes})
    app.add_middleware(HeaderLimits)  # added last: runs first
    return app


def serving_app() -> FastAPI:
    """The app as `pwatch serve` runs it in each worker process: `create_app` from the
    environment, with OPSIN started. Then the objects built so far (control lists, structures,
    indexes: about 130,000 that live as long as the process) are moved out of the garbage
    collector's view; otherwise every full collection walks them all, a pause of about 70 ms
    that stalls every request in flight."""
    app = create_app()
    _start_opsin(app.state.exchange.checker)
    _open_connections(app.state.exchange.engine, SERVING_CONNECTIONS)
    gc.collect()
    gc.freeze()
    return app


# Connections a worker opens before serving: about as many as requests it serves at once.
SERVING_CONNECTIONS = 8


def _open_connections(engine: Engine, count: int) -> None:
    """Fill the pool now: a new PostgreSQL connection starts a server process (tens of ms on
    a busy host), which the first burst of requests would otherwise wait for. The pool keeps
    them (up to its size)."""
    if engine.dialect.name != "postgresql":
        return
    opened = [engine.connect() for _ in range(min(count, engine.pool.size()))]  # type: ignore[attr-defined]
    for connection in opened:
        connection.close()


def _start_opsin(checker: SubstanceChecker) -> None:
    """Start the worker's OPSIN now (about 0.5 s), not in the first request that names a
    substance systematically."""
    from precursorwatch.chem.opsin import OpsinProcess, OpsinUnavailable
    from precursorwatch.detect.check import Checker

    if isinstance(checker, Checker) and isinstance(checker.resolver.name_parser, OpsinProcess):
        try:
            checker.resolver.name_parser(["methane"])
        except OpsinUnavailable as exc:
            log.warning("systematic names will not be parsed: %s", exc)
