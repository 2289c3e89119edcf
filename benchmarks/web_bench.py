"""Server-side rendering time of the web app's main pages for an authority with 1,000
notifications: the inbox, a notification, the dashboard (and the incidents list), requested
in-process through Starlette's TestClient as a signed-in approver, so the figures are the app's
own work (session look-up, queries, templates), without a network or a browser.

    .venv/bin/python benchmarks/web_bench.py [--notifications 1000] [--repeat 50] [--db URL]
        [--profile inbox]

Seeds a fresh database (SQLite in a temporary folder unless --db names a PostgreSQL database,
where a fresh schema is used and dropped) through the exchange's service: notifications to MX
from CN and US with the substances of a real week, a quarter of them answered. Prints the
median and 95th percentile per page. Target: under 100 ms per page. `--profile PAGE` prints
where the time of that page goes (cProfile, top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scratch_schema import scratch_schema

from precursorwatch.demo import DemoPerson, enrol
from precursorwatch.exchange.admin import add_authority
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.notifications import answer_notification, send_notification
from precursorwatch.exchange.people import sign_in
from precursorwatch.exchange.schemas import NotificationIn, ResponseIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange, public_authorities
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.web.auth import SESSION_COOKIE

SUBSTANCES = ["4-piperidone hydrochloride monohydrate", "1-boc-4-AP", "NPP", "acetic anhydride",
              "ephedrine hydrochloride", "propionyl chloride", "aniline", "acetone",
              "1-benzylpiperidin-4-ol", "sodium chloride"]
PASSWORD = "benchmark-password"


@contextmanager
def database(url: str | None) -> Iterator[tuple[str, str | None]]:
    """A fresh database: a temporary SQLite file, or a new schema in the PostgreSQL `url`."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'web.db'}", None
        return
    with scratch_schema(url, "pwweb") as schema:
        yield url, schema


def notification(exporter: str, rng: random.Random, today: dt.date) -> NotificationIn:
    party = {"name": f"{exporter} Example Trading Co.", "address": "1 Example Road",
             "country": exporter}
    return NotificationIn.model_validate_json(json.dumps({
        "substance": rng.choice(SUBSTANCES), "quantity": rng.randint(1, 500), "unit": "kg",
        "exporter": party,
        "importer": {"name": "Química Ejemplo S.A. de C.V.", "address": "Av. Ejemplo 1",
                     "country": "MX"},
        "importing_authority": "MX", "transit_authorities": [],
        "planned_shipment_date": (today + dt.timedelta(days=rng.randint(5, 60))).isoformat(),
        "point_of_entry": "Manzanillo"}))


def seed(ex: Exchange, count: int) -> tuple[str, str]:
    """`count` notifications to MX, a quarter answered; an MX approver's session token and
    the id of a notification of a controlled substance (its page shows the evidence)."""
    for code, name in [("CN", "NNCC"), ("MX", "COFEPRIS"), ("US", "DEA")]:
        add_authority(ex.engine, ex.vault, code, name)
    callers = {a.code: Caller(a.id, a.code, a.name) for a in public_authorities(ex)}
    enrol(ex, DemoPerson("MX", "approver@mx.example", "approver", "en"), PASSWORD)
    rng = random.Random(12)
    today = ex.now().date()
    shown = ""
    started = time.perf_counter()
    for i in range(count):
        body = notification("CN" if i % 3 else "US", rng, today)
        written = send_notification(ex, callers["CN" if i % 3 else "US"], body)
        last = json.loads(written.text)["id"]
        if not shown and body.substance == "NPP":
            shown = last
        if i % 4 == 0:
            decision = "objection" if i % 8 == 0 else "no_objection"
            answer_notification(ex, callers["MX"], last, ResponseIn.model_validate_json(
                json.dumps({"decision": decision, "reason": "Importer holds no licence."
                            if decision == "objection" else None})))
    print(f"seeded {count} notifications in {time.perf_counter() - started:.1f} s")
    return sign_in(ex, "approver@mx.example", PASSWORD).token, shown


def timings(client: TestClient, path: str, repeat: int) -> list[float]:
    """Milliseconds per request of `path` (after one request that warms caches)."""
    first = client.get(path)
    if first.status_code != 200:
        raise SystemExit(f"{path}: HTTP {first.status_code}\n{first.text[:500]}")
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def profile(app: FastAPI, token: str, path: str, repeat: int) -> None:
    """cProfile of `repeat` requests of `path`, with the app run in this thread: the event
    loop here (httpx's ASGI transport) and sync endpoints and dependencies called inline
    instead of in the thread pool, so the profiler sees all of their work."""
    import asyncio

    import fastapi.dependencies.utils
    import fastapi.routing
    import httpx

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[assignment]

    async def requests() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     cookies={SESSION_COOKIE: token}) as client:
            assert (await client.get(path)).status_code == 200, path
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(repeat):
                await client.get(path)
            profiler.disable()
        stats = pstats.Stats(profiler)
        ours = r"precursorwatch|json|jinja2|sqlalchemy.engine.base"
        stats.sort_stats("cumulative").print_stats(ours, 40)
        stats.sort_stats("tottime").print_stats(15)

    asyncio.run(requests())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--db", help="postgresql+psycopg://... (default: SQLite in a temp folder)")
    parser.add_argument("--profile", choices=["inbox", "notification", "dashboard", "incidents"])
    args = parser.parse_args()
    with database(args.db) as (url, schema):
        settings = ExchangeSettings(db_url=url, db_schema=schema, rate_limit=1_000_000,
                                    secret_file=Path(tempfile.mkdtemp()) / "secret")
        app: FastAPI = create_app(settings)
        ex: Exchange = app.state.exchange
        token, one = seed(ex, args.notifications)
        pages: dict[str, str] = {"inbox": "/inbox", "notification": f"/notifications/{one}",
                                 "dashboard": "/dashboard", "incidents": "/incidents"}
        if args.profile:
            profile(app, token, pages[args.profile], args.repeat)
            return
        with TestClient(app, cookies={SESSION_COOKIE: token}) as client:
            print(f"{ex.engine.dialect.name}, {args.notifications} notifications, "
                  f"{args.repeat} requests per page (ms)")
            print(f"{'page':<14}{'median':>8}{'p95':>8}{'max':>8}  bytes")
            for name, path in pages.items():
                ms = timings(client, path, args.repeat)
                size = len(client.get(path).content)
                print(f"{name:<14}{statistics.median(ms):8.1f}{percentile(ms, 95):8.1f}"
                      f"{max(ms):8.1f}  {size}")
        ex.engine.dispose()


if __name__ == "__main__":
    main()
