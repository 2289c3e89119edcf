"""FastAPI dependencies: the running Exchange and the authenticated, rate-limited caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from precursorwatch.exchange.errors import Unauthorized
from precursorwatch.exchange.http import MAX_HEAD_BYTES, MAX_HEADERS
from precursorwatch.exchange.limits import Count, RateLimits, SharedRateLimits
from precursorwatch.exchange.schemas import ErrorBody
from precursorwatch.exchange.scope import Caller, KnownKeys, identify, key_hash
from precursorwatch.exchange.service import NOT_RUN, Exchange, ScopedRead
from precursorwatch.exchange.signed import Written

T = TypeVar("T")

# Declared for the OpenAPI page; the header itself is checked in `current_caller` so that every
# failure gets the service's JSON error.
bearer = HTTPBearer(auto_error=False, description="The API key issued by "
                    "`pwatch admin add-authority`, as `Authorization: Bearer KEY`.")


async def get_exchange(request: Request) -> Exchange:
    # async: no I/O here, so no hop to the thread pool
    exchange: Exchange = request.app.state.exchange
    return exchange


@dataclass(frozen=True)
class Credentials:
    """The caller's key, checked for form, and its holder: either identified and counted
    already (`counted`), or known from a moment ago (`known`, see `KnownKeys`) and still to be
    looked up and counted, which `caller()` and `read()` do in a worker thread."""

    exchange: Exchange
    limits: RateLimits
    keys: KnownKeys
    hashed_key: str
    counted: Caller | None = None
    known: Caller | None = None

    def caller(self) -> Caller:
        """The authority holding the key, counted against its rate limit; blocking."""
        if self.counted is not None:
            return self.counted
        try:
            return self.exchange.read(
                lambda connection: identify(connection, self.hashed_key, self.limits))
        except Unauthorized:
            self.keys.forget(self.hashed_key)
            raise

    async def run(self, work: Callable[[Caller], T]) -> T:
        """Identify the caller and do `work` for it in one hop to the thread pool: each hop
        costs a context switch and a wait for a free thread, more than a short read's query."""
        return await run_in_threadpool(lambda: work(self.caller()))

    async def read(self, work: Callable[[Caller, Count | None], T]) -> T:
        """As `run`, for a read or write that takes a `Count`: the key is looked up and the
        request counted along with the work's own statements (see `Count`)."""
        if self.counted is not None or self.known is None:
            return await self.run(lambda caller: work(caller, None))
        known = self.known
        try:
            return await run_in_threadpool(work, known, Count(self.limits, self.hashed_key))
        except Unauthorized:
            self.keys.forget(self.hashed_key)
            raise

    async def write(self, work: Callable[[Caller, Count | None], T], *,
                    on_loop: bool = True) -> T:
        """As `read`, for a signed write: on PostgreSQL, with the key known and `on_loop`
        (the write blocks on nothing but its batch), run on the event loop
        (`Exchange.on_loop`); else in the thread pool."""
        exchange, known = self.exchange, self.known
        if (on_loop and self.counted is None and known is not None
                and isinstance(self.limits, SharedRateLimits)):
            count = Count(self.limits, self.hashed_key)
            try:
                done = await exchange.on_loop(lambda: work(known, count))
            except Unauthorized:
                self.keys.forget(self.hashed_key)
                raise
            if done is not NOT_RUN:
                return done
        return await self.read(work)

    async def rows(self, read: Callable[[Caller], ScopedRead]) -> list[tuple[Any, ...]]:
        """The rows of the caller's `read`, the request counted against its key. On
        PostgreSQL, with the key known, in the statement that counts the request, run on the
        event loop (`db.LoopConnections`); else through the engine in the thread pool."""
        exchange, known = self.exchange, self.known
        reads = exchange.loop_connections
        if (self.counted is None and known is not None and reads is not None
                and isinstance(self.limits, SharedRateLimits)):
            scoped = read(known)
            counted = self.limits.page_with_count(self.hashed_key, scoped.statement,
                                                  scoped.params, scoped.order)
            found = await reads.rows(counted.sql, counted.params)
            if found is not None:
                try:
                    return counted.rows(found)
                except Unauthorized:
                    self.keys.forget(self.hashed_key)
                    raise
        return await self.read(lambda caller, count: exchange.scoped(read(caller), count))


async def served_copies(exchange: Exchange, model: type[Any], ids: list[str]) -> list[bytes]:
    """`Exchange.served_copies` of `ids` for a page: those kept already at no I/O, else read
    in the thread pool (records not seen yet)."""
    copies = exchange.served_copies(model)
    kept = copies.kept(ids)
    return kept if kept is not None else await run_in_threadpool(copies.of, exchange, ids)


async def authorized(request: Request) -> Credentials:
    """The caller's `Credentials`, for an endpoint to call itself: a read route resolves them
    so rather than through FastAPI's dependency chain (`AuthDep`), whose resolution costs
    about as much server CPU as the rest of a single read. 401 for a missing or bad header."""
    state = request.app.state
    exchange: Exchange = state.exchange
    limits: RateLimits = state.rate_limits
    keys: KnownKeys = state.known_keys
    hashed = key_hash(request.headers.get("authorization"))
    known = keys.get(hashed)
    if known is not None:
        return Credentials(exchange, limits, keys, hashed, known=known)
    # Unknown here: look the key up now (and count the request), so that a bad key gets 401
    # before the body is even validated.
    counted = await run_in_threadpool(
        exchange.read, lambda connection: identify(connection, hashed, limits))
    keys.add(hashed, counted)
    return Credentials(exchange, limits, keys, hashed, counted=counted)


async def credentials(
    request: Request,
    _exchange: Annotated[Exchange, Depends(get_exchange)],
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Credentials:
    return await authorized(request)


def current_caller(auth: Annotated[Credentials, Depends(credentials)]) -> Caller:
    return auth.caller()


def served(text: str, status_code: int = 200) -> Response:
    """A response of JSON text the service already rendered (see `records`)."""
    return Response(text.encode(), status_code=status_code, media_type="application/json")


def written(record: Written, status_code: int = 200) -> Response:
    """A signed record just written, with the receipt of its audit link in `Audit-Receipt`."""
    response = served(record.text, status_code)
    response.headers["Audit-Receipt"] = str(record.receipt)
    return response


def receipt_header(status: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for the `Audit-Receipt` header of a write's response."""
    return {status: {"headers": {"Audit-Receipt": {
        "description": "The new link of your audit chain, `SEQ:HASH`. Keep the latest: "
                       "`GET /v1/audit/verify?receipt=SEQ:HASH` then also shows a chain cut "
                       "back behind it.",
        "schema": {"type": "string", "example": "12:" + "3f" * 32}}}}}


def served_page(items: list[str] | list[bytes], *, limit: int, offset: int) -> Response:
    """`{"items": [...], "limit": n, "offset": n}` around records rendered as JSON text (or
    that text as UTF-8)."""
    parts = [b'{"items":[']
    for item in items:
        parts += (item.encode() if isinstance(item, str) else item, b",")
    if items:
        parts.pop()
    parts.append(b'],"limit":%d,"offset":%d}' % (limit, offset))
    return Response(b"".join(parts), media_type="application/json")  # copied once


ExchangeDep = Annotated[Exchange, Depends(get_exchange)]
CallerDep = Annotated[Caller, Depends(current_caller)]
# For routes that do their database work in `Credentials.run`, in the same hop as the look-up.
AuthDep = Annotated[Credentials, Depends(credentials)]
# The same for reads with query parameters, resolved before them (401 before 422) in one step
# instead of three; the route documents the key with `openapi_extra=read_openapi()`.
ReadAuthDep = Annotated[Credentials, Depends(authorized)]


# Record ids are UUIDs (lower-case hex, as the service issues them).
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID = re.compile(UUID_PATTERN)


@dataclass(frozen=True)
class PathId:
    """A record's id in a read route's path, checked in the endpoint (`of`) and documented
    through `read_openapi`, as `Path(pattern=UUID_PATTERN)` would check and document it."""

    name: str
    example: str
    description: str | None = None

    def of(self, request: Request) -> str:
        """The id in the request's path; 422 naming it, as FastAPI words it, if it is not a
        UUID in lower-case hex."""
        value: str = request.path_params[self.name]
        if _UUID.fullmatch(value) is None:
            raise RequestValidationError([{
                "type": "string_pattern_mismatch", "loc": ("path", self.name),
                "msg": f"String should match pattern '{UUID_PATTERN}'", "input": value,
                "ctx": {"pattern": UUID_PATTERN}}])
        return value

    def openapi(self) -> dict[str, Any]:
        described = {"description": self.description} if self.description else {}
        return {"name": self.name, "in": "path", "required": True, **described,
                "schema": {"type": "string", "pattern": UUID_PATTERN,
                           "title": self.name.replace("_", " ").title(),
                           "examples": [self.example], **described}}


Q = TypeVar("Q", bound=BaseModel)


@dataclass(frozen=True)
class QueryOf(Generic[Q]):
    """A read route's query parameters as one model, checked in the endpoint (`of`) and
    documented through `read_openapi`, as FastAPI checks and documents them when the route
    declares them (`Annotated[Model, Query()]`), with FastAPI's messages naming
    `query.NAME`. FastAPI's resolution of the parameters cost a page of records about 7% of
    the server's CPU; one model validation costs a few microseconds."""

    model: type[Q]

    def of(self, request: Request) -> Q:
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError([{**error, "loc": ("query", *error["loc"])}
                                          for error in exc.errors(include_url=False)]
                                         ) from None

    def openapi(self) -> list[dict[str, Any]]:
        """The parameters as FastAPI documents a query model's fields."""
        described_model = self.model.model_json_schema()
        required = set(described_model.get("required", ()))
        documented = []
        for name, schema in described_model["properties"].items():
            if schema.get("default", ...) is None:  # FastAPI leaves out a default of None
                schema = {k: v for k, v in schema.items() if k != "default"}
            described = ({"description": schema["description"]} if "description" in schema
                         else {})
            documented.append({"name": name, "in": "query", "required": name in required,
                               **described, "schema": schema})
        return documented


def read_openapi(*path: PathId, query: QueryOf[Any] | None = None) -> dict[str, Any]:
    """`openapi_extra` of a read route that calls `authorized` (and `PathId.of`,
    `QueryOf.of`) itself: the bearer key, the path's ids and the query's parameters,
    documented as FastAPI would have them."""
    extra: dict[str, Any] = {"security": [{bearer.scheme_name: []}]}
    parameters = [p.openapi() for p in path] + (query.openapi() if query else [])
    if parameters:
        extra["parameters"] = parameters
    return extra


def error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("The request cannot be read: `invalid_utf8` (body not UTF-8), "
                   "`json_too_deep` (JSON nested too deeply), `number_too_long` (an integer of "
                   "more than 4300 digits), `duplicate_header` (two Authorization headers), "
                   "`bad_http_request` (a header value with NUL, CR or LF, or another "
                   "malformed request head)."),
    401: error_doc("Missing, unknown or revoked API key."),
    413: error_doc("Body larger than the service accepts."),
    422: error_doc("Unknown field, wrong type, bad value or a broken rule between fields "
                   "(see the request schema's description); the message names the field."),
    431: error_doc(f"Request line and headers over {MAX_HEAD_BYTES} bytes "
                   f"(`headers_too_large`) or more than {MAX_HEADERS} headers "
                   "(`too_many_headers`)."),
    429: error_doc("Too many requests for this API key; see Retry-After."),
    503: error_doc("The database connection was lost; retry (see Retry-After)."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_doc("No such record for the calling authority (records of others are never "
                   "disclosed)."),
}
