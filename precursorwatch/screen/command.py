"""`pwatch screen`: the command, registered on the main `pwatch` app.

Heavy imports (RDKit, rapidfuzz, Dask) wait until the command runs, so `pwatch --help` stays
fast. User mistakes (unreadable manifest, bad option, bad rules or watchlist file) print every
problem and exit 2; no tracebacks.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from precursorwatch.cli_options import AsOf

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_SHOW_BAD_ROWS = 20


class ScreenFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class InputFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    jsonl = "jsonl"
    parquet = "parquet"


class FailLevel(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


_LEVEL_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}


def _stdin_to_file(fmt: InputFormat) -> Path:
    """Standard input saved to a temporary file the readers can open by its extension."""
    import tempfile

    data = sys.stdin.buffer.read()
    if not data.strip():
        _fail("-: standard input is empty; pipe a manifest in, or give a file")
    with tempfile.NamedTemporaryFile(prefix="pwatch-stdin-", suffix=f".{fmt.value}",
                                     delete=False) as fh:
        fh.write(data)
    return Path(fh.name)


class _NeverRaised(Exception):
    """Stands for an error that cannot happen with the options given."""


def _fail(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def screen(
    file: Annotated[str, typer.Argument(
        help="Manifest: .csv/.tsv (any delimiter and common encoding), .xlsx, .json, "
             ".jsonl or .parquet; '-' reads standard input (see --input-format).",
        show_default=False)],
    fmt: Annotated[ScreenFormat, typer.Option("--format", help="Output format.")] = (
        ScreenFormat.jsonl),
    out: Annotated[str | None, typer.Option(
        "--out", "-o", help="Write here instead of standard output.")] = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="local, or dask for a Dask cluster (local cluster unless "
                         "--scheduler).")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="Workers of the local Dask cluster.")] = 2,
    watchlist: Annotated[list[str] | None, typer.Option(
        "--watchlist", "-w",
        help="OFAC sdn.csv (or its folder), UN consolidated .xml, or FollowTheMoney "
             ".json/.jsonl; repeat for several. Default: the bundled SDNTK excerpt.")] = None,
    as_of: AsOf = None,
    jurisdiction: Annotated[list[str] | None, typer.Option(
        "--jurisdiction", "-j", help="Only these jurisdictions' lists (UN, US, CN, MX, EU, CA).")
    ] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--map", help="canonical=Header for a column the file names differently, e.g. "
                      "--map description='Item text'; repeat.")] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", help="Watchlist name score (0-1) from which a party is a hit "
                            "(default from the rules file, 0.80).")] = None,
    rules: Annotated[str | None, typer.Option(
        "--rules", help="YAML file overriding rule weights, levels and thresholds.")] = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress bar (default: when stderr is a terminal).")
    ] = None,
    input_format: Annotated[InputFormat, typer.Option(
        "--input-format", help="Format of a manifest read from standard input ('-').")
    ] = InputFormat.csv,
    fail_on: Annotated[FailLevel | None, typer.Option(
        "--fail-on", help="Exit with status 1 when a shipment is at this level or above "
                          "(for pipelines and CI gates).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar, bad-row lines or summary on stderr.")] = False,
    share_with: Annotated[list[str] | None, typer.Option(
        "--share-with", help="Send each shipment at --min-level or above to these authorities "
                             "as an alert, e.g. MX,US (with --exchange and --key-file); a "
                             "re-run sends nothing twice. Exit 1 if some could not be sent."
    )] = None,
    exchange: Annotated[str | None, typer.Option(
        "--exchange", help="The exchange's address, for --share-with.")] = None,
    key_file: Annotated[str | None, typer.Option(
        "--key-file", help="File holding your authority's API key, for --share-with.")] = None,
    min_level: Annotated[FailLevel, typer.Option(
        "--min-level", help="Lowest level shared by --share-with.")] = FailLevel.high,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="Why the shipments are shared (default: their level and flags).")
    ] = None,
) -> None:
    """Screen every shipment of a manifest: chemicals in the goods text, declared CAS and HS
    codes, parties against watchlists, and red flags, each with its reasons (Contract 2).

    Example: pwatch screen precursorwatch/samples/manifest.csv --format html --out report.html
    """
    from precursorwatch.screen.columns import parse_map_options
    from precursorwatch.screen.config import RulesConfigError
    from precursorwatch.screen.engine import ScreenOptions, close_screeners, screen_file
    from precursorwatch.screen.readers import ManifestError
    from precursorwatch.screen.report import write_results
    from precursorwatch.screen.watchlist import WatchlistError

    on = None
    if as_of is not None:
        try:
            on = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            _fail(f"--as-of: {as_of!r} is not a date in YYYY-MM-DD form")
    mapping, problems = parse_map_options(column_map or [])
    if problems:
        _fail("\n".join(str(p) for p in problems))
    if workers < 1:
        _fail("--workers must be at least 1")
    if scheduler and engine is not Engine.dask:
        _fail("--scheduler needs --engine dask")
    if out:
        # Said now, not after a long run whose results could then not be written.
        folder = Path(out).resolve().parent
        if not folder.is_dir():
            _fail(f"--out: cannot write {out}: no folder {folder}")
        if Path(out).is_dir():
            _fail(f"--out: {out} is a folder; give a file name")
        if not os.access(folder, os.W_OK):
            _fail(f"--out: cannot write {out}: the folder {folder} is not writable")
    from precursorwatch.screen import share

    target = None
    if share_with is not None:
        try:
            target = share.share_target(share_with, exchange, key_file, min_level.value, reason)
        except share.ShareError as exc:
            _fail(str(exc))
    elif exchange or key_file:
        _fail("--exchange and --key-file are for --share-with")
    options = ScreenOptions(
        as_of=on, jurisdictions=tuple(jurisdiction) if jurisdiction else None,
        watchlists=tuple(watchlist or ()), threshold=threshold, rules=rules,
        column_map=tuple(mapping.items()), engine=engine.value, scheduler=scheduler,
        workers=workers,
        progress=False if quiet else (sys.stderr.isatty() if progress is None else progress),
    )
    # Only a named jurisdiction can be unknown; the chemistry (RDKit) loads only when needed.
    unknown_jurisdiction: type[Exception] = _NeverRaised
    if jurisdiction:
        from precursorwatch.detect.check import UnknownJurisdiction as unknown_jurisdiction
    source = _stdin_to_file(input_format) if file == "-" else Path(file)
    try:
        run = screen_file(source, options=options)
        flagged = ([] if target is None else  # the manifest's rows, before stdin's file goes
                   share.flagged_shipments(source, mapping, run.results, target.min_level))
    except ManifestError as exc:
        where = f"standard input (read as {input_format.value})" if file == "-" else exc.path
        _fail(f"{where}: the manifest cannot be screened:\n"
              + "\n".join(f"  {p}" for p in exc.problems))
    except (RulesConfigError, WatchlistError) as exc:
        _fail(str(exc))
    except unknown_jurisdiction as exc:
        _fail(f"--jurisdiction: {exc}")
    except OSError as exc:
        _fail(f"{exc}")
    finally:
        close_screeners()  # no OPSIN process outlives the screening
        if file == "-":
            source.unlink(missing_ok=True)
    try:
        write_results(run, fmt.value, out if out else sys.stdout)
    except BrokenPipeError:
        raise  # the reader of a pipe has gone (`| head`): `main` ends quietly
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc}" if out else f"cannot write the results: {exc}")
    failed = fail_on is not None and any(
        _LEVEL_RANK[r.level] >= _LEVEL_RANK[fail_on.value] for r in run.results)
    if target is not None:
        shared = share.send_alerts(flagged, target)
        for line in share.summary(shared, target):
            _err.print(line, markup=False)
        failed = failed or bool(shared.failed)
    if quiet:
        if failed:
            raise typer.Exit(1)
        return
    levels = Counter(r.level for r in run.results)
    bad_rows = [f.detail for r in run.results for f in r.flags if f.code == "BAD_ROW"]
    bad = len(bad_rows)
    for detail in bad_rows[:_SHOW_BAD_ROWS]:
        _err.print(f"bad row: {detail}", markup=False)
    if bad > _SHOW_BAD_ROWS:
        _err.print(f"... and {bad - _SHOW_BAD_ROWS} more bad rows (flag BAD_ROW in the output)",
                   markup=False)
    _err.print(f"screened {len(run.results)} shipments in {run.seconds:.1f} s: "
               f"{levels['high']} high, {levels['medium']} medium, {levels['low']} low, "
               f"{levels['none']} none; {bad} bad rows"
               + (f" -> {out}" if out else ""), markup=False)
    if failed:
        raise typer.Exit(1)
