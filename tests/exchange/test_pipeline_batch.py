"""A write's statements on PostgreSQL (`db.PipelineBatch`): written into the driver's buffer as
they are queued, sent and answered at each sync, with the same results and errors whether
psycopg's internals allow that or the batch falls back to `cursor.execute`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from conftest import PG_URL
from sqlalchemy.dialects import postgresql

from precursorwatch.exchange import db

_PLAIN = PG_URL.replace("postgresql+psycopg://", "postgresql://")
_META = sa.MetaData()
_ITEMS = sa.Table("items", _META, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("at", sa.DateTime(timezone=True), nullable=False),
                  sa.Column("note", sa.Text, nullable=False))
_INSERT = sa.insert(_ITEMS).values(id=sa.bindparam("id"), at=sa.bindparam("at"),
                                   note=sa.bindparam("note"))
_FIND = sa.select(_ITEMS.c.note, _ITEMS.c.at).where(_ITEMS.c.id == sa.bindparam("id"))
_DIALECT = postgresql.psycopg.dialect()
_AT = "2026-01-02T03:04:05+00:00"


@pytest.fixture
def raw() -> Iterator[psycopg.Connection[Any]]:
    schema = f"pwx_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_PLAIN, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            with psycopg.connect(_PLAIN, autocommit=True,
                                 options=f"-csearch_path={schema}") as conn:
                conn.execute("CREATE TABLE items (id int PRIMARY KEY, at timestamptz NOT NULL,"
                             " note text NOT NULL)")
                yield conn
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["queued", "executed"])
def queued(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param == "executed":  # as with a psycopg whose internals differ
        monkeypatch.setattr(db, "_can_queue", lambda *_: False)
    return bool(request.param == "queued")


def _notes(raw: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in raw.execute("SELECT note FROM items ORDER BY id")]


def test_the_installed_psycopg_lets_a_batch_queue_its_statements(
        raw: psycopg.Connection[Any]) -> None:
    with raw.pipeline() as pipeline:
        assert db.PipelineBatch(raw, pipeline, _DIALECT)._queued


def test_a_batch_waits_for_the_server_at_its_syncs_only(
        raw: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[object] = []
    wait = raw.wait

    def counted(gen: Any, *args: Any, **kwargs: Any) -> Any:
        waits.append(gen)
        return wait(gen, *args, **kwargs)

    with raw.pipeline() as pipeline:
        batch = db.PipelineBatch(raw, pipeline, _DIALECT)
        monkeypatch.setattr(raw, "wait", counted)
        batch.command(b"BEGIN")
        batch.execute(_INSERT, [{"id": i, "at": _AT, "note": f"n{i}"} for i in range(3)])
        found = batch.query(_FIND, {"id": 1})
        assert waits == []
        batch.sync()
        assert len(waits) == 1
        note, at = found.first() or ("", None)
        assert (note, at.isoformat()) == ("n1", _AT)
        batch.command(b"COMMIT")
        batch.sync()
        assert len(waits) == 2
    assert _notes(raw) == ["n0", "n1", "n2"]


def test_results_and_errors_come_at_the_sync_the_segment_before_kept(
        raw: psycopg.Connection[Any], queued: bool) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation), raw.pipeline() as pipeline:
        batch = db.PipelineBatch(raw, pipeline, _DIALECT)
        assert batch._queued is queued
        batch.execute(_INSERT, [{"id": 1, "at": _AT, "note": "kept"}])
        batch.end_segment()
        batch.command(b"BEGIN")
        batch.execute(_INSERT, [{"id": 2, "at": _AT, "note": "undone"},
                                {"id": 1, "at": _AT, "note": "twice"}])
        batch.command(b"COMMIT")
        batch.sync()
    raw.rollback()
    assert _notes(raw) == ["kept"]


def test_a_batch_runs_its_checks_after_the_sync_and_reads_its_rows(
        raw: psycopg.Connection[Any], queued: bool) -> None:
    raw.execute("INSERT INTO items VALUES (7, %s, 'there')", (_AT,))
    seen: list[Any] = []
    with raw.pipeline() as pipeline:
        batch = db.PipelineBatch(raw, pipeline, _DIALECT)
        batch.command(b"BEGIN")
        there, missing = batch.query(_FIND, {"id": 7}), batch.query(_FIND, {"id": 8})
        batch.checks.append(lambda: seen.append((there.all(), missing.first())))
        batch.sync()
        batch.execute(_INSERT, [{"id": 8, "at": _AT, "note": "new"}])
        batch.command(b"COMMIT")
        batch.sync()
    [(rows, none)] = seen
    assert none is None and [(n, at.isoformat()) for n, at in rows] == [("there", _AT)]
    assert _notes(raw) == ["there", "new"]
