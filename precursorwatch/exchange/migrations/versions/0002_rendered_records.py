"""store each notification and incident as served, rendered once on write

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from precursorwatch.exchange.migrations.rendering import rerender_incidents, rerender_notifications

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("notification", "incident"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("rendered", sa.Text(), nullable=True))
    conn = op.get_bind()
    rerender_notifications(conn)
    rerender_incidents(conn)
    for table in ("notification", "incident"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("rendered", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    for table in ("incident", "notification"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("rendered")
