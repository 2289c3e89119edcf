"""Options shared by several `pwatch` commands, declared once so their help reads the same."""

from __future__ import annotations

from typing import Annotated

import typer

AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Judge by the lists in force on this date (YYYY-MM-DD); default today.")]
Jurisdictions = Annotated[list[str] | None, typer.Option(
    "--jurisdiction", "-j",
    help="Only these jurisdictions (UN, US, CN, MX, EU, CA); repeat or comma-separate.")]
Depth = Annotated[int, typer.Option(
    "--depth", help="Synthetic steps to search for designer precursors (0-3).")]
