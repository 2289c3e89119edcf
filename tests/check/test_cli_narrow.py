"""`pwatch check` stays readable in an 80-column terminal: one block per input, not a table whose
five columns fold every word."""

from __future__ import annotations

from rich.console import Console

from precursorwatch.cli import NARROW_WIDTH, render_table
from precursorwatch.detect.check import Checker


def _render(width: int, identifiers: list[str]) -> str:
    console = Console(width=width, record=True, color_system=None)
    render_table(Checker.default().check_batch(identifiers), console)
    return console.export_text()


def test_narrow_terminal_gets_one_block_per_input() -> None:
    text = _render(80, ["NPP", "caffeine", "12345-67-8"])
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    assert "NPP  N-phenethyl-4-piperidone  controlled" in lines
    assert "caffeine  clear" in lines
    assert any("wrong check digit" in line for line in lines)
    assert "┃" not in text and "│" not in text  # no table borders
    assert lines[-1] == "1 controlled, 1 clear, 1 unresolved"


def test_wide_terminal_keeps_the_table() -> None:
    text = _render(NARROW_WIDTH + 40, ["NPP"])
    assert "Precursor Watch check" in text and "│" in text
