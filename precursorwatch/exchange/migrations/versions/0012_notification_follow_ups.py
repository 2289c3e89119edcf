"""keep what reads serve of a notification's answer and correction in its own row

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

A read of a notification used to join its answer and its correction to derive its status,
correction and answer; they are now columns of its row (`status`, `superseded_by`, `answer`),
set by the write that adds the answer or the correction, in the same transaction. Rows already
there get them from those signed rows; the audit checks them against the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from precursorwatch.exchange.migrations.rendering import refill_follow_ups

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(16), nullable=False,
                                      server_default="sent"))
        batch_op.add_column(sa.Column("superseded_by", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
    refill_follow_ups(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_column("answer")
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("status")
