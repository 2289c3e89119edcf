"""`pwatch reconcile`: customs import declarations against the notifications, permits and
annual requirements the authority holds (Contract 5).

Writes one result per declaration, then one per notification no import arrived for, as JSON
lines, CSV or a self-contained HTML report. Exit status 0 whatever the flags (`--fail-on`
makes chosen flags exit 1), 2 on usage errors and unreadable inputs, each named; no
tracebacks.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from precursorwatch.cli_options import AsOf, Jurisdictions

if TYPE_CHECKING:
    from precursorwatch.screen.reconcile import ReconcileResult

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_SHOW_BAD_ROWS = 20
CSV_COLUMNS = ("kind", "id", "row", "risk", "level", "flags", "reasons", "substance", "inchikey",
               "importer", "country", "arrival_date", "quantity", "unit", "notification_id",
               "permit_id", "evidence", "notes")


class ReconcileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


def _fail(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


# -- writers -------------------------------------------------------------------------------------
def write_jsonl(results: Sequence[ReconcileResult], out: IO[str]) -> None:
    """One object a line (`ReconcileResult.to_dict`). A declaration without flags or notes,
    most lines of a large file, is written from its parts without building the object; its
    substance's JSON is made once for all lines that share it."""
    from json.encoder import encode_basestring as text

    encode = json.JSONEncoder(ensure_ascii=False).encode
    substances: dict[int, tuple[object, str]] = {}
    lines: list[str] = []
    for r in results:
        if r.kind != "declaration" or r.flags or r.notes:
            lines.append(encode(r.to_dict()) + "\n")
        else:
            s = r.substance
            known = substances.get(id(s))
            if known is None or known[0] is not s:
                known = substances[id(s)] = (s, encode(s.to_dict() if s else None))
            q = r.quantity
            lines.append(
                '{"kind": "declaration", "declaration_id": ' + text(r.id) + ', "row": '
                + str(r.row) + ', "risk": 0, "level": "none", "substance": ' + known[1]
                + ', "importer": ' + text(r.importer) + ', "country": ' + text(r.country)
                + ', "arrival_date": ' + (f'"{r.arrival.isoformat()}"' if r.arrival else "null")
                + ', "quantity": ' + ("null" if q is None else encode(q) if
                                      not isinstance(q, float) else float.__repr__(q))
                + ', "unit": ' + text(r.unit) + ', "notification_id": '
                + (text(r.notification_id) if r.notification_id is not None else "null")
                + ', "permit_id": ' + (text(r.permit_id) if r.permit_id is not None else "null")
                + ', "flags": [], "notes": []}\n')
        if len(lines) >= 10_000:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))


def write_csv(results: Sequence[ReconcileResult], out: IO[str]) -> None:
    """One row per result; the evidence of every flag as JSON in one column."""
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in results:
        s = r.substance
        w.writerow([
            r.kind, r.id, "" if r.row is None else r.row, r.risk, r.level,
            ";".join(f.code for f in r.flags),
            " | ".join(f"{f.code}: {f.detail}" for f in r.flags),
            s.name if s else "", s.inchikey if s else "", r.importer, r.country,
            r.arrival.isoformat() if r.arrival else "",
            "" if r.quantity is None else f"{r.quantity:g}", r.unit, r.notification_id or "",
            r.permit_id or "",
            json.dumps([{"code": f.code, **f.evidence} for f in r.flags if f.evidence],
                       ensure_ascii=False) if any(f.evidence for f in r.flags) else "",
            "; ".join(r.notes),
        ])


HTML_MAX_ROWS = 5000


def render_html(results: Sequence[ReconcileResult], *, source: str, records: str,
                notifications: int, permits: int, requirements: str, window_days: int,
                seconds: float) -> str:
    """The self-contained HTML report (no asset from elsewhere)."""
    import jinja2

    from precursorwatch.screen.reconcile import WEIGHTS, explanations

    texts = explanations()
    flag_counts = Counter(f.code for r in results for f in r.flags)
    ranked = sorted(results, key=lambda r: (-r.risk, r.kind != "declaration", r.row or 0))
    shown = ranked[:HTML_MAX_ROWS]
    rows = [{
        "risk": r.risk, "level": r.level, "kind": r.kind, "id": r.id, "row": r.row,
        "substance": r.substance, "importer": r.importer,
        "arrival": r.arrival.isoformat() if r.arrival else "", "quantity": r.quantity,
        "unit": r.unit, "notes": r.notes,
        "flags": [{"code": f.code, "detail": f.detail, "evidence": bool(f.evidence),
                   "evidence_json": json.dumps(dict(f.evidence), indent=1, ensure_ascii=False)}
                  for f in r.flags],
    } for r in shown]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    counts = Counter(r.level for r in results)
    template = (files("precursorwatch.screen") / "data" / "reconcile.html").read_text(
        encoding="utf-8")
    return env.from_string(template).render(
        source=source, records=records, notifications=notifications, permits=permits,
        requirements=requirements, window_days=window_days, seconds=f"{seconds:.1f}",
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        declarations=sum(1 for r in results if r.kind == "declaration"),
        counts={k: counts.get(k, 0) for k in ("high", "medium", "low", "none")},
        never_arrived=flag_counts.get("NOTIFICATION_NEVER_ARRIVED", 0),
        bad_rows=flag_counts.get("BAD_ROW", 0),
        flag_rows=[(c, n, WEIGHTS.get(c, 0), texts.get(c, "")) for c, n in
                   flag_counts.most_common()],
        rows=rows, truncated=len(results) > len(shown), shown=len(shown), total=len(results))


# -- the command ---------------------------------------------------------------------------------
def reconcile(
    imports: Annotated[str, typer.Option(
        "--imports", help="Customs import declarations: the manifest columns plus "
                          "declaration_id, importer, arrival_date (and optionally permit); "
                          ".csv, .xlsx, .json, .jsonl or .parquet.", show_default=False)],
    exchange: Annotated[str | None, typer.Option(
        "--exchange", help="The exchange's address, e.g. https://exchange.example.org "
                           "(with --key-file).")] = None,
    key_file: Annotated[str | None, typer.Option(
        "--key-file", help="File holding the authority's API key (for --exchange).")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="The exchange's database, read directly and read-only (with --authority); "
                     "PostgreSQL schema from PWATCH_EXCHANGE_DB_SCHEMA.")] = None,
    authority: Annotated[str | None, typer.Option(
        "--authority", help="The importing authority's code, e.g. MX (for --db).")] = None,
    requirements: Annotated[str | None, typer.Option(
        "--requirements", help="Annual legitimate requirements, .yaml or .csv (see "
                               "precursorwatch/samples/annual_requirements.yaml).")] = None,
    window_days: Annotated[int, typer.Option(
        "--window-days", help="Days after the planned arrival (or shipment) date during which "
                              "an import counts against a notification.")] = 90,
    fmt: Annotated[ReconcileFormat, typer.Option("--format", help="Output format.")] = (
        ReconcileFormat.jsonl),
    out: Annotated[str | None, typer.Option(
        "--out", "-o", help="Write here instead of standard output.")] = None,
    dask: Annotated[bool, typer.Option(
        "--dask", help="Match on a local Dask cluster (large files); same results.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Workers of the Dask cluster.")] = 2,
    country: Annotated[str | None, typer.Option(
        "--country", help="Importing country of declarations without an importer_country "
                          "(default: the authority's).")] = None,
    as_of: AsOf = None,
    jurisdiction: Jurisdictions = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        "--fail-on", help="Exit with status 1 when a result has this flag (repeat, or 'any').")
    ] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No bad-row lines or summary on stderr.")] = False,
) -> None:
    """Reconcile import declarations with the notifications and permits the authority holds
    as importer, and with the country's annual requirements (Contract 5).

    Example: pwatch reconcile --imports precursorwatch/samples/imports.csv --db
    sqlite:///pwatch-exchange.db --authority MX --requirements
    precursorwatch/samples/annual_requirements.yaml --format html --out reconcile.html
    """
    from precursorwatch.screen.countries import country_code
    from precursorwatch.screen.readers import ManifestError
    from precursorwatch.screen.reconcile import (
        FLAG_CODES,
        Inputs,
        Options,
        reconcile_on_dask,
    )
    from precursorwatch.screen.reconcile import reconcile as reconcile_local
    from precursorwatch.screen.reconcile_sources import (
        SourceError,
        SubstanceResolver,
        from_database,
        from_exchange,
        load_requirements,
        open_declarations,
        read_declarations,
    )

    started = time.perf_counter()
    if bool(exchange) == bool(db):
        _fail("give the notifications' source: --exchange URL --key-file F, or --db URL "
              "--authority CODE (one of them)")
    if exchange and not key_file:
        _fail("--exchange needs --key-file (the file holding the authority's API key)")
    if db and not authority:
        _fail("--db needs --authority (the importing authority's code, e.g. MX)")
    if window_days < 0:
        _fail(f"--window-days: {window_days} is negative")
    if workers < 1:
        _fail("--workers must be at least 1")
    wanted = {c.strip().upper() for item in (fail_on or []) for c in item.split(",") if c.strip()}
    unknown = wanted - set(FLAG_CODES) - {"ANY"}
    if unknown:
        _fail(f"--fail-on: unknown flag {', '.join(sorted(unknown))}; known: "
              + ", ".join(FLAG_CODES) + ", any")
    on = dt.date.today()
    if as_of is not None:
        try:
            on = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            _fail(f"--as-of: {as_of!r} is not a date in YYYY-MM-DD form")
    if out:
        folder = Path(out).resolve().parent
        if not folder.is_dir():
            _fail(f"--out: cannot write {out}: no folder {folder}")
        if Path(out).is_dir():
            _fail(f"--out: {out} is a folder; give a file name")
        if not os.access(folder, os.W_OK):
            _fail(f"--out: cannot write {out}: the folder {folder} is not writable")
    home = country_code(country) if country else ""
    if country and len(home) != 2:
        _fail(f"--country: {country!r} is not a country")
    codes = [c.strip().upper() for item in (jurisdiction or []) for c in item.split(",")
             if c.strip()]
    if codes:
        from precursorwatch.detect.check import UnknownJurisdiction, normalise_jurisdictions

        try:
            normalise_jurisdictions(codes)
        except UnknownJurisdiction as exc:
            _fail(f"--jurisdiction: {exc}")
    # "Controlled" means on a list in force on --as-of, of these jurisdictions (default all).
    resolver = SubstanceResolver(as_of=on, jurisdictions=codes or None)
    try:
        manifest = open_declarations(imports)
    except ManifestError as exc:
        _fail(f"{exc.path}: the declarations cannot be read:\n"
              + "\n".join(f"  {p}" for p in exc.problems))
    try:
        if db:
            assert authority is not None
            records = from_database(db, authority.strip().upper(),
                                    schema=os.environ.get("PWATCH_EXCHANGE_DB_SCHEMA") or None)
            code = authority.strip().upper()
        else:
            assert exchange is not None and key_file is not None
            try:
                key = Path(key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                _fail(f"--key-file: cannot read {key_file}: {exc.strerror or exc}")
            if not key:
                _fail(f"--key-file: {key_file} is empty")
            records = from_exchange(exchange, key)
            code = ""
        if not home and (found := re.fullmatch(r"([A-Z]{2})(?:[-_][A-Z0-9_-]*)?", code)):
            home = found[1]  # MX, or US-DEA: the country an authority acts for
        reqs = load_requirements(requirements, resolver) if requirements else []
        if not home and len({r.country for r in reqs}) == 1:
            home = reqs[0].country
        read = read_declarations(manifest, resolver, default_country=home)
    except SourceError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(str(exc))
    finally:
        from precursorwatch.screen.engine import close_screeners

        close_screeners()
    inputs = Inputs(tuple(records.notifications), tuple(records.permits), tuple(reqs))
    options = Options(window_days=window_days, as_of=on)
    if dask:
        declared, never = reconcile_on_dask(read.declarations, inputs, options, workers=workers)
    else:
        declared, never = reconcile_local(read.declarations, inputs, options)
    results = sorted([*declared, *read.bad], key=lambda r: r.row or 0) + never
    seconds = time.perf_counter() - started

    def write(target: IO[str]) -> None:
        if fmt is ReconcileFormat.jsonl:
            write_jsonl(results, target)
        elif fmt is ReconcileFormat.csv:
            write_csv(results, target)
        else:
            target.write(render_html(
                results, source=str(imports), records=records.source,
                notifications=len(records.notifications), permits=len(records.permits),
                requirements=requirements or "none", window_days=window_days,
                seconds=seconds))

    try:
        if out:
            with Path(out).open("w", encoding="utf-8", newline="") as fh:
                write(fh)
        else:
            write(sys.stdout)
    except BrokenPipeError:
        raise
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc}" if out else f"cannot write the results: {exc}")
    failed = bool(wanted) and any(("ANY" in wanted and r.flags and any(
        f.code != "BAD_ROW" for f in r.flags)) or any(f.code in wanted for f in r.flags)
        for r in results)
    if not quiet:
        bad = [f.detail for r in read.bad for f in r.flags]
        for detail in bad[:_SHOW_BAD_ROWS]:
            _err.print(f"bad row: {detail}", markup=False)
        if len(bad) > _SHOW_BAD_ROWS:
            _err.print(f"... and {len(bad) - _SHOW_BAD_ROWS} more bad rows (flag BAD_ROW in "
                       "the output)", markup=False)
        raised = Counter(f.code for r in results for f in r.flags if f.code != "BAD_ROW")
        _err.print(f"reconciled {read.total} declarations against "
                   f"{len(records.notifications)} notifications and {len(records.permits)} "
                   f"permits in {seconds:.1f} s: "
                   + (", ".join(f"{n} {c}" for c, n in sorted(raised.items())) or "no flags")
                   + f"; {len(bad)} bad rows" + (f" -> {out}" if out else ""), markup=False)
    if failed:
        raise typer.Exit(1)
