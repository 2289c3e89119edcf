"""How long the audit check of one long chain takes: one authority sends N signed notifications
(in process, through the service functions, no HTTP), then its whole chain is verified the way
`GET /v1/audit/verify` and `pwatch admin verify-audit` do it.

    .venv/bin/python benchmarks/audit_bench.py [--links 30000] [--db URL]

A year of one busy authority's notifications is about 30,000 links (PEN Online carries more than
30,000 notifications a year in all). The database is a fresh PostgreSQL schema, dropped after.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from scratch_schema import scratch_schema
from sqlalchemy import select

from precursorwatch.exchange import notifications, service
from precursorwatch.exchange.admin import add_authority, open_database
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.models import Authority
from precursorwatch.exchange.schemas import NotificationIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.settings import ExchangeSettings

BODY = {
    "substance": "1-boc-4-AP", "quantity": 25, "unit": "kg",
    "exporter": {"name": "Example Export Ltd", "address": "1 Port Rd, Ningbo", "country": "CN"},
    "importer": {"name": "Example Import SA", "address": "9 Main St, Manzanillo",
                 "country": "MX"},
    "importing_authority": "MX", "transit_authorities": ["US"],
    "planned_shipment_date": "2026-12-10", "point_of_entry": "Manzanillo",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=30_000)
    parser.add_argument("--db", default=os.environ.get(
        "PWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with scratch_schema(args.db, "pwx_audit") as schema:
        workdir = Path(tempfile.mkdtemp(prefix="pwx-audit-"))
        settings = ExchangeSettings(db_url=args.db, db_schema=schema,
                                    secret_file=workdir / "exchange.secret")
        engine = open_database(settings)
        app = create_app(settings, engine=engine)
        ex = app.state.exchange
        for code in ("CN", "MX", "US"):
            add_authority(engine, ex.vault, code, f"Authority {code}")
        with ex.sessions() as session:
            cn = session.scalars(select(Authority).where(Authority.code == "CN")).one()
            caller = Caller(cn.id, cn.code, cn.name)
        data = NotificationIn.model_validate(BODY, strict=False)
        started = time.perf_counter()
        for _ in range(args.links):
            notifications.send_notification(ex, caller, data)
        wrote = time.perf_counter() - started
        started = time.perf_counter()
        report = service.verify_own_chain(ex, caller)
        checked = time.perf_counter() - started
        assert report.ok and report.entries == args.links, report.problems[:3]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"wrote {args.links:,} signed notifications in {wrote:.1f} s "
              f"({args.links / wrote:,.0f}/s, one process, no HTTP)")
        print(f"verified the chain of {report.entries:,} links in {checked:.1f} s "
              f"({report.entries / checked:,.0f} links/s); peak memory {peak:,} MiB; "
              f"load average {os.getloadavg()[0]:.1f} (2 cores)")
        engine.dispose()


if __name__ == "__main__":
    main()
