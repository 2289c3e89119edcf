"""`pwatch scan`: screen a chemical catalogue; the command, registered on the main `pwatch` app.

RDKit and the lists load only when the command runs, so `pwatch --help` stays fast. User
mistakes (missing file, bad option) print the reason and exit 2; bad records in the catalogue
are listed with their line or record number and skipped, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from precursorwatch.cli_options import AsOf, Depth, Jurisdictions

_err = Console(stderr=True, highlight=False, soft_wrap=True)


class ScanOutput(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _fail(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _stdin_to_file() -> str:
    """Standard input saved to a temporary .smi or .sdf file (SDF when it has `$$$$`)."""
    import tempfile

    data = sys.stdin.buffer.read()
    if not data.strip():
        _fail("-: standard input is empty; pipe a catalogue in, or give a file")
    suffix = ".sdf" if b"$$$$" in data else ".smi"
    with tempfile.NamedTemporaryFile(prefix="pwatch-stdin-", suffix=suffix, delete=False) as fh:
        fh.write(data)
    return fh.name


def scan(
    file: Annotated[str, typer.Argument(
        help="Catalogue: SMILES (one a line, optional name after a space, tab or comma) or SDF "
             "(.sdf, .sd); '-' reads standard input.", show_default=False)],
    out: Annotated[str | None, typer.Option(
        "--out", "-o", help="Write the hits here (default: standard output).")] = None,
    fmt: Annotated[ScanOutput, typer.Option("--format", help="Output format.")] = ScanOutput.csv,
    depth: Depth = 1,
    as_of: AsOf = None,
    jurisdiction: Jurisdictions = None,
    processes: Annotated[int | None, typer.Option(
        "--processes", "-p", help="Worker processes (default: every core).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Screen a whole catalogue and write only the controlled, designer and watch compounds,
    with their evidence, as CSV or JSONL.

    Example: pwatch scan vendor.smi --out hits.csv --depth 2 -j US,CN
    """
    from precursorwatch.detect.check import UnknownJurisdiction, normalise_jurisdictions
    from precursorwatch.detect.scan import ScanError, scan_catalogue, write_summary

    on: dt.date | None = None
    if as_of is not None:
        try:
            on = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            _fail(f"--as-of: {as_of!r} is not a date in YYYY-MM-DD form (e.g. 2024-03-31)")
    try:
        wanted = normalise_jurisdictions(jurisdiction)
    except UnknownJurisdiction as exc:
        _fail(f"--jurisdiction: {exc}")
    if not 0 <= depth <= 3:
        _fail(f"--depth: must be between 0 and 3, not {depth}")
    if processes is not None and processes < 1:
        _fail(f"--processes: must be at least 1, not {processes}")
    source = _stdin_to_file() if file == "-" else file
    try:
        summary = scan_catalogue(source, out=out, format=fmt.value, as_of=on,
                                 jurisdictions=wanted, depth=depth, processes=processes,
                                 progress=not quiet)
    except ScanError as exc:
        _fail(str(exc))
    except BrokenPipeError:
        raise  # the reader of a pipe has gone (`| head`): `main` ends quietly
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc.strerror or exc}" if out
              else f"cannot write the hits: {exc.strerror or exc}")
    finally:
        if file == "-":
            Path(source).unlink(missing_ok=True)
    if not quiet:
        write_summary(summary)
