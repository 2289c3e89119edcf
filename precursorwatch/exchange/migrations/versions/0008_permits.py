"""import permits issued by importing authorities, and their revocations

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "permit",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("issuer_id", sa.Integer(), sa.ForeignKey("authority.id"), nullable=False),
        sa.Column("permit_number", sa.String(64), nullable=False),
        sa.Column("exporter_country", sa.String(2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict_name", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("canon", sa.String(16), nullable=False),
        sa.Column("rendered", sa.Text(), nullable=False),
        sa.UniqueConstraint("issuer_id", "permit_number"),
    )
    op.create_index("ix_permit_issuer_id", "permit", ["issuer_id"])
    op.create_index("ix_permit_exporter_country", "permit", ["exporter_country"])
    op.create_index("ix_permit_created_at", "permit", ["created_at"])
    op.create_table(
        "permit_revocation",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("permit_id", sa.String(36), sa.ForeignKey("permit.id"), nullable=False,
                  unique=True),
        sa.Column("authority_id", sa.Integer(), sa.ForeignKey("authority.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("canon", sa.String(16), nullable=False),
    )
    op.create_index("ix_permit_revocation_authority_id", "permit_revocation", ["authority_id"])


def downgrade() -> None:
    # Permits are signed records of their issuers' audit chains: dropping them would break
    # those chains, so a database that holds any stays at 0008.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM permit")).scalar_one()
    if held:
        raise RuntimeError(f"cannot go below revision 0008: {held} permits are signed records "
                           "of the audit chains")
    # A data change first (of nothing): SQLite's Python driver opens the transaction only
    # then, so the drops below are undone with the rest if a later downgrade step fails.
    op.execute("DELETE FROM permit_revocation")
    op.drop_table("permit_revocation")
    op.drop_table("permit")
