"""Re-render the stored served copies (`records.render_*`) inside a migration: a revision that
changes what the API serves for a record renders every existing row again, so the copies keep
agreeing with the signed columns (the audit compares them)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from precursorwatch.exchange.models import Incident, Notification, NotificationResponse
from precursorwatch.exchange.records import follow_up, render_incident, render_notification


def _utc(values: dict[str, Any]) -> dict[str, Any]:
    # Reflected columns give SQLite's naive datetimes back; they are stored in UTC.
    return {k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is None
            else v for k, v in values.items()}


def rerender_notifications(conn: sa.Connection) -> None:
    """Render every notification as served now, from its signed columns."""
    meta = sa.MetaData()
    table = sa.Table("notification", meta, autoload_with=conn)
    authority = sa.Table("authority", meta, autoload_with=conn)
    transit_table = sa.Table("notification_transit", meta, autoload_with=conn)
    codes = dict(conn.execute(sa.select(authority.c.id, authority.c.code)).all())
    transit: dict[str, list[str]] = defaultdict(list)
    for nid, aid in conn.execute(sa.select(transit_table.c.notification_id,
                                           transit_table.c.authority_id)):
        transit[nid].append(codes[aid])
    for r in conn.execute(sa.select(table)).mappings():
        # A transient row (never added to a session) carries the values to the renderer.
        row = Notification(**_utc({k: v for k, v in r.items() if k != "rendered"}))
        conn.execute(table.update().where(table.c.id == r["id"]).values(
            rendered=render_notification(row, exporter=codes[r["exporter_id"]],
                                         importer=codes[r["importer_id"]],
                                         transit=transit[r["id"]])))


def rerender_incidents(conn: sa.Connection) -> None:
    """Render every incident as served now, from its signed columns."""
    meta = sa.MetaData()
    table = sa.Table("incident", meta, autoload_with=conn)
    authority = sa.Table("authority", meta, autoload_with=conn)
    codes = dict(conn.execute(sa.select(authority.c.id, authority.c.code)).all())
    for r in conn.execute(sa.select(table)).mappings():
        row = Incident(**_utc({k: v for k, v in r.items() if k != "rendered"}))
        conn.execute(table.update().where(table.c.id == r["id"]).values(
            rendered=render_incident(row, reporter=codes[r["reporter_id"]])))


def refill_follow_ups(conn: sa.Connection) -> None:
    """Set what reads serve of every notification that was answered or corrected (its
    `status`, `superseded_by` and `answer`, `records.follow_up`) from those signed rows."""
    meta = sa.MetaData()
    table = sa.Table("notification", meta, autoload_with=conn)
    response_table = sa.Table("notification_response", meta, autoload_with=conn)
    authority = sa.Table("authority", meta, autoload_with=conn)
    codes = dict(conn.execute(sa.select(authority.c.id, authority.c.code)).all())
    responses = {r["notification_id"]: NotificationResponse(**_utc(dict(r)))
                 for r in conn.execute(sa.select(response_table)).mappings()}
    successors = dict(conn.execute(sa.select(table.c.supersedes_id, table.c.id)
                                   .where(table.c.supersedes_id.is_not(None))).all())
    rows = []
    for nid in sorted(set(responses) | set(successors)):
        status, superseded_by, answer = follow_up(responses.get(nid), successors.get(nid), codes)
        rows.append({"nid": nid, "new_status": status, "successor": superseded_by,
                     "served_answer": answer})
    if rows:
        conn.execute(table.update().where(table.c.id == sa.bindparam("nid")).values(
            status=sa.bindparam("new_status"), superseded_by=sa.bindparam("successor"),
            answer=sa.bindparam("served_answer")), rows)
