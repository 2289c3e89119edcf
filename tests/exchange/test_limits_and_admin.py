"""Rate limits per key, administration of authorities and keys, migrations, concurrent writers."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from exchange_helpers import Clock, incident, notification
from fastapi.testclient import TestClient
from sqlalchemy import Engine, String, bindparam, create_engine, func, select, text

from precursorwatch.exchange import notifications, service
from precursorwatch.exchange.admin import (
    add_authority,
    open_database,
    revoke_key,
    rotate_key,
    verify_audit,
)
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.db import make_engine, migrate
from precursorwatch.exchange.errors import AdminError, Conflict, RateLimited, Unauthorized
from precursorwatch.exchange.limits import Count, LocalRateLimits, SharedRateLimits
from precursorwatch.exchange.models import AuditEntry, Authority, Base
from precursorwatch.exchange.schemas import NotificationIn, ResponseIn
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import KeyVault, hash_api_key


def test_rate_limit_per_key_answers_429_with_retry_after(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    app = create_app(dataclasses.replace(settings, rate_limit=3), engine=engine, clock=clock)
    ex = app.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    mx = add_authority(ex.engine, ex.vault, "MX", "COFEPRIS")
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get("/v1/notifications",
                              headers={"Authorization": f"Bearer {cn.api_key}"}).status_code == 200
        over = client.get("/v1/notifications", headers={"Authorization": f"Bearer {cn.api_key}"})
        assert over.status_code == 429
        assert over.json()["error"]["code"] == "rate_limited"
        assert "more than 3 requests" in over.json()["error"]["message"]
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        other = client.get("/v1/notifications", headers={"Authorization": f"Bearer {mx.api_key}"})
        assert other.status_code == 200


def test_rate_window_reopens() -> None:
    now = [0.0]
    limiter = LocalRateLimits(2, 10, clock=lambda: now[0])
    limiter.hit("k")
    limiter.hit("k")
    with pytest.raises(RateLimited, match="retry after 10 s"):
        limiter.hit("k")
    now[0] = 10.0
    limiter.hit("k")


def test_workers_on_one_database_share_each_keys_count(
        settings: ExchangeSettings, engine: Engine, database: Any) -> None:
    """Two service processes (here two apps, each with its own engine) over one PostgreSQL
    database: the limit holds for the key across both, not per process."""
    if database.kind != "postgresql":
        pytest.skip("SQLite is served by one process")
    limited = dataclasses.replace(settings, rate_limit=4)
    first = create_app(limited, engine=engine)
    other_engine = make_engine(settings.db_url, schema=settings.db_schema)
    second = create_app(limited, engine=other_engine)
    ex = first.state.exchange
    cn = add_authority(ex.engine, ex.vault, "CN", "NNCC")
    mx = add_authority(ex.engine, ex.vault, "MX", "COFEPRIS")
    auth = {"Authorization": f"Bearer {cn.api_key}"}
    try:
        with TestClient(first) as one, TestClient(second) as two:
            codes = [c.get("/v1/incidents", headers=auth).status_code
                     for c in (one, two, one, two, one, two)]
            assert codes == [200, 200, 200, 200, 429, 429]
            refused = two.get("/v1/incidents", headers=auth)
            assert "more than 4 requests" in refused.json()["error"]["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert one.get("/v1/incidents", headers={
                "Authorization": f"Bearer {mx.api_key}"}).status_code == 200
    finally:
        other_engine.dispose()


def test_shared_window_reopens_and_a_lagging_clock_does_not_reset_it(
        engine: Engine, settings: ExchangeSettings, database: Any) -> None:
    if database.kind != "postgresql":
        pytest.skip("the shared count is PostgreSQL's")
    ex = create_app(settings, engine=engine).state.exchange
    add_authority(engine, ex.vault, "CN", "NNCC")
    key_hash = hash_api_key(rotate_key(engine, "CN").api_key)
    now = [1_000.0]
    ahead = SharedRateLimits(2, 10, clock=lambda: now[0])
    behind = SharedRateLimits(2, 10, clock=lambda: now[0] - 3)  # another host, 3 s slow
    with engine.connect() as conn:
        assert ahead.look_up(conn, key_hash).code == "CN"  # window 1000-1010
        assert behind.look_up(conn, key_hash) is not None  # its clock says 997: same count
        with pytest.raises(RateLimited, match="retry after 10 s"):
            ahead.look_up(conn, key_hash)
        now[0] = 1_010.0
        assert ahead.look_up(conn, key_hash) is not None  # a new window
        assert behind.look_up(conn, key_hash) is not None  # 1007: counts in the newest one
        with pytest.raises(RateLimited):
            behind.look_up(conn, key_hash)
        assert ahead.look_up(conn, "0" * 64) is None  # unknown keys are not counted
        assert conn.execute(text("SELECT count(*) FROM rate_window")).scalar_one() == 1


def test_the_rate_count_alone_commits_without_waiting_for_the_disk(
        engine: Engine, settings: ExchangeSettings, database: Any) -> None:
    """The count's own transaction commits asynchronously (no WAL flush per request); a
    read sent along with it shares that transaction, a write's transaction after it does
    not, nor one the count is part of, and the connection goes back to the pool with
    synchronous commits."""
    if database.kind != "postgresql":
        pytest.skip("the shared count is PostgreSQL's")
    ex = create_app(settings, engine=engine).state.exchange
    key = add_authority(engine, ex.vault, "CN", "NNCC").api_key
    count = Count(ex_limits := SharedRateLimits(100, 60), hash_api_key(key))
    setting = text("SELECT current_setting('synchronous_commit')")
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        assert count.rows(conn, setting, {}) == [("off",)]
        assert conn.execute(setting).scalar_one() == "on"
    with engine.begin() as conn:  # within a transaction: the count commits with it
        assert conn.execute(setting).scalar_one() == "on"
        assert count.rows(conn, setting, {}) == [("on",)]
    with ex.batch(count) as batch:
        inside = batch.query(setting, {})
        batch.sync()
        assert inside.first() == ("on",)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT hits FROM rate_window")).scalar_one() == 3
        assert ex_limits.look_up(conn, hash_api_key(key)) is not None
        assert conn.execute(setting).scalar_one() == "on"


def test_a_single_row_is_read_in_the_counting_statement(
        engine: Engine, settings: ExchangeSettings, database: Any) -> None:
    """`Count.one` reads at most one row in the statement that counts the request, as its own
    asynchronous transaction in autocommit: the row, or None when there is none (counted all
    the same); an unknown key is 401 whatever the row."""
    ex = create_app(settings, engine=engine).state.exchange
    key = add_authority(engine, ex.vault, "CN", "NNCC").api_key
    limits = SharedRateLimits(100, 60) if database.kind == "postgresql" else LocalRateLimits(
        100, 60)
    count = Count(limits, hash_api_key(key))
    setting = ([text("current_setting('synchronous_commit')")]
               if database.kind == "postgresql" else [])
    code = select(Authority.code, *setting).where(
        Authority.code == bindparam("code", type_=String()))
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        found = count.one(conn, code, {"code": "CN"})
        assert found is not None and found[0] == "CN"
        if database.kind == "postgresql":
            assert found[1] == "off"
        assert count.one(conn, code, {"code": "XX"}) is None
        with pytest.raises(Unauthorized):
            Count(limits, hash_api_key("pwx_unknown")).one(conn, code, {"code": "CN"})
        if database.kind == "postgresql":
            assert conn.execute(text("SELECT hits FROM rate_window")).scalar_one() == 2


def test_add_authority_keeps_only_the_key_hash(engine: Engine, settings: ExchangeSettings,
                                               database: Any) -> None:
    migrated = open_database(settings)
    vault = KeyVault.open(None, settings.secret_file)
    issued = add_authority(migrated, vault, "mx", " COFEPRIS ", reply_days=10)
    assert issued.code == "MX" and issued.api_key.startswith("pwx_")
    with migrated.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM authority"))
                        for v in row)
    assert issued.api_key not in dump
    assert hash_api_key(issued.api_key) in dump
    with pytest.raises(AdminError, match="exists already"):
        add_authority(migrated, vault, "MX", "again")
    for code, name, days, words in [("m", "x", 7, "CODE"), ("MX1", "", 7, "NAME"),
                                    ("MX2", "x", 0, "reply-days")]:
        with pytest.raises(AdminError, match=words):
            add_authority(migrated, vault, code, name, reply_days=days)
    with pytest.raises(AdminError, match="no authority with code 'ZZ'"):
        rotate_key(migrated, "ZZ")
    with pytest.raises(AdminError, match="no authority"):
        revoke_key(migrated, "ZZ")
    migrated.dispose()


def test_private_keys_need_the_exchange_secret(engine: Engine, settings: ExchangeSettings,
                                               tmp_path: Path) -> None:
    migrated = open_database(settings)
    vault = KeyVault.open(None, settings.secret_file)
    assert settings.secret_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    add_authority(migrated, vault, "CN", "NNCC")
    with migrated.connect() as conn:
        stored = conn.execute(select(Authority.private_key_enc)).scalar_one()
    other = KeyVault.open(None, tmp_path / "other.secret")
    with pytest.raises(AdminError, match="not the one the keys were made with"):
        other.sign(stored, {"x": 1})
    assert vault.sign(stored, {"x": 1})
    with pytest.raises(AdminError, match="not a valid key"):
        KeyVault("short")
    migrated.dispose()


def test_migrations_run_twice_without_harm(settings: ExchangeSettings) -> None:
    first = open_database(settings)
    second = open_database(settings)
    with second.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    first.dispose()
    second.dispose()


def test_migrations_build_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    """A model changed without a migration (or the reverse) shows here, on both databases."""
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_bad_database_url_is_said_plainly() -> None:
    for url, words in [("nonsense", "not a database URL"), ("mysql://x/y", "not supported")]:
        with pytest.raises(AdminError, match=words):
            open_database(ExchangeSettings(db_url=url))


def test_concurrent_writes_by_one_authority_keep_one_chain(app: Any, authorities: Any) -> None:
    ex = app.state.exchange
    with ex.sessions() as session:
        cn = session.scalars(select(Authority).where(Authority.code == "CN")).one()
    caller = Caller(cn.id, cn.code, cn.name)
    data = NotificationIn.model_validate(notification(), strict=False)

    def send(_: int) -> str:
        return str(json.loads(notifications.send_notification(ex, caller, data).text)["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(send, range(24)))
    assert len(set(ids)) == 24
    report = service.verify_own_chain(ex, caller)
    assert report.ok and report.entries == 24, report.problems
    with ex.sessions() as session:
        seqs = session.scalars(select(AuditEntry.seq).where(AuditEntry.authority_id == cn.id)
                               .order_by(AuditEntry.seq)).all()
        assert seqs == list(range(1, 25))
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 24


def test_concurrent_answers_leave_exactly_one(app: Any, authorities: Any) -> None:
    ex = app.state.exchange
    with ex.sessions() as session:
        found = {a.code: a for a in session.scalars(select(Authority))}
    cn, mx = (Caller(found[c].id, c, found[c].name) for c in ("CN", "MX"))
    sent = json.loads(notifications.send_notification(
        ex, cn, NotificationIn.model_validate(notification(), strict=False)).text)

    def answer(i: int) -> str:
        decision = ("no_objection", "objection")[i % 2]
        try:
            notifications.answer_notification(ex, mx, sent["id"], ResponseIn(
                decision=decision, reason="no licence"))
        except Conflict as exc:
            return exc.code
        return decision

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(answer, range(6)))
    winners = [o for o in outcomes if o in ("no_objection", "objection")]
    assert len(winners) == 1, outcomes
    assert all(o == f"notification_{winners[0]}" for o in outcomes if o not in winners)
    assert json.loads(notifications.get_notification(ex, mx, sent["id"]))["status"] == winners[0]
    assert service.verify_own_chain(ex, mx).entries == 1


def drop_pooled_connections(engine: Engine, database: Any) -> None:
    """Terminate, server side, every connection in the engine's pool."""
    pooled = [engine.connect() for _ in range(max(1, engine.pool.checkedin()))]
    pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in pooled]
    for c in pooled:
        c.close()  # back to the pool, where the next request finds them
    drop_connections(pids, database)


def drop_connections(pids: list[int], database: Any) -> None:
    """Terminate, server side, the connections of these backends."""
    with psycopg.connect(database.url.replace("+psycopg", ""), autocommit=True) as admin:
        for pid in pids:
            # With a timeout it returns once the backend has exited (its socket closed), as
            # after a restart or an idle timeout; without one it returns at once, and on a busy
            # machine the next request could still find the connection open and then lose it.
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))


def test_writes_survive_a_dropped_database_connection(
        app: Any, client: TestClient, authorities: Any, database: Any) -> None:
    if database.kind != "postgresql":
        pytest.skip("needs a server that can drop a client's connection")
    us = authorities.headers("US")
    for _ in range(2):  # the second, its substance checked already, runs on the event loop
        assert client.post("/v1/incidents", json=incident(), headers=us).status_code == 201
    reads = app.state.exchange.loop_connections
    assert reads._idle, "a write on the event loop left its connection for the next"
    drop_pooled_connections(app.state.exchange.engine, database)
    drop_connections([c.info.backend_pid for c in reads._idle], database)
    # On the event loop (a substance checked already), then in the thread pool (a new one).
    assert client.post("/v1/incidents", json=incident(), headers=us).status_code == 201
    assert client.post("/v1/incidents", json=incident(substance="toluene"),
                       headers=us).status_code == 201
    assert all(r.ok for r in verify_audit(app.state.exchange.engine))


def test_an_unreachable_database_answers_503_with_retry_after(
        app: Any, client: TestClient, authorities: Any) -> None:
    # Nothing listens on port 9: every connection attempt fails, as when the server is down.
    app.state.exchange._reader = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/x")
    down = client.get("/v1/notifications", headers=authorities.headers("CN"))
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "database_unavailable"
    assert down.headers["Retry-After"] == "1"


def test_reads_survive_a_dropped_database_connection(
        app: Any, client: TestClient, authorities: Any, database: Any) -> None:
    """Pooled connections are not pinged before use; when the database drops them (a restart,
    an idle timeout), the next read still answers instead of failing with 500."""
    if database.kind != "postgresql":
        pytest.skip("needs a server that can drop a client's connection")
    sent = client.post("/v1/notifications", json=notification(),
                       headers=authorities.headers("CN")).json()
    drop_pooled_connections(app.state.exchange.engine, database)
    got = client.get(f"/v1/notifications/{sent['id']}", headers=authorities.headers("MX"))
    assert got.status_code == 200, got.text
    assert got.json()["id"] == sent["id"]


def test_records_are_stored_compressed_with_lz4_on_postgresql(
        app: Any, client: TestClient, authorities: Any, database: Any) -> None:
    """Revision 0009: a record's large columns are compressed with LZ4 where the server has
    it (cheaper to write and read than pglz); the record reads and verifies as before."""
    if database.kind != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    engine = app.state.exchange.engine
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                "WHERE name = 'default_toast_compression'")):
            pytest.skip("this PostgreSQL was built without LZ4")
    sent = client.post("/v1/notifications", json=notification(), headers=authorities.headers("CN"))
    seized = client.post("/v1/incidents", json=incident(), headers=authorities.headers("US"))
    assert sent.status_code == seized.status_code == 201
    with engine.connect() as conn:
        for table, record_id in (("notification", sent.json()["id"]),
                                 ("incident", seized.json()["id"])):
            methods = conn.execute(text(
                f"SELECT pg_column_compression(rendered), pg_column_compression(verdict) "
                f"FROM {table} WHERE id = :id"), {"id": record_id}).one()
            assert methods == ("lz4", "lz4"), table
    got = client.get(f"/v1/notifications/{sent.json()['id']}", headers=authorities.headers("MX"))
    assert got.json()["verdict"] == sent.json()["verdict"]
    assert all(r.ok for r in verify_audit(engine))


def test_reads_on_the_event_loop_survive_dropped_and_busy_connections(
        app: Any, client: TestClient, authorities: Any, database: Any,
        engine: Engine) -> None:
    """On PostgreSQL a read with a known key runs on the event loop, on connections of its
    own (`db.LoopConnections`). When the database drops them, the next read still answers; when all
    are in use, reads go through the engine; an unreachable database is 503 as for the
    engine's reads; disposing of the engine closes them."""
    if database.kind != "postgresql":
        pytest.skip("SQLite reads go through the engine only")
    reads = app.state.exchange.loop_connections
    sent = client.post("/v1/notifications", json=notification(),
                       headers=authorities.headers("CN")).json()
    mx = authorities.headers("MX")

    def read() -> Any:
        return client.get(f"/v1/notifications/{sent['id']}", headers=mx)

    for _ in range(3):  # the first read looks the key up through the engine
        assert read().status_code == 200
    assert reads._idle, "the reads with a known key ran on connections of their own"
    with psycopg.connect(database.url.replace("+psycopg", ""), autocommit=True) as admin:
        for connection in reads._idle:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)",
                          (connection.info.backend_pid,))
    dropped = read()
    assert dropped.status_code == 200 and dropped.json()["id"] == sent["id"]
    page = client.get("/v1/notifications?limit=5", headers=mx)
    assert [n["id"] for n in page.json()["items"]] == [sent["id"]]

    reads._size, idle = 0, list(reads._idle)  # all in use: the engine's connections serve
    reads._idle.clear()
    assert read().status_code == 200 and not reads._idle
    reads._size, reads._idle[:] = 10, idle

    reachable, reads._conninfo = reads._conninfo, "host=127.0.0.1 port=9 dbname=x user=x"
    with psycopg.connect(database.url.replace("+psycopg", ""), autocommit=True) as admin:
        for connection in reads._idle:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)",
                          (connection.info.backend_pid,))
    down = read()
    assert down.status_code == 503 and down.headers["Retry-After"] == "1"
    assert down.json()["error"]["code"] == "database_unavailable"

    reads._conninfo = reachable
    assert read().status_code == 200
    kept = list(reads._idle)
    assert kept and not any(c.closed for c in kept)
    engine.dispose()
    assert not reads._idle and all(c.closed for c in kept)


def test_a_read_cancelled_on_the_event_loop_does_not_leave_its_connection_for_the_next(
        engine: Engine, database: Any) -> None:
    """A read on the event loop whose task is cancelled mid-statement (its client gone)
    leaves no connection behind that the next task could not use: psycopg cancels the
    statement on the server, and the connection is kept only if it is idle again (else it is
    closed); the count of those in use goes back to zero."""
    import asyncio

    from precursorwatch.exchange.db import LoopConnections

    if database.kind != "postgresql":
        pytest.skip("SQLite reads go through the engine only")
    loop_connections = LoopConnections.of(engine)
    assert loop_connections is not None

    async def scenario() -> None:
        assert await loop_connections.rows("SELECT 1", {}) == [(1,)]
        kept = list(loop_connections._idle)
        assert len(kept) == 1 and loop_connections._in_use == 0
        slow = asyncio.create_task(loop_connections.rows("SELECT pg_sleep(5)", {}))
        await asyncio.sleep(0.3)  # the statement is running on the kept connection
        assert loop_connections._in_use == 1 and not loop_connections._idle
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert loop_connections._in_use == 0
        for connection in loop_connections._idle:  # kept only when clean
            assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert kept[0].closed or loop_connections._idle == kept
        assert await loop_connections.rows("SELECT 2", {}) == [(2,)]  # the next read is served
        assert await loop_connections.rows("SELECT pg_backend_pid() > 0", {}) == [(True,)]

    asyncio.run(scenario())
    engine.dispose()
    assert not loop_connections._idle
