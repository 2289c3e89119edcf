"""index incidents by the notifications they are linked to

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_incident = sa.table("incident", sa.column("id", sa.String()), sa.column("body", sa.JSON()))


def upgrade() -> None:
    links = op.create_table(
        "incident_notification",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"]),
        sa.PrimaryKeyConstraint("incident_id", "notification_id"),
    )
    op.create_index(op.f("ix_incident_notification_notification_id"), "incident_notification",
                    ["notification_id"], unique=False)
    rows = [{"incident_id": i, "notification_id": n}
            for i, body in op.get_bind().execute(sa.select(_incident.c.id, _incident.c.body))
            for n in dict.fromkeys((body or {}).get("notification_ids") or [])]
    if rows:
        op.bulk_insert(links, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_notification_notification_id"),
                  table_name="incident_notification")
    op.drop_table("incident_notification")
