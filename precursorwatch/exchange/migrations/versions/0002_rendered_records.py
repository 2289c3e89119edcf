"""store each notification and incident as served, rendered once on write

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from precursorwatch.exchange.models import Incident, Notification, UtcDateTime
from precursorwatch.exchange.records import render_incident, render_notification

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as they stand at this revision (not the models, which may move on).
_authority = sa.table("authority", sa.column("id", sa.Integer()), sa.column("code", sa.String()))
_transit = sa.table("notification_transit", sa.column("notification_id", sa.String()),
                    sa.column("authority_id", sa.Integer()))
_notification = sa.table(
    "notification", *(sa.column(c, sa.String()) for c in ("id", "thread_id", "supersedes_id",
                                                         "signature", "rendered")),
    sa.column("version", sa.Integer()), sa.column("exporter_id", sa.Integer()),
    sa.column("importer_id", sa.Integer()), sa.column("created_at", UtcDateTime()),
    sa.column("reply_deadline", UtcDateTime()), sa.column("body", sa.JSON()),
    sa.column("verdict", sa.JSON()))
_incident = sa.table(
    "incident", *(sa.column(c, sa.String()) for c in ("id", "signature", "rendered")),
    sa.column("reporter_id", sa.Integer()), sa.column("created_at", UtcDateTime()),
    sa.column("body", sa.JSON()), sa.column("verdict", sa.JSON()))


def upgrade() -> None:
    for table in ("notification", "incident"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("rendered", sa.Text(), nullable=True))
    conn = op.get_bind()
    codes = dict(conn.execute(sa.select(_authority.c.id, _authority.c.code)).all())
    transit: dict[str, list[str]] = defaultdict(list)
    for nid, aid in conn.execute(sa.select(_transit.c.notification_id, _transit.c.authority_id)):
        transit[nid].append(codes[aid])
    # Transient rows (never added to a session) carry the values into the renderers.
    for r in conn.execute(sa.select(_notification)).mappings():
        row = Notification(**{k: v for k, v in r.items() if k != "rendered"})
        conn.execute(_notification.update().where(_notification.c.id == r["id"]).values(
            rendered=render_notification(row, exporter=codes[r["exporter_id"]],
                                         importer=codes[r["importer_id"]],
                                         transit=transit[r["id"]])))
    for r in conn.execute(sa.select(_incident)).mappings():
        incident = Incident(**{k: v for k, v in r.items() if k != "rendered"})
        conn.execute(_incident.update().where(_incident.c.id == r["id"]).values(
            rendered=render_incident(incident, reporter=codes[r["reporter_id"]])))
    for table in ("notification", "incident"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("rendered", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    for table in ("incident", "notification"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("rendered")
