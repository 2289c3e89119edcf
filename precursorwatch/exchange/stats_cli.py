"""`pwatch stats rules`: how often each red-flag rule's alerts led to a seizure, from the
exchange's API (`--exchange URL --key-file F`) or its database read directly (`--db URL
--authority CODE`). The same report either way (`alerts.stats_report`)."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

stats_app = typer.Typer(name="stats", help="Statistics of the exchange's records.",
                        no_args_is_help=True)

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


class StatsFormat(StrEnum):
    table = "table"
    json = "json"


class StatsError(Exception):
    """A source that cannot be read, said in one line."""


def _usage(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def read_key(key_file: str) -> str:
    """The API key in `key_file`; StatsError naming the file when it cannot be had."""
    try:
        key = Path(key_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StatsError(f"--key-file: cannot read {key_file}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    if not key:
        raise StatsError(f"--key-file: {key_file} is empty")
    return key


def from_exchange(url: str, api_key: str, since: dt.date | None, *,
                  transport: Any = None, timeout: float = 30.0) -> dict[str, Any]:
    """`GET /v1/stats/rules` as the authority holding `api_key`."""
    import httpx

    base = url.rstrip("/")
    params = {"since": since.isoformat()} if since else {}
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout,
                          transport=transport) as client:
            r = client.get(f"{base}/v1/stats/rules", params=params)
    except httpx.HTTPError as exc:
        raise StatsError(f"--exchange: cannot reach {base}: {exc}") from exc
    if r.status_code == 401:
        raise StatsError("--key-file: the exchange refused the key (401)")
    if r.status_code != 200:
        raise StatsError(f"--exchange: /v1/stats/rules answered {r.status_code}: "
                         f"{r.text[:200]}")
    report: dict[str, Any] = r.json()
    return report


def from_database(url: str, authority: str, since: dt.date | None) -> dict[str, Any]:
    """The same report read from the exchange's database, for `authority`'s alerts."""
    try:
        from sqlalchemy import select
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from precursorwatch.exchange.alerts import alert_facts, stats_report
        from precursorwatch.exchange.db import make_engine
        from precursorwatch.exchange.models import Authority
    except ModuleNotFoundError as exc:
        raise StatsError("--db needs the exchange's packages: pip install "
                         "'precursorwatch[server]'") from exc
    try:
        engine = make_engine(url)
    except (ArgumentError, ValueError) as exc:
        raise StatsError(f"--db: {url!r} is not a database URL the exchange uses") from exc
    try:
        with engine.connect() as connection:
            found = connection.execute(select(Authority.id).where(
                Authority.code == authority)).scalar()
            if found is None:
                codes = sorted(connection.execute(select(Authority.code)).scalars())
                raise StatsError(f"--authority: no authority {authority!r} in the exchange "
                                 f"database; it has: {', '.join(codes) or 'none'}")
            facts = alert_facts(connection, found, since)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise StatsError("--db: cannot read the exchange database: "
                         + (str(cause).splitlines() or [type(cause).__name__])[0]) from exc
    finally:
        engine.dispose()
    return stats_report(facts, since)


def _percent(precision: float | None) -> str:
    return "-" if precision is None else f"{precision:.0%}"


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per rule, then per origin ("from CN") and destination ("to MX") country."""
    rows: list[list[str]] = []
    for rule in report["rules"]:
        for label, counts in ([("all", rule)]
                              + [(f"from {c['country']}", c) for c in rule["by_origin"]]
                              + [(f"to {c['country']}", c) for c in rule["by_destination"]]):
            o = counts["outcomes"]
            rows.append([rule["rule"] if label == "all" else "", label, str(counts["alerts"]),
                         str(o["seized"]), str(o["inspected_clear"]), str(o["not_found"]),
                         str(o["no_action"]), str(o["pending"]), str(counts["inspected"]),
                         _percent(counts["precision"])])
    return rows


def print_table(report: dict[str, Any]) -> None:
    from rich.table import Table

    since = f" since {report['since']}" if report.get("since") else ""
    # Rule codes are never cut: a pipe or file gets a table as wide as it needs.
    out = _out if _out.is_terminal else Console(highlight=False, width=200)
    table = Table(title=f"Red-flag rules: {report['alerts']} alerts{since}")
    for name in ("Rule", "Country", "Alerts", "Seized", "Clear", "Not found", "No action",
                 "Pending", "Inspected", "Precision"):
        table.add_column(name, justify="left" if name in ("Rule", "Country") else "right",
                         no_wrap=True)
    for row in table_rows(report):
        table.add_row(*row)
    out.print(table)
    out.print(report["definition"].capitalize() + ".", markup=False, soft_wrap=True)


@stats_app.command(name="rules")
def rules(
    exchange: Annotated[str | None, typer.Option(
        "--exchange", help="The exchange's address, e.g. https://exchange.example.org "
                           "(with --key-file).")] = None,
    key_file: Annotated[str | None, typer.Option(
        "--key-file", help="File holding the authority's API key (for --exchange).")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="The exchange's database, read directly (with --authority).")] = None,
    authority: Annotated[str | None, typer.Option(
        "--authority", help="The authority whose alerts are counted (with --db).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Alerts sent on or after this day (UTC), YYYY-MM-DD.")] = None,
    fmt: Annotated[StatsFormat, typer.Option("--format", help="Output format.")] = (
        StatsFormat.table),
) -> None:
    """Per red-flag rule code and per origin and destination country: how many alerted
    shipments it fired on and what came of them, over the authority's own alerts and those
    shared with it. Precision = seized / inspected, where inspected = seized +
    inspected_clear + not_found; an alert counts once, with the strongest answer of the
    authorities it was shared with.

    Example: pwatch stats rules --exchange http://127.0.0.1:8000 --key-file mx.key
    --since 2026-11-01
    """
    on = None
    if since is not None:
        try:
            on = dt.date.fromisoformat(since.strip())
        except ValueError:
            _usage(f"--since: {since!r} is not a date in YYYY-MM-DD form")
    if bool(exchange) == bool(db):
        _usage("give the alerts' source: --exchange URL --key-file F, or --db URL "
               "--authority CODE")
    try:
        if exchange:
            if not key_file:
                _usage("--exchange needs --key-file (the file holding the authority's API "
                       "key)")
            report = from_exchange(exchange, read_key(key_file), on)
        else:
            assert db is not None
            if not authority:
                _usage("--db needs --authority (the code of the authority whose alerts are "
                       "counted)")
            report = from_database(db, authority.strip().upper(), on)
    except StatsError as exc:
        _usage(str(exc))
    if fmt is StatsFormat.json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report)
