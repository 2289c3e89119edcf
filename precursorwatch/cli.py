"""`pwatch`: the command line of Precursor Watch.

Every command maps user mistakes to a clear message and exit status 2; no tracebacks.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="pwatch",
    help="Identify precursor chemicals, detect designer precursors, screen shipments, "
    "and run the authorities' exchange.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
