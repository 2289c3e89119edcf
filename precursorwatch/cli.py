"""`pwatch`: the command line of Precursor Watch.

Every command maps user mistakes to a clear message and exit status 2; no tracebacks.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from precursorwatch.cli_options import AsOf, Depth, Jurisdictions
from precursorwatch.detect.verdict import VERDICT_ORDER, Verdict

app = typer.Typer(
    name="pwatch",
    help="Identify precursor chemicals, detect designer precursors, screen shipments, "
    "and run the authorities' exchange.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins the lines of a docstring paragraph, so help rewraps to the terminal's width
    # instead of keeping the source's line breaks.
    rich_markup_mode="markdown",
)

_err = Console(stderr=True, highlight=False, soft_wrap=True)

VERDICT_STYLE = {
    "controlled": "bold red", "designer": "bold magenta", "watch": "yellow",
    "clear": "green", "unresolved": "dim",
}


def out_console() -> Console:
    """Standard output; tables get room to breathe when written to a file or pipe."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


def usage_error(message: str) -> NoReturn:
    """A user mistake: say what was wrong, exit 2."""
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        usage_error(f"{option}: {value!r} is not a date in YYYY-MM-DD form (e.g. 2024-03-31)")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


def read_identifier_lines(source: str, *, quiet: bool = False) -> list[str]:
    """One identifier a line from a file or '-' (stdin). Blank lines are skipped with a
    warning naming them; undecodable bytes are kept (replaced) so the line is reported."""
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        usage_error(f"--file: no such file: {source}")
    except IsADirectoryError:
        usage_error(f"--file: {source} is a directory, not a file")
    except OSError as exc:
        usage_error(f"--file: cannot read {source}: {exc.strerror}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="replace")
    lines: list[str] = []
    blank: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            lines.append(line.strip())
        else:
            blank.append(number)
    if blank and not quiet:
        shown = ", ".join(map(str, blank[:10])) + (" …" if len(blank) > 10 else "")
        _err.print(f"[yellow]note:[/] skipped {len(blank)} empty line(s) in {escape(source)}: "
                   f"{shown}")
    return lines


# How a listing whose citation is not the instrument itself is marked in the table.
SOURCE_MARK = {"secondary": " (secondary source)", "unverified": " (unverified source)"}


def _lists_cell(v: Verdict) -> str:
    seen: list[str] = []
    for m in v.matches:
        mark = SOURCE_MARK.get(m.verification or "", "")
        t = m.threshold
        limit = f", threshold {t.quantity:g} {t.unit}" if t else ""
        label = f"{m.jurisdiction} {m.category or m.list} ({m.since[:4]}){limit}{mark}"
        if label not in seen:
            seen.append(label)
    return "\n".join(seen)


def _why_cell(v: Verdict) -> str:
    if v.verdict == "unresolved":
        return v.reason or ""
    parts: list[str] = []
    if v.matches:
        first = v.matches[0]
        parts.append(first.explanation)
        others = len(v.matches) - 1
        if others:
            parts.append(f"(+{others} more listing{'s' if others > 1 else ''})")
    parts.extend(v.notes)
    return "\n".join(parts)


# Below this width five columns fold every word; each verdict is a short block instead.
NARROW_WIDTH = 110


def render_blocks(verdicts: Sequence[Verdict], console: Console) -> None:
    """The table's content as one block per input, for terminals under NARROW_WIDTH."""
    for v in verdicts:
        head = Text(v.input if len(v.input) <= 60 else v.input[:57] + "…", style="bold")
        substance = v.name or v.smiles or ""
        if substance and substance != v.input:
            head.append(f"  {substance}")
        head.append("  ")
        head.append(v.verdict, style=VERDICT_STYLE[v.verdict])
        console.print(head)
        lists = _lists_cell(v).splitlines()
        if lists:
            console.print(Padding(Text("; ".join(lists)), (0, 0, 0, 2)))
        for line in _why_cell(v).splitlines():
            console.print(Padding(Text(line, style="dim"), (0, 0, 0, 2)))
    counts = {name: sum(v.verdict == name for v in verdicts) for name in VERDICT_ORDER}
    console.print(", ".join(f"{n} {name}" for name, n in counts.items() if n))


def render_table(verdicts: Sequence[Verdict], console: Console) -> None:
    if console.width < NARROW_WIDTH:
        render_blocks(verdicts, console)
        return
    table = Table(show_lines=True, title="Precursor Watch check")
    table.add_column("Input", overflow="fold", max_width=28)
    table.add_column("Substance", overflow="fold", max_width=30)
    table.add_column("Verdict")
    table.add_column("Lists", overflow="fold")
    table.add_column("Why", overflow="fold", ratio=2)
    for v in verdicts:
        style = VERDICT_STYLE[v.verdict]
        shown_input = v.input if len(v.input) <= 60 else v.input[:57] + "…"
        substance = v.name or (v.smiles or "")
        # Text, not markup: inputs and names may hold brackets ("[/]", "[2H]").
        table.add_row(Text(shown_input), Text(substance), Text(v.verdict, style=style),
                      Text(_lists_cell(v)), Text(_why_cell(v)))
    console.print(table)
    counts = {name: sum(v.verdict == name for v in verdicts) for name in VERDICT_ORDER}
    console.print(", ".join(f"{n} {name}" for name, n in counts.items() if n))


def emit(verdicts: Iterable[Verdict], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.table:
        render_table(list(verdicts), out_console())
    elif fmt is OutputFormat.json:
        sys.stdout.write(json.dumps([v.model_dump(mode="json") for v in verdicts], indent=2,
                                    ensure_ascii=False) + "\n")
    else:
        for v in verdicts:
            sys.stdout.write(v.model_dump_json() + "\n")


@app.command()
def check(
    identifiers: Annotated[list[str] | None, typer.Argument(
        help="CAS numbers, names, abbreviations, SMILES, InChI or InChIKeys.",
        show_default=False)] = None,
    file: Annotated[str | None, typer.Option(
        "--file", "-f", help="Read one identifier a line from this file ('-' for stdin).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.table),
    as_of: AsOf = None,
    jurisdiction: Jurisdictions = None,
    depth: Depth = 1,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 if any verdict is one of these, e.g. controlled,designer.")
    ] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No notes on stderr (skipped empty lines).")] = False,
) -> None:
    """Identify chemicals and say which control lists cover them, where, since when and why.

    Example: pwatch check 39742-60-4 "4-piperidone HCl monohydrate" 1-boc-4-AP
    """
    from precursorwatch.detect.check import Checker, UnknownJurisdiction

    on = parse_date(as_of, "--as-of")
    fail_set: set[str] = set()
    if fail_on:
        fail_set = {p.strip().lower() for p in fail_on.split(",") if p.strip()}
        bad = fail_set - set(VERDICT_ORDER)
        if bad:
            usage_error(f"--fail-on: unknown verdict(s) {', '.join(sorted(bad))}; "
                        f"use {', '.join(VERDICT_ORDER)}")
    items = list(identifiers or [])
    if file is not None:
        items.extend(read_identifier_lines(file, quiet=quiet))
    if not items:
        usage_error("nothing to check: give identifiers as arguments or --file F ('-' for stdin)")
    checker = Checker.default()
    try:
        verdicts = checker.check_batch(items, as_of=on, jurisdictions=jurisdiction, depth=depth)
    except UnknownJurisdiction as exc:
        usage_error(f"--jurisdiction: {exc}")
    except ValueError as exc:
        usage_error(f"--depth: {exc}")
    emit(verdicts, fmt)
    if fail_set and any(v.verdict in fail_set for v in verdicts):
        raise typer.Exit(1)


class ListsFormat(StrEnum):
    table = "table"
    json = "json"


lists_app = typer.Typer(
    invoke_without_command=True, no_args_is_help=False, add_completion=False,
    pretty_exceptions_enable=False)
app.add_typer(lists_app, name="lists")

ListsJurisdictions = Annotated[list[str] | None, typer.Option(
    "--jurisdiction", "-j", help="Only these jurisdictions; repeat or comma-separate.")]


def _data_version_line() -> str:
    from precursorwatch.controls.load import ControlsDataError, controls_data_version

    try:
        version = controls_data_version()
    except ControlsDataError as exc:
        return f"control data: about.yaml is invalid ({exc})"
    return str(version) if version else "control data without a version (no about.yaml)"


def _data_version_dict() -> dict[str, str] | None:
    from precursorwatch.controls.load import ControlsDataError, controls_data_version

    try:
        version = controls_data_version()
    except ControlsDataError:
        return None
    return version.as_dict() if version else None


@lists_app.callback()
def lists_command(
    ctx: typer.Context,
    as_of: AsOf = None,
    jurisdiction: ListsJurisdictions = None,
    fmt: Annotated[ListsFormat, typer.Option("--format", help="Output format.")] = (
        ListsFormat.table),
) -> None:
    """Show the control lists in force on a date, and how far their citations were checked.

    Per list: counts, first and latest entries; per jurisdiction: how many listings cite a
    primary source, a secondary one, or one not yet checked.

    Example: pwatch lists --as-of 2021-01-01 -j UN,US; pwatch lists changes --since 2024-01-01
    """
    if ctx.invoked_subcommand is not None:
        return
    from precursorwatch.controls.load import load_controls
    from precursorwatch.controls.summary import summarise_lists, verification_counts

    on = parse_date(as_of, "--as-of") or dt.date.today()
    try:
        controls = load_controls()
        rows = summarise_lists(controls, on, jurisdiction)
        checked = verification_counts(controls, on, jurisdiction)
    except ValueError as exc:
        usage_error(f"--jurisdiction: {exc}")
    if fmt is ListsFormat.json:
        sys.stdout.write(json.dumps({
            "controls_data": _data_version_dict(), "as_of": on.isoformat(),
            "lists": [r.as_dict() for r in rows],
            "verification": [c.as_dict() for c in checked],
        }, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Control lists in force on {on.isoformat()}")
    for col in ("Jurisdiction", "List", "Categories", "Substances", "Rules", "First entry",
                "Latest entry"):
        table.add_column(col, overflow="fold")
    for r in rows:
        kind = " (watch)" if r.effects == ("watch",) else ""
        table.add_row(*(Text(cell) for cell in (
            r.jurisdiction, r.list + kind, ", ".join(r.categories), str(r.substances),
            str(r.rules), r.earliest.isoformat(), r.latest.isoformat())))
    console = out_console()
    console.print(table)
    if not rows:
        console.print("nothing was in force on that date")
    else:
        sources = Table(title="How the citations were checked (listings and rules in force)")
        for col in ("Jurisdiction", "Listings", "Primary source", "Secondary source",
                    "Unverified", "Rules", "Rules: primary / secondary / unverified"):
            sources.add_column(col, overflow="fold")
        for c in checked:
            sources.add_row(*(Text(cell) for cell in (
                c.jurisdiction, str(c.total_listings), *(str(n) for n in c.listings),
                str(c.total_rules), " / ".join(str(n) for n in c.rules))))
        console.print(sources)
    console.print(Text(_data_version_line()))


class ChangesFormat(StrEnum):
    table = "table"
    json = "json"


@lists_app.command(name="changes")
def lists_changes(
    since: Annotated[str, typer.Option(
        "--since", help="First day of the period (YYYY-MM-DD), included.", show_default=False)],
    until: Annotated[str | None, typer.Option(
        "--until", help="Last day of the period (YYYY-MM-DD), included; default no end.")
    ] = None,
    jurisdiction: ListsJurisdictions = None,
    fmt: Annotated[ChangesFormat, typer.Option("--format", help="Output format.")] = (
        ChangesFormat.table),
) -> None:
    """What came into force on the lists in a period: additions, removals, amendments.

    By date, each with its legal reference and source; an amendment is a listing moved to
    another list or a family rule replaced by another.

    Example: pwatch lists changes --since 2023-01-01 -j US,CA
    """
    from precursorwatch.controls.changes import changes_between
    from precursorwatch.controls.load import load_controls

    start = parse_date(since, "--since")
    assert start is not None  # a required option
    end = parse_date(until, "--until")
    if end is not None and end < start:
        usage_error(f"--until: {until!r} is before --since {since!r}")
    try:
        found = changes_between(load_controls(), start, end, jurisdiction)
    except ValueError as exc:
        usage_error(f"--jurisdiction: {exc}")
    if fmt is ChangesFormat.json:
        sys.stdout.write(json.dumps({
            "controls_data": _data_version_dict(), "since": start.isoformat(),
            "until": end.isoformat() if end else None,
            "changes": [c.as_dict() for c in found],
        }, indent=2, ensure_ascii=False) + "\n")
        return
    period = f"from {start.isoformat()}" + (f" to {end.isoformat()}" if end else "")
    table = Table(title=f"Changes to the control lists {period}", show_lines=True)
    table.add_column("In force")
    table.add_column("Jurisdiction")
    table.add_column("Change")
    table.add_column("What", overflow="fold", ratio=2)
    table.add_column("Legal reference", overflow="fold", ratio=2)
    table.add_column("Source", overflow="fold", ratio=2)
    for c in found:
        mark = SOURCE_MARK.get(c.verification, "").strip()
        when = c.date.isoformat() + (f"\n(decided {c.decided.isoformat()})" if c.decided else "")
        table.add_row(*(Text(cell) for cell in (
            when, c.jurisdiction, c.kind, c.summary, c.legal_reference,
            f"{c.source}\n{mark}" if mark else c.source)))
    console = out_console()
    console.print(table)
    if not found:
        console.print("no change came into force in that period")
    console.print(Text(_data_version_line()))


from precursorwatch.screen.command import screen as _screen  # noqa: E402

app.command(name="screen")(_screen)

from precursorwatch.screen.reconcile_command import reconcile as _reconcile  # noqa: E402

app.command(name="reconcile")(_reconcile)

from precursorwatch.detect.scan_command import scan as _scan  # noqa: E402

app.command(name="scan")(_scan)

# The exchange's commands live beside the service and import it only when they run.
from precursorwatch.exchange.commands import admin_app, serve  # noqa: E402

app.command(name="serve")(serve)
app.add_typer(admin_app, name="admin")

from precursorwatch.exchange.permit_cli import permit_app  # noqa: E402

app.add_typer(permit_app, name="permit")

from precursorwatch.exchange.stats_cli import stats_app  # noqa: E402

app.add_typer(stats_app, name="stats")

from precursorwatch.demo import demo_command  # noqa: E402

app.command(name="demo")(demo_command)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            ours = version("precursorwatch")
        except PackageNotFoundError:
            ours = "unknown (not installed)"
        print(f"pwatch {ours}; {_data_version_line()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version of pwatch and of its control data, and exit.")] = False,
) -> None:
    """Identify precursor chemicals, detect designer precursors, screen shipments, and run the
    authorities' exchange."""


# Modules of the optional dependency groups, by the extra that installs them.
_EXTRA_OF_MODULE = {
    "fastapi": "server", "starlette": "server", "sqlalchemy": "server", "alembic": "server",
    "uvicorn": "server", "psycopg": "server", "cryptography": "server", "multipart": "server",
    "rfc8785": "server",
    "distributed": "dask", "dask": "dask",
}


def main() -> None:
    # A reader that goes away (`pwatch ... | head`) ends the run quietly: click catches the
    # broken pipe, so commands let BrokenPipeError through instead of reporting a write error.
    try:
        app()
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        _err.print("[bold red]error:[/] " + escape(
            f"this command needs the optional {extra!r} dependencies (missing module "
            f"{exc.name!r}): pip install 'precursorwatch[{extra}]'"))
        sys.exit(2)


if __name__ == "__main__":
    main()
