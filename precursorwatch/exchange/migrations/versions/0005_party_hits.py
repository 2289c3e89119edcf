"""screen the parties of each notification and incident on receipt

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from precursorwatch.exchange.migrations.rendering import rerender_incidents, rerender_notifications

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TABLES = ("notification", "incident")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("party_hits", sa.JSON(), nullable=True))
    # Older records were not screened: they are served with "party_hits": [].
    rerender_notifications(op.get_bind())
    rerender_incidents(op.get_bind())


def downgrade() -> None:
    for table in _TABLES:
        screened = op.get_bind().execute(sa.text(
            f"SELECT count(*) FROM {table} WHERE party_hits IS NOT NULL")).scalar_one()
        if screened:
            # The screening is part of what those records' signatures cover: dropping it
            # would make every one of them fail the audit.
            raise RuntimeError(f"cannot go below revision 0005: {screened} {table}(s) carry "
                               "signed party screening")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("party_hits")
