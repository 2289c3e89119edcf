"""`pwatch demo`: seeded once through the service, reused after, and signed in to as printed."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect
from typer.testing import CliRunner

from precursorwatch import demo
from precursorwatch.cli import app as cli
from precursorwatch.demo import DEMO_PASSWORD, KEYS_SUFFIX, demo_people, open_demo
from precursorwatch.exchange.alerts import list_alerts, rule_stats
from precursorwatch.exchange.errors import NotFound
from precursorwatch.exchange.incidents import list_incidents
from precursorwatch.exchange.notifications import get_notification, list_notifications
from precursorwatch.exchange.people import list_people
from precursorwatch.exchange.permit_store import list_permits
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange, public_authorities
from precursorwatch.web.i18n import gettext

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "exchange.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "Seeding the demo database" in result.output
    assert f"password for all: {DEMO_PASSWORD}" in result.output
    assert "approver@us.example" in result.output
    return db


def _caller(ex: Exchange, code: str) -> Caller:
    found = next(a for a in public_authorities(ex) if a.code == code)
    return Caller(found.id, found.code, found.name)


def test_demo_seeds_each_kind_of_record_once(demo_db: Path) -> None:
    app = open_demo(demo_db, say=lambda _line: None)
    ex: Exchange = app.state.exchange
    people = list_people(ex.engine)
    assert {p.email for p in people} == {p.email for p in demo_people()}
    assert not any(p.must_change_password for p in people)
    us = [json.loads(n) for n in list_notifications(ex, _caller(ex, "US"))]
    mx = [json.loads(n) for n in list_notifications(ex, _caller(ex, "MX"))]
    statuses = {n["status"] for n in us + mx}
    assert {"sent", "objection", "no_objection", "expired"} <= statuses
    verdicts = {n["verdict"]["verdict"] for n in us + mx}
    assert {"controlled", "designer"} <= verdicts
    objection = next(n for n in mx if n["status"] == "objection")
    assert objection["response"]["reason"]
    pairs = {(n["exporting_authority"], n["importing_authority"]) for n in us + mx}
    assert {("CN", "MX"), ("MX", "US"), ("US", "MX"), ("CN", "US")} <= pairs
    incidents = [json.loads(i) for i in list_incidents(ex, _caller(ex, "CN"))]
    assert {i["kind"] for i in incidents} == {"seizure", "stopped_shipment"}
    screened = next(i for i in incidents if i["kind"] == "stopped_shipment")
    assert "Screened manifest line" in screened["modus_operandi"]
    # CN is not party to the MX-US notification: it does not exist for CN.
    mx_us = next(n for n in mx if n["importing_authority"] == "US")
    with pytest.raises(NotFound):
        get_notification(ex, _caller(ex, "CN"), mx_us["id"])
    ex.engine.dispose()


def _permits_and_alerts(ex: Exchange) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    permits = [json.loads(p) for p in list_permits(ex, _caller(ex, "MX"), role="issued")]
    alerts = [json.loads(a) for a in list_alerts(ex, _caller(ex, "CN"), direction="outgoing")]
    return permits, alerts


def test_demo_seeds_permits_and_alerts_with_outcomes(demo_db: Path) -> None:
    app = open_demo(demo_db, say=lambda _line: None)
    ex: Exchange = app.state.exchange
    permits, alerts = _permits_and_alerts(ex)
    by_number = {p["permit"]["permit_number"]: p for p in permits}
    assert set(by_number) == {"COFEPRIS-2026-000118", "COFEPRIS-2026-000087"}
    valid, revoked = by_number["COFEPRIS-2026-000118"], by_number["COFEPRIS-2026-000087"]
    assert valid["permit"]["checked"]["name"] == "N-phenethyl-4-piperidone"
    assert (valid["permit"]["exporter_country"], valid["revoked"]) == ("CN", False)
    assert revoked["revoked"] and revoked["revocation"]["reason"]
    # CN, the exporter's authority, reads both; its notification to MX cites the valid one.
    assert len(list_permits(ex, _caller(ex, "CN"))) == 2
    cited = [json.loads(n) for n in list_notifications(ex, _caller(ex, "MX"))
             if json.loads(n).get("permit") == valid["id"]]
    assert len(cited) == 1 and cited[0]["exporting_authority"] == "CN"
    assert cited[0]["permit_check"]["ok"] is True
    # Four high-risk shipments of the sample manifest: three shared with MX, one with US.
    assert sorted(a["shared_with"][0] for a in alerts) == ["MX", "MX", "MX", "US"]
    assert all(a["screening"]["level"] == "high" for a in alerts)
    assert {a["shipment"]["shipment_id"]: a["outcome"] for a in alerts} == {
        "PW-2611-033": "pending", "PW-2611-037": "seized", "PW-2611-040": "inspected_clear",
        "PW-2611-045": "pending"}
    seized = next(a for a in alerts if a["outcome"] == "seized")
    assert "seized" in seized["outcomes"][0]["note"]
    assert len(list_alerts(ex, _caller(ex, "US"), direction="incoming")) == 1
    rules = {r["rule"]: r for r in rule_stats(ex, _caller(ex, "MX"))["rules"]}
    assert rules["CONTROLLED_CHEMICAL"]["alerts"] == 3
    assert rules["CONTROLLED_CHEMICAL"]["precision"] == 0.5
    assert rules["HS_MISMATCH"]["precision"] == 1.0
    ex.engine.dispose()


def test_an_older_demo_database_gains_permits_and_alerts_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "exchange.db"
    # A database as the demo seeded it before it had permits and alerts.
    with monkeypatch.context() as m:
        m.setattr(demo, "permit_steps", lambda *_args: [])
        m.setattr(demo, "alert_steps", lambda *_args: [])
        open_demo(db, say=lambda _line: None).state.exchange.engine.dispose()
    said: list[str] = []
    app = open_demo(db, say=said.append)
    ex: Exchange = app.state.exchange
    assert said[-1] == "Added to the demo database: import permits and shipment alerts"
    permits, alerts = _permits_and_alerts(ex)
    assert (len(permits), len(alerts)) == (2, 4)
    notifications = len(list_notifications(ex, _caller(ex, "MX")))
    ex.engine.dispose()
    said.clear()
    again = open_demo(db, say=said.append).state.exchange
    assert said == [f"Using the demo database {db}"]
    assert tuple(map(len, _permits_and_alerts(again))) == (2, 4)
    assert len(list_notifications(again, _caller(again, "MX"))) == notifications
    again.engine.dispose()


def test_demo_run_again_reuses_the_database(demo_db: Path) -> None:
    before = demo_db.stat().st_size, demo_db.with_suffix(".secret").read_bytes()
    keys = json.loads(demo_db.with_name(demo_db.name + KEYS_SUFFIX).read_text())
    assert set(keys) == {"CN", "MX", "US"}
    result = CliRunner().invoke(cli, ["demo", "--db", str(demo_db), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "Using the demo database" in result.output
    assert "Seeding" not in result.output
    app = open_demo(demo_db, say=lambda _line: None)
    ex: Exchange = app.state.exchange
    assert len(list_notifications(ex, _caller(ex, "US"))) == 7
    assert demo_db.with_suffix(".secret").read_bytes() == before[1]
    ex.engine.dispose()


@pytest.fixture
def demo_url(demo_db: Path) -> Iterator[str]:
    import uvicorn

    from precursorwatch.exchange.http import server_options

    app = open_demo(demo_db, say=lambda _line: None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off", **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # uvicorn offers no event to wait on
        assert time.monotonic() < deadline and thread.is_alive(), "demo server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    app.state.exchange.engine.dispose()


def test_demo_sign_in_as_printed(demo_url: str, context: BrowserContext,
                                 other_context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{demo_url}/login")
    page.get_by_label("E-mail").fill("approver@us.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    rows = page.locator("[data-testid=notification-row]")
    expect(rows.first).to_be_visible()
    expect(page.locator("main")).to_contain_text("NPP")
    # MX's approver reads Spanish, and sees the notification left unanswered as overdue.
    mx = other_context.new_page()
    mx.goto(f"{demo_url}/login")
    mx.locator("#login-form [name=email]").fill("approver@mx.example")
    mx.locator("#login-form [name=password]").fill(DEMO_PASSWORD)
    with mx.expect_navigation():
        mx.locator("#login-form button[type=submit]").click()
    expect(mx.locator("h1")).to_have_text(gettext("es", "Inbox"))
    overdue = mx.get_by_test_id("section-incoming").locator("tr.overdue")
    expect(overdue).to_have_count(1)
    expect(overdue).to_contain_text("4-anilinopiperidine")
