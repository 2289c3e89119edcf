"""`pwatch admin ...` and `pwatch serve` end to end, on both databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchange_helpers import notification
from sqlalchemy import text
from typer.testing import CliRunner

from precursorwatch.cli import app
from precursorwatch.exchange.db import make_engine


@pytest.fixture
def env(database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"PWATCH_EXCHANGE_SECRET_FILE": str(tmp_path / "exchange.secret")}
    if database.schema:
        values["PWATCH_EXCHANGE_DB_SCHEMA"] = database.schema
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_admin_commands(database: Any, env: dict[str, str]) -> None:
    db = ["--db", database.url]
    assert run("admin", "migrate", *db).exit_code == 0
    added = run("admin", "add-authority", "mx", "COFEPRIS", "--reply-days", "7", *db)
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    assert key.startswith("pwx_") and "authority MX (COFEPRIS) added" in added.output
    again = run("admin", "add-authority", "MX", "COFEPRIS", *db)
    assert again.exit_code == 2 and "exists already" in again.output
    rotated = run("admin", "rotate-key", "MX", *db)
    assert rotated.exit_code == 0
    assert rotated.output.strip().splitlines()[-1] not in (key, "")
    assert run("admin", "revoke-key", "MX", *db).exit_code == 0
    unknown = run("admin", "revoke-key", "ZZ", *db)
    assert unknown.exit_code == 2 and "no authority with code 'ZZ'" in unknown.output
    verified = run("admin", "verify-audit", *db)
    assert verified.exit_code == 0 and "MX: 0 entries, intact" in verified.output
    bracketed = run("admin", "add-authority", "GT", "[/] Ministerio [bold]", *db)
    assert bracketed.exit_code == 0
    assert "authority GT ([/] Ministerio [bold]) added" in bracketed.output


def test_bad_database_url_exits_2() -> None:
    result = run("admin", "migrate", "--db", "not-a-url")
    assert result.exit_code == 2
    assert "is not a database URL" in result.output


def test_serve_says_plainly_when_a_watchlist_cannot_be_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PWATCH_EXCHANGE_WATCHLIST", str(tmp_path / "sdn-missing.csv"))
    result = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2
    assert "PWATCH_EXCHANGE_WATCHLIST" in result.output and "sdn-missing.csv" in result.output


def test_several_workers_need_postgresql(tmp_path: Path) -> None:
    result = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--workers", "2")
    assert result.exit_code == 2
    assert "SQLite is served by one process" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_migrates_and_answers_then_verify_audit_finds_tampering(
        database: Any, env: dict[str, str], tmp_path: Path) -> None:
    db = ["--db", database.url]
    keys = {}
    for code in ("CN", "MX"):
        out = run("admin", "add-authority", code, f"Authority {code}", *db)
        assert out.exit_code == 0, out.output
        keys[code] = out.output.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "precursorwatch.cli", "serve", *db, "--port", str(port)],
        env={**os.environ, **env}, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        sent = httpx.post(f"{base}/v1/notifications", json=notification(transit_authorities=[]),
                          headers={"Authorization": f"Bearer {keys['CN']}"}, timeout=60)
        assert sent.status_code == 201, sent.text
        got = httpx.get(f"{base}/v1/notifications/{sent.json()['id']}",
                        headers={"Authorization": f"Bearer {keys['MX']}"})
        assert got.json()["verdict"]["verdict"] == "controlled"
        receipt = sent.headers["Audit-Receipt"]
    finally:
        server.terminate()
        server.wait(timeout=20)
    intact = run("admin", "verify-audit", *db)
    assert intact.exit_code == 0
    assert f"CN: 1 entries, intact, head CN:{receipt}" in intact.output
    assert run("admin", "verify-audit", *db, "--receipt", f"CN:{receipt}").exit_code == 0
    wrong = run("admin", "verify-audit", *db, "--receipt", "CN:1:abc")
    assert wrong.exit_code == 2 and "expected SEQ:HASH" in wrong.output
    nobody = run("admin", "verify-audit", *db, "--receipt", f"ZZ:{receipt}")
    assert nobody.exit_code == 2 and "ZZ: no such authority" in nobody.output
    engine = make_engine(database.url, schema=database.schema)
    with engine.begin() as conn:
        conn.execute(text("UPDATE notification SET verdict_name = 'clear'"))
    engine.dispose()
    broken = run("admin", "verify-audit", *db)
    assert broken.exit_code == 1
    assert "CN: 2 problem(s)" in broken.output  # content and signature
    assert "record content changed since it was logged" in broken.output


def test_served_app_keeps_its_long_lived_objects_out_of_garbage_collection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pwatch serve` builds each worker's app with `serving_app`: what it loaded (control
    lists, structures) is frozen, so full collections do not stall requests walking it."""
    import gc

    from precursorwatch.exchange.app import serving_app

    monkeypatch.setenv("PWATCH_EXCHANGE_DB", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("PWATCH_EXCHANGE_SECRET_FILE", str(tmp_path / "secret"))
    gc.unfreeze()
    try:
        served = serving_app()
        frozen = gc.get_freeze_count()
        assert frozen > 50_000  # the checker's data, not a handful of objects
        exchange = served.state.exchange
        assert not any(o is exchange for o in gc.get_objects())  # in no collected generation
        assert exchange.checker.resolver.name_parser.pid is not None  # OPSIN already running
        assert served.openapi()["info"]["title"] == "Precursor Watch exchange"
    finally:
        gc.unfreeze()
