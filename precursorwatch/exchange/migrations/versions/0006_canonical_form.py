"""record in which canonical JSON form each signed record was signed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Records are signed over RFC 8785 (JCS) canonical JSON from this revision on. The rows stored
before were signed over sorted-key JSON: they are marked `sorted-json` and keep their
signatures (nothing is re-signed), so the audit checks each row in the form it was signed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("notification", "notification_response", "incident")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("canon", sa.String(length=16), nullable=False,
                                          server_default="sorted-json"))
        # Only the rows already there are legacy: the service names the form of every new one.
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("canon", server_default=None)


def downgrade() -> None:
    for table in _TABLES:
        newer = op.get_bind().execute(sa.text(
            f"SELECT count(*) FROM {table} WHERE canon <> 'sorted-json'")).scalar_one()
        if newer:
            # Without the column those records would be checked in the wrong form and fail.
            raise RuntimeError(f"cannot go below revision 0006: {newer} {table}(s) are signed "
                               "over RFC 8785 canonical JSON")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("canon")
