"""Cost of the deliveries dispatcher's scan (`dispatch.scan`) on PostgreSQL as history grows.

Fills a fresh schema with N notifications (one a second; half imported by MX), subscribes MX
to every event, and times: the first scan (every record a new event: the backlog after a long
outage), a pass with nothing new (reads the last hour since the previous pass), and the daily
sweep (every record since the subscription began). Nothing is sent.

    .venv/bin/python benchmarks/deliveries_bench.py [--records 100000] [--db URL]

Goal: a pass with nothing new well under the dispatcher's 30 s interval (under 1 s), whatever
the history. The schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import uuid

from scratch_schema import scratch_schema
from sqlalchemy import insert

from precursorwatch.exchange.db import make_engine, migrate
from precursorwatch.exchange.dispatch import SWEEP, scan
from precursorwatch.exchange.models import Authority, Notification, Subscription

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def fill(url: str, schema: str, records: int) -> None:
    engine = make_engine(url, schema=schema)
    migrate(engine)
    with engine.begin() as connection:
        for i, code in enumerate(["CN", "MX", "US"], 1):
            connection.execute(insert(Authority).values(
                id=i, code=code, name=code, reply_days=14, public_key="-",
                private_key_enc="-", created_at=START))
        rows = [{"id": str(uuid.uuid4()), "thread_id": str(uuid.uuid4()), "version": 1,
                 "exporter_id": 1, "importer_id": 2 if k % 2 else 3,
                 "created_at": START + dt.timedelta(seconds=k),
                 "reply_deadline": START + dt.timedelta(days=14, seconds=k),
                 "verdict_name": "controlled", "body": {}, "verdict": {}, "party_hits": None,
                 "signature": "-", "canon": "jcs", "rendered": "{}"} for k in range(records)]
        for i in range(0, records, 5000):
            connection.execute(insert(Notification), rows[i:i + 5000])
        connection.execute(insert(Subscription).values(
            authority_id=2, channel="webhook", target="http://127.0.0.1:9/", secret_enc=None,
            events="notification.received notification.deadline notification.answered "
                   "incident.shared permit.revoked alert.received alert.outcome",
            created_at=START))
    engine.dispose()


def timed(url: str, schema: str, now: dt.datetime) -> tuple[int, float]:
    engine = make_engine(url, schema=schema)
    try:
        began = time.perf_counter()
        found = scan(engine, now)
        return found, time.perf_counter() - began
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", default=os.environ.get(
        "PWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with scratch_schema(args.db, "pwbench") as schema:
        fill(args.db, schema, args.records)
        last = START + dt.timedelta(seconds=args.records)
        print(f"{args.records:,} notifications over {args.records / 3600:.1f} h; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        found, took = timed(args.db, schema, last)
        print(f"first scan (backlog): {found:,} events in {took:.2f} s")
        for minutes in (1, 2, 3):
            found, took = timed(args.db, schema, last + dt.timedelta(minutes=minutes))
            print(f"pass with nothing new: {found} events in {took * 1000:.0f} ms")
        found, took = timed(args.db, schema, last + SWEEP + dt.timedelta(minutes=4))
        print(f"daily sweep: {found} events in {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
