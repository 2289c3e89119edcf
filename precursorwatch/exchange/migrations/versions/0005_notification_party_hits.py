"""screen the parties of each notification on receipt

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from precursorwatch.exchange.migrations.rendering import rerender_notifications

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.add_column(sa.Column("party_hits", sa.JSON(), nullable=True))
    # Older notifications were not screened: they are served with "party_hits": [].
    rerender_notifications(op.get_bind())


def downgrade() -> None:
    screened = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM notification WHERE party_hits IS NOT NULL")).scalar_one()
    if screened:
        # The screening is part of what those records' signatures cover: dropping it would
        # make every one of them fail the audit.
        raise RuntimeError(f"cannot go below revision 0005: {screened} notification(s) carry "
                           "signed party screening")
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_column("party_hits")
