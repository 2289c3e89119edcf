"""notifications indexed by exporter and by importer together with their time

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A page of an authority's outgoing or incoming notifications, newest first, read every row of
that authority and sorted them: a cost that grew with its whole history. Indexed on (exporter,
time) and (importer, time), the page reads its newest rows only. The single-column indexes they
replace served only the look-ups the new ones serve too.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notification_exporter_created", "notification",
                    ["exporter_id", "created_at"])
    op.create_index("ix_notification_importer_created", "notification",
                    ["importer_id", "created_at"])
    op.drop_index("ix_notification_exporter_id", table_name="notification")
    op.drop_index("ix_notification_importer_id", table_name="notification")


def downgrade() -> None:
    op.create_index("ix_notification_exporter_id", "notification", ["exporter_id"])
    op.create_index("ix_notification_importer_id", "notification", ["importer_id"])
    op.drop_index("ix_notification_exporter_created", table_name="notification")
    op.drop_index("ix_notification_importer_created", table_name="notification")
