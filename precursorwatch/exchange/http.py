"""How `pwatch serve` runs uvicorn for the exchange: the options every server of it uses."""

from __future__ import annotations

from typing import Any


def server_options() -> dict[str, Any]:
    """uvicorn options shared by `pwatch serve` and the tests that run a real server."""
    return {}
