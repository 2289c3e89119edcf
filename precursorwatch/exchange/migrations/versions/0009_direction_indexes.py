"""notifications indexed by exporter and by importer together with their time; records'
large columns compressed with LZ4 on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A page of an authority's outgoing or incoming notifications, newest first, read every row of
that authority and sorted them: a cost that grew with its whole history. Indexed on (exporter,
time) and (importer, time), the page reads its newest rows only. The single-column indexes they
replace served only the look-ups the new ones serve too.

A record's served copy, body and verdict (a few KB each) are compressed when stored; LZ4 costs
PostgreSQL about a third of the CPU of its default (pglz) per record written, and reads it back
faster. Values already stored keep their compression (both read alike); where the server was
built without LZ4 nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COMPRESSED = {"notification": ("body", "verdict", "party_hits", "rendered"),
               "incident": ("body", "verdict", "party_hits", "rendered")}


def _compress_with(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not bind.execute(sa.text(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND :method = ANY(enumvals)"), {"method": method}).scalar_one():
        return
    for table, columns in _COMPRESSED.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in columns))


def upgrade() -> None:
    _compress_with("lz4")
    op.create_index("ix_notification_exporter_created", "notification",
                    ["exporter_id", "created_at"])
    op.create_index("ix_notification_importer_created", "notification",
                    ["importer_id", "created_at"])
    op.drop_index("ix_notification_exporter_id", table_name="notification")
    op.drop_index("ix_notification_importer_id", table_name="notification")


def downgrade() -> None:
    _compress_with("pglz")
    op.create_index("ix_notification_exporter_id", "notification", ["exporter_id"])
    op.create_index("ix_notification_importer_id", "notification", ["importer_id"])
    op.drop_index("ix_notification_exporter_created", table_name="notification")
    op.drop_index("ix_notification_importer_created", table_name="notification")
