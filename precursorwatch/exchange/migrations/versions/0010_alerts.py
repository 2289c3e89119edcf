"""shipment alerts shared between authorities, and the receiving authorities' outcomes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

An alert is a suspicious shipment (its manifest row and screening result) that one authority
shares with others, signed by it; each authority shared with may answer it once with what it
found (an outcome, signed by that authority). Both are records of the audit chains.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("authority.id"), nullable=False),
        # The sender's own reference for the shipment: a re-sent alert is found by it.
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notification.id"),
                  nullable=True),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("canon", sa.String(16), nullable=False),
        sa.Column("rendered", sa.Text(), nullable=False),
        sa.UniqueConstraint("sender_id", "reference", name="uq_alert_sender_reference"),
    )
    op.create_index("ix_alert_sender_created", "alert", ["sender_id", "created_at"])
    op.create_index("ix_alert_created_at", "alert", ["created_at"])
    op.create_table(
        "alert_share",
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alert.id"), primary_key=True),
        sa.Column("authority_id", sa.Integer(), sa.ForeignKey("authority.id"),
                  primary_key=True),
    )
    op.create_index("ix_alert_share_authority_id", "alert_share", ["authority_id"])
    op.create_table(
        "alert_outcome",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alert.id"), nullable=False),
        sa.Column("authority_id", sa.Integer(), sa.ForeignKey("authority.id"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("canon", sa.String(16), nullable=False),
        # Final: one answer per receiving authority; a second (or a racing one) fails here.
        sa.UniqueConstraint("alert_id", "authority_id", name="uq_alert_outcome_authority"),
    )
    op.create_index("ix_alert_outcome_authority_id", "alert_outcome", ["authority_id"])


def downgrade() -> None:
    # Alerts and outcomes are signed records of their authorities' audit chains: dropping them
    # would break those chains, so a database that holds any stays at 0010.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM alert")).scalar_one()
    if held:
        raise RuntimeError(f"cannot go below revision 0010: {held} alerts are signed records "
                           "of the audit chains")
    # A data change first (of nothing): SQLite's Python driver opens the transaction only
    # then, so the drops below are undone with the rest if a later downgrade step fails.
    op.execute("DELETE FROM alert_outcome")
    op.drop_table("alert_outcome")
    op.drop_table("alert_share")
    op.drop_table("alert")
