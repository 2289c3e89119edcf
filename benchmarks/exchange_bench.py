"""Load test of the exchange on PostgreSQL: the server runs under uvicorn in its own process,
this process drives it over loopback with a bounded number of requests and stops by itself.

Several authorities at once send signed notifications, list and read them, answer them, and
share incidents. Prints requests per second and p50/p99 latency per route.

In the same run, with the same client load, a baseline: a minimal FastAPI app on the same
uvicorn settings (loop, HTTP protocol, workers) and the same database, whose reads are one
primary-key SELECT and whose writes are one INSERT with commit. Each exchange route runs in
slices, a slice of the baseline of its kind (reads beside reads, writes beside writes) before
each and after the last; the route's rate is printed as a ratio of the baseline's over its own
slices, the ceiling this stack allows on this machine at those moments. Interleaved so, the
ratio holds up on a host whose load swings from one second to the next.

    .venv/bin/python benchmarks/exchange_bench.py [--db URL] [--scale 1.0] [--concurrency 16]
        [--workers 1]
    .venv/bin/python benchmarks/exchange_bench.py --serve-baseline PORT  (used by the above)
    .venv/bin/python benchmarks/exchange_bench.py --in-process  (reads' and writes' CPU, no HTTP)

Goal on a 2-core machine: 500 requests/s on reads and 150 on signed writes, p99 under 100 ms.
The database is a fresh schema in the given PostgreSQL database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
from scratch_schema import plain_url, scratch_schema

from precursorwatch.exchange.admin import add_authority, open_database
from precursorwatch.exchange.db import make_engine
from precursorwatch.exchange.http import server_options
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import KeyVault

AUTHORITIES = [("CN", 14), ("IN", 14), ("MX", 7), ("US", 10), ("CA", 30), ("NL", 15)]
SUBSTANCES = ["4-piperidone hydrochloride monohydrate", "1-boc-4-AP", "110-89-4", "NPP",
              "79099-07-3", "propionyl chloride", "aniline", "sodium chloride", "acetone",
              "N-phenethyl-4-piperidone", "tert-butyl 4-oxopiperidine-1-carboxylate",
              "3-methylbutan-1-ol", "1-phenylpropan-1-one"]  # the last two through OPSIN


def body(importer: str, transit: list[str], rng: random.Random) -> dict[str, Any]:
    return {
        "substance": rng.choice(SUBSTANCES), "quantity": rng.randint(1, 500), "unit": "kg",
        "exporter": {"name": f"Exporter {rng.randint(1, 999)}", "address": "1 Harbour Rd",
                     "country": "CN"},
        "importer": {"name": f"Importer {rng.randint(1, 999)}", "address": "2 Main St",
                     "country": "MX"},
        "importing_authority": importer, "transit_authorities": transit,
        "planned_shipment_date": "2026-12-01", "point_of_entry": "Manzanillo",
    }


@dataclass
class Reply:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class LoopbackClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams. httpx costs about as much CPU
    per request as the server does, and client and server share these 2 cores; like wrk,
    this keeps the measuring tool's own cost small."""

    def __init__(self, host: str, port: int, connections: int, server_pid: int = 0) -> None:
        self.host, self.port, self.size = host, port, connections
        self.server_pid = server_pid
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue())

    async def __aenter__(self) -> LoopbackClient:
        """The keep-alive connections, spread evenly over the server's worker processes when
        `server_pid` is given. Each worker accepts whichever connections it happens to be
        first to: 8 connections can land 7 on one worker and 1 on the other, which then
        serves at about the rate of one process, and a run's figures swing with how its
        connections fell. A load balancer in front of a deployment spreads them; so does
        this, by opening connections until each worker holds its share."""
        workers = worker_pids(self.server_pid) if self.server_pid else []
        if len(workers) < 2:
            for _ in range(self.size):
                self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
            return self
        share = {pid: self.size // len(workers) + (i < self.size % len(workers))
                 for i, pid in enumerate(workers)}
        spare: list[asyncio.StreamWriter] = []
        for _ in range(self.size * 20):
            if not any(share.values()):
                break
            reader, writer = await asyncio.open_connection(self.host, self.port)
            owner = await accepted_by(self.port, writer.get_extra_info("sockname")[1], workers)
            if share.get(owner, 0):
                share[owner] -= 1
                self.pool.put_nowait((reader, writer))
            else:
                spare.append(writer)  # kept open meanwhile, so the port is not reused
        for writer in spare:
            writer.close()
        if any(share.values()):
            raise SystemExit(f"could not spread {self.size} connections over workers {workers}")
        return self

    async def __aexit__(self, *_: object) -> None:
        while not self.pool.empty():
            self.pool.get_nowait()[1].close()

    async def request(self, method: str, path: str, headers: dict[str, str],
                      payload: Any = None) -> Reply:
        data = b"" if payload is None else json.dumps(payload).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}",
                f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
        if payload is not None:
            head.append("Content-Type: application/json")
        reader, writer = await self.pool.get()
        if reader.at_eof():  # closed by the server after its keep-alive timeout: reconnect
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            length = next(int(line.split(":", 1)[1]) for line in lines
                          if line.lower().startswith("content-length:"))
            return Reply(int(lines[0].split()[1]), await reader.readexactly(length))
        finally:
            self.pool.put_nowait((reader, writer))

    def get(self, path: str, *, headers: dict[str, str],
            params: dict[str, Any] | None = None) -> Awaitable[Reply]:
        return self.request("GET", f"{path}?{urlencode(params)}" if params else path, headers)

    def post(self, path: str, *, headers: dict[str, str], json: Any) -> Awaitable[Reply]:
        return self.request("POST", path, headers, json)


@dataclass
class Route:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of the server's processes while the route ran
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends serving them meanwhile
    ceiling: Baseline | None = None  # the baseline slices run between the route's slices

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass
class Baseline:
    """What the baseline's slices beside one route added up to."""

    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of its server
    db_cpu: float = 0.0  # CPU seconds of its PostgreSQL backends

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def drive(route: Route, count: int, concurrency: int,
                make: Callable[[int], Awaitable[Reply]], ok: int, keep: bool = False,
                start: int = 0) -> list[Any]:
    """Requests `start` to `start + count` - 1 with at most `concurrency` in flight, their
    time added to the route's; with `keep`, returns the JSON of each successful one."""
    results: list[Any] = []
    queue = iter(range(start, start + count))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            response = await make(i)
            route.latencies.append(time.perf_counter() - started)
            if response.status_code != ok:
                route.errors[response.status_code] = route.errors.get(response.status_code, 0) + 1
            elif keep:
                results.append(response.json())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    route.seconds += time.perf_counter() - started
    return results


Ceiling = Callable[[str, Baseline], Awaitable[None]]  # one slice of the baseline, added up
SLICES = 3  # slices of each route, with a baseline slice before each and after the last


class Backends:
    """CPU of the PostgreSQL backends serving one application (PGAPPNAME), Linux only; the
    database is on this machine. A backend that ended meanwhile is not counted."""

    def __init__(self, url: str, schema: str = "") -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.schema = schema

    def analyze(self) -> None:
        """Statistics of the tables just written, as autovacuum gathers them on a live
        database within a minute of such a change. Without them, a table filled in seconds
        is planned from the statistics of its empty start (a page would read and sort all of
        an authority's rows rather than its newest twenty)."""
        if self.schema:
            self.conn.execute(f"ANALYZE {self.schema}.notification, {self.schema}.incident, "
                              f"{self.schema}.notification_transit, {self.schema}.incident_share")

    def cpu(self, application: str) -> float:
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,))]
        return sum(process_cpu(pid) for pid in pids)


async def scenario(port: int, keys: dict[str, str], scale: float, concurrency: int,
                   ceiling: Ceiling | None = None, server_pid: int = 0,
                   backends: Backends | None = None) -> list[Route]:
    """The exchange's routes one after the other; with `ceiling`, each route runs in `SLICES`
    slices, a baseline slice of its kind ("read" or "write") before each and after the last,
    so that its ratio to the ceiling compares moments seconds apart, not minutes (the host's
    load drifts)."""
    async def bracketed(route: Route, count: int, make: Callable[[int], Awaitable[Reply]],
                        ok: int, keep: bool = False) -> list[Any]:
        kind = "read" if route.name.startswith("GET") else "write"
        slices = SLICES if ceiling is not None else 1
        bounds = [count * k // slices for k in range(slices + 1)]
        route.ceiling = Baseline() if ceiling is not None else None
        results: list[Any] = []
        for first, end in itertools.pairwise(bounds):
            if ceiling is not None and route.ceiling is not None:
                await ceiling(kind, route.ceiling)
            cpu = cpu_seconds(server_pid) if server_pid else 0.0
            db = backends.cpu(EXCHANGE_APP) if backends else 0.0
            results += await drive(route, end - first, concurrency, make, ok, keep, first)
            route.cpu += cpu_seconds(server_pid) - cpu if server_pid else 0.0
            route.db_cpu += backends.cpu(EXCHANGE_APP) - db if backends else 0.0
        if ceiling is not None and route.ceiling is not None:
            await ceiling(kind, route.ceiling)
        return results

    rng = random.Random(7)
    codes = list(keys)
    headers = {c: {"Authorization": f"Bearer {k}"} for c, k in keys.items()}
    routes: list[Route] = []
    async with LoopbackClient("127.0.0.1", port, concurrency, server_pid) as client:
        # Warm-up: the checker resolves each substance once, then serves it from its cache.
        for s in SUBSTANCES:
            await client.post("/v1/notifications", headers=headers["CN"],
                              json={**body("MX", [], rng), "substance": s})

        def pair(i: int) -> tuple[str, str, list[str]]:
            exporter = codes[i % len(codes)]
            importer = codes[(i + 1 + i // len(codes)) % len(codes)]
            if importer == exporter:
                importer = codes[(codes.index(exporter) + 1) % len(codes)]
            transit = [c for c in codes if c not in (exporter, importer)][: i % 2]
            return exporter, importer, transit

        n_write = int(600 * scale)
        send = Route("POST /v1/notifications (signed write)")
        sent = await bracketed(send, n_write, lambda i: client.post(
            "/v1/notifications", headers=headers[pair(i)[0]],
            json=body(pair(i)[1], pair(i)[2], rng)), 201, keep=True)
        routes.append(send)
        if backends is not None:
            backends.analyze()

        n_read = int(3000 * scale)
        listing = Route("GET /v1/notifications?limit=20 (read)")
        await bracketed(listing, n_read, lambda i: client.get(
            "/v1/notifications", params={"limit": 20, "direction": ("incoming", "outgoing")[i % 2]},
            headers=headers[codes[i % len(codes)]]), 200)
        routes.append(listing)

        one = Route("GET /v1/notifications/{id} (read)")
        await bracketed(one, n_read, lambda i: client.get(
            f"/v1/notifications/{sent[i % len(sent)]['id']}",
            headers=headers[sent[i % len(sent)]["importing_authority"]]), 200)
        routes.append(one)

        answer = Route("POST /v1/notifications/{id}/response (signed write)")
        pending = sent[: int(500 * scale)]
        await bracketed(answer, len(pending), lambda i: client.post(
            f"/v1/notifications/{pending[i]['id']}/response",
            headers=headers[pending[i]["importing_authority"]],
            json={"decision": ("no_objection", "objection")[i % 2], "reason": "bench"}), 200)
        routes.append(answer)

        report = Route("POST /v1/incidents (signed write)")
        await bracketed(report, int(300 * scale), lambda i: client.post(
            "/v1/incidents", headers=headers[codes[i % len(codes)]], json={
                "kind": "seizure", "substance": SUBSTANCES[i % len(SUBSTANCES)],
                "quantity": 10, "unit": "kg", "incident_date": "2026-11-02",
                "shared_with": "all" if i % 3 == 0 else [codes[(i + 1) % len(codes)]]}), 201)
        routes.append(report)
        if backends is not None:
            backends.analyze()

        incidents = Route("GET /v1/incidents?limit=20 (read)")
        await bracketed(incidents, int(1500 * scale), lambda i: client.get(
            "/v1/incidents", params={"limit": 20}, headers=headers[codes[i % len(codes)]]), 200)
        routes.append(incidents)

        verify = Route("GET /v1/audit/verify (read, whole chain)")
        await drive(verify, len(codes) * 2, 2, lambda i: client.get(
            "/v1/audit/verify", headers=headers[codes[i % len(codes)]]), 200)
        routes.append(verify)
    return routes


BASELINE_ROWS = 1000
EXCHANGE_APP, BASELINE_APP = "pwx-bench-exchange", "pwx-bench-baseline"  # as PGAPPNAME


def baseline_app() -> Any:
    """The ceiling: a minimal FastAPI app, sync routes (FastAPI runs them in its thread pool),
    on an engine made as the exchange makes its own. Reads are one primary-key SELECT in
    autocommit, writes one INSERT committed (`engine.begin()`)."""
    from fastapi import FastAPI, Response
    from sqlalchemy import text

    engine = make_engine(os.environ["PWATCH_EXCHANGE_DB"],
                         schema=os.environ["PWATCH_EXCHANGE_DB_SCHEMA"])
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    one = text("SELECT body FROM bench_item WHERE id = :id")
    add = text("INSERT INTO bench_item (body) VALUES (:body) RETURNING id")
    app = FastAPI()

    @app.get("/items/{item_id}")
    def read(item_id: int) -> Response:
        with reader.connect() as connection:
            found = connection.execute(one, {"id": item_id}).scalar_one()
        return Response(found, media_type="application/json")

    @app.post("/items", status_code=201)
    def write(data: dict[str, Any]) -> dict[str, int]:
        with engine.begin() as connection:
            new = connection.execute(add, {"body": json.dumps(data)}).scalar_one()
        return {"id": new}

    return app


def serve_baseline(port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run("exchange_bench:baseline_app", factory=True, app_dir=str(Path(__file__).parent),
                host="127.0.0.1", port=port, workers=workers, log_level="warning",
                access_log=False, **server_options())


async def measured(port: int, ceiling_port: int, keys: dict[str, str], scale: float,
                   concurrency: int, server_pid: int, ceiling_pid: int, backends: Backends
                   ) -> list[Route]:
    """The scenario, each route interleaved with baseline slices of its kind (unless no
    baseline)."""
    if not ceiling_port:
        return await scenario(port, keys, scale, concurrency, None, server_pid, backends)
    rng = random.Random(11)
    async with LoopbackClient("127.0.0.1", ceiling_port, concurrency, ceiling_pid) as base:
        async def ceiling(kind: str, total: Baseline) -> None:
            """One slice of the baseline, added to `total`: its requests, their time, and its
            server's and backends' CPU."""
            cpu, db = cpu_seconds(ceiling_pid), backends.cpu(BASELINE_APP)
            if kind == "read":
                run = Route("baseline: GET /items/{id} (PK SELECT)")
                await drive(run, max(100, int(500 * scale)), concurrency, lambda i: base.get(
                    f"/items/{1 + i % BASELINE_ROWS}", headers={}), 200)
            else:
                run = Route("baseline: POST /items (INSERT, commit)")
                await drive(run, max(30, int(100 * scale)), concurrency, lambda i: base.post(
                    "/items", headers={}, json=body("MX", [], rng)), 201)
            if run.errors:
                raise SystemExit(f"baseline failed: {run.errors}")
            total.requests += len(run.latencies)
            total.seconds += run.seconds
            total.cpu += cpu_seconds(ceiling_pid) - cpu
            total.db_cpu += backends.cpu(BASELINE_APP) - db

        return await scenario(port, keys, scale, concurrency, ceiling, server_pid, backends)


async def asgi_get(app: Any, target: str, headers: list[tuple[bytes, bytes]]) -> None:
    """One GET straight through an ASGI app, as uvicorn would call it; must answer 200."""
    await asgi_request(app, "GET", target, headers, b"", 200)


async def asgi_request(app: Any, method: str, target: str, headers: list[tuple[bytes, bytes]],
                       data: bytes, ok: int) -> None:
    """One request straight through an ASGI app, as uvicorn would call it; must answer
    `ok`."""
    path, _, query = target.partition("?")
    if data:
        headers = [*headers, (b"content-type", b"application/json"),
                   (b"content-length", str(len(data)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(),
             "root_path": "", "headers": [(b"host", b"bench"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != ok:
        raise SystemExit(f"{method} {target}: {sent[0]['status']} {sent[1:]}")


def in_process(url: str, schema: str, workdir: Path, requests: int, concurrency: int) -> None:
    """CPU per request of reads (one record, a page of 20) and of signed writes, driven
    straight through the ASGI apps in this process (the exchange's and the baseline's,
    `concurrency` at once, thread pool and database included, no HTTP nor client): the
    framework's and the service's own cost, steadier than the load test's on a busy host.
    Each slice of reads is run three times, alternating; of writes, twice."""
    import uvloop
    from fastapi.testclient import TestClient

    from precursorwatch.exchange.app import create_app

    os.environ.update(PWATCH_EXCHANGE_DB=url, PWATCH_EXCHANGE_DB_SCHEMA=schema)
    settings = ExchangeSettings(db_url=url, db_schema=schema,
                                secret_file=workdir / "exchange.secret", rate_limit=10**9)
    engine = open_database(settings)
    vault = KeyVault.open(None, settings.secret_file)
    keys = {code: add_authority(engine, vault, code, code).api_key for code in ("CN", "MX")}
    engine.dispose()
    app = create_app(settings)
    with TestClient(app) as client:
        for _ in range(20):  # a page's worth
            sent = client.post("/v1/notifications",
                               headers={"Authorization": f"Bearer {keys['CN']}"},
                               json={**body("MX", [], random.Random(1)), "substance": "acetone"})
    auth = [(b"authorization", f"Bearer {keys['MX']}".encode())]
    cases = [("exchange: GET /v1/notifications/{id}", app,
              f"/v1/notifications/{sent.json()['id']}", auth),
             ("exchange: GET /v1/notifications?limit=20", app,
              "/v1/notifications?limit=20&direction=incoming", auth),
             ("baseline: GET /items/{id}", baseline_app(), "/items/5", [])]

    async def slice_of(app: Any, path: str, headers: list[tuple[bytes, bytes]], n: int) -> None:
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                await asgi_get(app, path, headers)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def run() -> None:
        for _, target, path, headers in cases:  # warm-up
            await slice_of(target, path, headers, 300)
        for _ in range(3):
            for name, target, path, headers in cases:
                cpu, wall = time.process_time(), time.perf_counter()
                await slice_of(target, path, headers, requests)
                print(f"{name:<40} CPU {(time.process_time() - cpu) / requests * 1000:.3f} "
                      f"ms/request, {requests / (time.perf_counter() - wall):.0f} requests/s")

    uvloop.run(run())

    # Signed writes: on the event loop (the substance was checked above) and, with the
    # loop's connections taken away, in the thread pool; `concurrency` at once and one at a
    # time. Their CPU per send shows what the hop and the threads' contention cost.
    exchange = app.state.exchange
    on_loop, rng = exchange.loop_connections, random.Random(2)
    sender = [(b"authorization", f"Bearer {keys['CN']}".encode())]
    sends = [json.dumps({**body("MX", [], rng), "substance": "acetone"}).encode()
             for _ in range(max(50, requests // 4))]

    async def sends_at_once(at_once: int) -> None:
        queue = iter(sends)

        async def worker() -> None:
            for data in queue:
                await asgi_request(app, "POST", "/v1/notifications", sender, data, 201)

        await asyncio.gather(*(worker() for _ in range(at_once)))

    async def writes() -> None:
        for _ in range(2):
            for where, connections in (("event loop", on_loop), ("thread pool", None)):
                exchange.loop_connections = connections
                for at_once in (concurrency, 1):
                    cpu, wall = time.process_time(), time.perf_counter()
                    await sends_at_once(at_once)
                    name = f"exchange: POST /v1/notifications, {where}, {at_once} at once"
                    print(f"{name:<58} CPU "
                          f"{(time.process_time() - cpu) / len(sends) * 1000:.3f} ms/request, "
                          f"{len(sends) / (time.perf_counter() - wall):.0f} requests/s")
        exchange.loop_connections = on_loop

    uvloop.run(writes())
    print(f"load average {os.getloadavg()[0]:.1f}")


def wait_ready(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=1).status_code in (200, 404):
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone), Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields of /proc/PID/stat after the name) of every process, Linux only."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn workers), Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(fields[11]) + int(fields[12])) / tick for own, fields in _processes()
               if pid in (own, int(fields[1])))


def worker_pids(pid: int) -> list[int]:
    """The direct children of a process that are uvicorn's workers (not multiprocessing's
    resource tracker), Linux only."""
    children = []
    for child, fields in _processes():
        try:
            if (int(fields[1]) == pid
                    and b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()):
                children.append(child)
        except OSError:
            continue
    return sorted(children)


async def accepted_by(server_port: int, client_port: int, workers: list[int]) -> int:
    """The worker holding the server's end of the loopback connection from `client_port`
    (0 if none has accepted it within a second), from /proc/net/tcp and the workers' file
    descriptors, Linux only."""
    server, client = f":{server_port:04X}", f":{client_port:04X}"
    for _ in range(100):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(server) and fields[2].endswith(client) and fields[9] != "0":
                owner = _holding(f"socket:[{fields[9]}]", workers)
                if owner:
                    return owner
        await asyncio.sleep(0.01)
    return 0


def _holding(target: str, pids: list[int]) -> int:
    """The first of `pids` with a file descriptor on `target` (0 if none)."""
    for pid in pids:
        try:
            if any(os.readlink(fd) == target for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:  # the process or one of its descriptors went meanwhile
            continue
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def figures(r: Route) -> dict[str, Any]:
    """One route's figures: rate, latencies (ms), the ceiling (the baseline's rate over its
    slices beside the route) and the ratio to it, and CPU ms per request of the exchange's
    server and of its PostgreSQL backends, beside the baseline's."""
    lat = sorted(r.latencies)
    top = r.ceiling.rate if r.ceiling else 0.0
    n = r.ceiling.requests if r.ceiling else 0
    base = [r.ceiling.cpu / n * 1000, r.ceiling.db_cpu / n * 1000] if r.ceiling and n else [
        0.0, 0.0]
    return {"route": r.name, "n": len(lat), "rate": r.rate,
            "p50": statistics.median(lat) * 1000,
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, "max": lat[-1] * 1000,
            "ceiling": top, "ratio": r.rate / top if top else None,
            "cpu": r.cpu / len(lat) * 1000, "db_cpu": r.db_cpu / len(lat) * 1000,
            "base_cpu": base[0], "base_db_cpu": base[1], "errors": r.errors}


def report(routes: list[Route]) -> None:
    """Per route, the `figures`; CPU per request drifts less with the host's load than the
    rates do."""
    print(f"{'route':<52} {'n':>5} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'ceiling':>7} {'ratio':>5} {'cpu ms':>6} {'pg ms':>5} {'base cpu':>8} "
          f"{'base pg':>7}  errors")
    for r in routes:
        f = figures(r)
        versus = (f"{f['ceiling']:>7.0f} {f['ratio']:>5.2f}" if f["ceiling"]
                  else f"{'-':>7} {'-':>5}")
        base = (f"{f['base_cpu']:>8.2f} {f['base_db_cpu']:>7.2f}" if f["ceiling"]
                else f"{'-':>8} {'-':>7}")
        print(f"{r.name[:52]:<52} {f['n']:>5} {f['rate']:>6.0f} {f['p50']:>7.1f} "
              f"{f['p99']:>7.1f} {f['max']:>7.1f} {versus} {f['cpu']:>6.2f} "
              f"{f['db_cpu']:>5.2f} {base}  {r.errors or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get(
        "PWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the number of requests (1.0: about 9,000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--no-baseline", action="store_true",
                        help="measure the exchange only")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write each route's figures to FILE")
    parser.add_argument("--in-process", action="store_true",
                        help="CPU per read and per signed write through the ASGI apps in "
                             "this process")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.workers)
        return

    with scratch_schema(args.db, "pwx_bench") as schema:
        with psycopg.connect(plain_url(args.db), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {schema}.bench_item (id bigserial PRIMARY KEY, "
                         "body text)")
            seed = json.dumps(body("MX", ["US"], random.Random(3)))
            conn.execute(f"INSERT INTO {schema}.bench_item (body) "
                         f"SELECT %s FROM generate_series(1, {BASELINE_ROWS})", (seed,))
        workdir = Path(tempfile.mkdtemp(prefix="pwx-bench-"))
        if args.in_process:
            in_process(args.db, schema, workdir, int(2000 * args.scale), args.concurrency)
        else:
            load_test(args, schema, workdir)


def load_test(args: argparse.Namespace, schema: str, workdir: Path) -> None:
    """The exchange and the baseline app under uvicorn, driven over loopback (see the
    module's docstring), in the scratch schema `schema`."""
    plain = plain_url(args.db)
    env = {**os.environ, "PWATCH_EXCHANGE_DB_SCHEMA": schema, "PGAPPNAME": EXCHANGE_APP,
           "PWATCH_EXCHANGE_SECRET_FILE": str(workdir / "exchange.secret"),
           "PWATCH_EXCHANGE_RATE_LIMIT": "1000000"}
    server: subprocess.Popen[bytes] | None = None
    ceiling_server: subprocess.Popen[bytes] | None = None
    log = (workdir / "server.log").open("wb")
    try:
        settings = ExchangeSettings(db_url=args.db, db_schema=schema,
                                    secret_file=workdir / "exchange.secret")
        engine = open_database(settings)
        vault = KeyVault.open(None, settings.secret_file)
        keys = {code: add_authority(engine, vault, code, f"Authority {code}",
                                    reply_days=days).api_key for code, days in AUTHORITIES}
        engine.dispose()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "precursorwatch.cli", "serve", "--db", args.db,
             "--port", str(port), "--workers", str(args.workers), "--no-access-log"],
            env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=log)
        log.flush()
        wait_ready(f"http://127.0.0.1:{port}/healthz", server, workdir / "server.log")
        ceiling_port = 0
        if not args.no_baseline:
            ceiling_port = free_port()
            ceiling_server = subprocess.Popen(
                [sys.executable, __file__, "--serve-baseline", str(ceiling_port),
                 "--workers", str(args.workers)],
                env={**env, "PWATCH_EXCHANGE_DB": args.db, "PGAPPNAME": BASELINE_APP},
                cwd=workdir,
                stdout=subprocess.DEVNULL, stderr=log)
            wait_ready(f"http://127.0.0.1:{ceiling_port}/items/1", ceiling_server,
                       workdir / "server.log")
        print(f"server: uvicorn, {args.workers} worker(s), PostgreSQL schema {schema}; "
              f"client: asyncio keep-alive, {args.concurrency} in flight")
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        started = time.perf_counter()
        backends = Backends(plain, schema)
        routes = asyncio.run(measured(port, ceiling_port, keys, args.scale, args.concurrency,
                                      server.pid, ceiling_server.pid if ceiling_server else 0,
                                      backends))
        wall = time.perf_counter() - started
        backends.conn.close()
        report(routes)
        if args.json:
            args.json.write_text(json.dumps({
                "load_average": os.getloadavg()[0], "workers": args.workers,
                "concurrency": args.concurrency, "routes": [figures(r) for r in routes]},
                indent=1))
        print(f"wall {wall:.1f} s; CPU used: exchange "
              f"{cpu_seconds(server.pid) - server_cpu:.1f} s, "
              f"client {time.process_time() - client_cpu:.1f} s; load average "
              f"{os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        for running in (server, ceiling_server):
            if running is not None:
                running.terminate()
                running.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
