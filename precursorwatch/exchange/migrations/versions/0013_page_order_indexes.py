"""records indexed in the order pages read them: newest first, then by id

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

A page is ordered by (created_at DESC, id). Indexed on the time alone, or on the party and the
time, the page's rows came out of the index in time order but not in that full order, and
without the table's statistics (a table just filled, not analysed yet) PostgreSQL sorted all of
an authority's rows to return twenty. Indexed in the page's own order, it reads the page's rows
and stops.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, leading party column or None)
_INDEXES = {
    "ix_notification_created": ("notification", None),
    "ix_notification_exporter_created": ("notification", "exporter_id"),
    "ix_notification_importer_created": ("notification", "importer_id"),
    "ix_incident_created_at": ("incident", None),
    "ix_permit_created_at": ("permit", None),
    "ix_alert_sender_created": ("alert", "sender_id"),
    "ix_alert_created_at": ("alert", None),
}


def _recreate(columns: dict[str, list[str | sa.TextClause]]) -> None:
    for name, (table, _) in _INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns[name])


def upgrade() -> None:
    _recreate({name: [*([party] if party else []), sa.text("created_at DESC"), "id"]
               for name, (_, party) in _INDEXES.items()})


def downgrade() -> None:
    _recreate({name: [*([party] if party else []), "created_at"]
               for name, (_, party) in _INDEXES.items()})
