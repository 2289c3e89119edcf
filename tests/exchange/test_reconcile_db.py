"""`pwatch reconcile` against a real exchange, on SQLite and PostgreSQL: notifications and
permits written by the service (signed, answered, revoked), then read back from the database
directly (read-only) and through the API, and reconciled with the sample declarations."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from exchange_helpers import notification
from sqlalchemy import func, select
from typer.testing import CliRunner

from precursorwatch.cli import app as cli_app
from precursorwatch.exchange import notifications, permit_store, permits
from precursorwatch.exchange.db import migrating
from precursorwatch.exchange.models import AuditEntry, Authority
from precursorwatch.exchange.schemas import NotificationIn, ResponseIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.screen.reconcile import Inputs, Options, reconcile
from precursorwatch.screen.reconcile_sources import (
    SourceError,
    SubstanceResolver,
    from_database,
    from_exchange,
    load_requirements,
    open_declarations,
    read_declarations,
)

SAMPLES = Path(__file__).resolve().parents[2] / "precursorwatch" / "samples"
IMPORTS = SAMPLES / "imports.csv"
REQUIREMENTS = SAMPLES / "annual_requirements.yaml"
AS_OF = "2027-06-30"
runner = CliRunner()

# What each sample declaration must be flagged with (the same as tests/screen's scenario).
EXPECTED = {
    "IMP-2026-0001": set(),
    "IMP-2026-0002": {"ABOVE_ANNUAL_REQUIREMENT"},
    "IMP-2026-0005": {"IMPORT_WITHOUT_NOTIFICATION", "PERMIT_REVOKED"},
    "IMP-2026-0007": set(),
    "IMP-2026-0008": {"IMPORT_WITHOUT_NOTIFICATION"},
    "IMP-2026-0009": {"PERMIT_EXPIRED"},
    "IMP-2027-0003": {"QUANTITY_ABOVE_NOTIFIED", "PERMIT_EXCEEDED"},
    "IMP-2027-0004": set(),
    "IMP-2027-0006": {"IMPORT_WITHOUT_NOTIFICATION", "PERMIT_UNKNOWN"},
}


def _caller(ex: Any, code: str) -> Caller:
    with ex.sessions() as session:
        a = session.scalars(select(Authority).where(Authority.code == code)).one()
    return Caller(a.id, a.code, a.name)


def seed(ex: Any) -> dict[str, str]:
    """CN notifies five shipments to MX, which answers them; MX issues three permits and
    revokes one. Returns the notification ids by name."""
    cn, mx = _caller(ex, "CN"), _caller(ex, "MX")
    ids: dict[str, str] = {}
    for name, substance, quantity, shipped, decision, importer in [
        ("N1", "NPP", 25, "2026-12-01", "no_objection", "Quimica Ejemplo SA"),
        ("N2", "4-piperidone hydrochloride monohydrate", 60, "2026-12-05", "no_objection",
         "Química Ejemplo S.A. de C.V."),
        ("N3", "ANPP", 5, "2026-12-10", "no_objection", "Quimica Ejemplo SA"),
        ("N4", "4-AP", 5, "2027-05-01", "no_objection", "Quimica Ejemplo SA"),
        ("N5", "1-boc-4-AP", 10, "2026-12-01", "objection", "Quimica Ejemplo SA"),
    ]:
        body = notification(substance=substance, quantity=quantity,
                            planned_shipment_date=shipped,
                            importer={"name": importer, "address": "Av. Ejemplo 1, Guadalajara",
                                      "country": "MX"})
        written = notifications.send_notification(ex, cn, NotificationIn.model_validate(
            body, strict=False))
        ids[name] = json.loads(written.text)["id"]
        answer = {"decision": decision, **({"reason": "end use not credible"}
                                           if decision == "objection" else {})}
        notifications.answer_notification(ex, mx, ids[name], ResponseIn.model_validate(
            answer, strict=False))
    permit_ids = {}
    for number, substance, quantity, until in [
        ("COFEPRIS-2026-0001", "NPP", 25, "2027-05-22"),
        ("COFEPRIS-2026-0002", "4-piperidone", 100, "2026-12-15"),
        ("COFEPRIS-2026-0003", "ANPP", 5, "2027-05-22"),
    ]:
        data = permits.PermitIn.model_validate({
            "permit_number": number, "substance": substance, "quantity": quantity,
            "unit": "kg", "importer": {"name": "Quimica Ejemplo SA", "country": "MX"},
            "exporter_country": "CN", "valid_from": "2026-11-23", "valid_until": until},
            strict=False)
        permit_ids[number] = json.loads(permit_store.issue_permit(ex, mx, data).text)["id"]
    permit_store.revoke_permit(ex, mx, permit_ids["COFEPRIS-2026-0003"],
                               permits.RevokeIn.model_validate(
                                   {"reason": "licence suspended"}, strict=False))
    return ids


def _codes(result: dict[str, Any]) -> set[str]:
    return {f["code"] for f in result["flags"]}


def _check_results(results: list[dict[str, Any]], ids: dict[str, str]) -> None:
    declared = {r["declaration_id"]: r for r in results if r["kind"] == "declaration"}
    assert {k: _codes(r) for k, r in declared.items()} == EXPECTED
    assert declared["IMP-2026-0001"]["notification_id"] == ids["N1"]
    assert declared["IMP-2027-0004"]["notification_id"] == ids["N2"]
    never = [r for r in results if r["kind"] == "notification"]
    assert [r["notification_id"] for r in never] == [ids["N3"]]
    assert _codes(never[0]) == {"NOTIFICATION_NEVER_ARRIVED"}


def _env(settings: Any) -> dict[str, str]:
    return {"PWATCH_EXCHANGE_DB_SCHEMA": settings.db_schema or ""}


def test_database_read_directly_gives_every_flag(app: Any, authorities: Any, settings: Any
                                                 ) -> None:
    ex = app.state.exchange
    ids = seed(ex)
    with ex.sessions() as session:
        links = session.scalar(select(func.count()).select_from(AuditEntry))
    records = from_database(settings.db_url, "MX", schema=settings.db_schema)
    assert len(records.notifications) == 5 and len(records.permits) == 3
    assert {n.status for n in records.notifications} == {"no_objection", "objection"}
    revoked = [p for p in records.permits if p.revoked_on is not None]
    assert [p.permit_number for p in revoked] == ["COFEPRIS-2026-0003"]
    # Read-only: nothing was written, the audit chains are as they were.
    with ex.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == links

    resolver = SubstanceResolver()
    read = read_declarations(open_declarations(IMPORTS), resolver, default_country="MX")
    import datetime as dt

    declared, never = reconcile(
        read.declarations,
        Inputs(tuple(records.notifications), tuple(records.permits),
               tuple(load_requirements(REQUIREMENTS, resolver))),
        Options(as_of=dt.date.fromisoformat(AS_OF)))
    _check_results([r.to_dict() for r in [*declared, *never]], ids)


def test_an_unknown_authority_is_named(app: Any, authorities: Any, settings: Any) -> None:
    with pytest.raises(SourceError, match=r"no authority 'ZZ'.*CA, CN, MX, US"):
        from_database(settings.db_url, "ZZ", schema=settings.db_schema)


def test_a_database_behind_the_newest_schema_is_named_with_the_command_that_updates_it(
        app: Any, authorities: Any, settings: Any) -> None:
    with migrating(app.state.exchange.engine) as config:
        command.downgrade(config, "0011")  # before notifications kept their status in the row
    try:
        with pytest.raises(SourceError, match=r"cannot read the exchange database: .*status.*"
                                              r"pwatch admin migrate --db "):
            from_database(settings.db_url, "MX", schema=settings.db_schema)
    finally:
        with migrating(app.state.exchange.engine) as config:
            command.upgrade(config, "head")
    from_database(settings.db_url, "MX", schema=settings.db_schema)  # and reads once updated


def test_command_over_the_database_in_every_format(app: Any, authorities: Any, settings: Any,
                                                   tmp_path: Path) -> None:
    ids = seed(app.state.exchange)
    base = ["reconcile", "--imports", str(IMPORTS), "--db", settings.db_url, "--authority",
            "MX", "--requirements", str(REQUIREMENTS), "--as-of", AS_OF]
    done = runner.invoke(cli_app, base, env=_env(settings))
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    _check_results(lines, ids)
    assert [r["row"] for r in lines[:9]] == list(range(1, 10))
    assert "reconciled 9 declarations against 5 notifications and 3 permits" in done.stderr

    out = tmp_path / "r.csv"
    done = runner.invoke(cli_app, [*base, "--format", "csv", "--out", str(out)],
                         env=_env(settings))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 10
    by_id = {r["id"]: r for r in rows}
    assert set(by_id["IMP-2027-0003"]["flags"].split(";")) == EXPECTED["IMP-2027-0003"]
    assert json.loads(by_id["IMP-2027-0003"]["evidence"])[0]["notification_id"] == ids["N1"]

    page = tmp_path / "r.html"
    done = runner.invoke(cli_app, [*base, "--format", "html", "--out", str(page)],
                         env=_env(settings))
    assert done.exit_code == 0, done.output
    html = page.read_text(encoding="utf-8")
    assert "Import reconciliation report" in html and "NOTIFICATION_NEVER_ARRIVED" in html
    assert "IMP-2027-0003" in html and 'src="http' not in html and "<link" not in html

    done = runner.invoke(cli_app, [*base, "--fail-on", "PERMIT_REVOKED"], env=_env(settings))
    assert done.exit_code == 1
    done = runner.invoke(cli_app, [*base, "--fail-on", "BAD_ROW", "--quiet"], env=_env(settings))
    assert done.exit_code == 0 and done.stderr == ""


def test_command_over_the_api(app: Any, authorities: Any, live_server: Any,
                              tmp_path: Path) -> None:
    ids = seed(app.state.exchange)
    key = tmp_path / "mx.key"
    key.write_text(authorities.by_code["MX"].api_key + "\n", encoding="utf-8")
    records = from_exchange(live_server.url, key.read_text().strip(), page=2)  # pages of two
    assert len(records.notifications) == 5 and len(records.permits) == 3
    done = runner.invoke(cli_app, [
        "reconcile", "--imports", str(IMPORTS), "--exchange", live_server.url, "--key-file",
        str(key), "--requirements", str(REQUIREMENTS), "--as-of", AS_OF])
    assert done.exit_code == 0, done.output
    _check_results([json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")], ids)

    key.write_text("not-a-key", encoding="utf-8")
    done = runner.invoke(cli_app, ["reconcile", "--imports", str(IMPORTS), "--exchange",
                                   live_server.url, "--key-file", str(key)])
    assert done.exit_code == 2 and "refused the key" in done.output
