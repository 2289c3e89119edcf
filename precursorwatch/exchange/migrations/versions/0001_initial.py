"""initial exchange schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("key_revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("authority_id", "seq"),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("shared_with_all", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict_name", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["authority.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_reporter_id"), ["reporter_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("thread_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.String(length=36), nullable=True),
        sa.Column("exporter_id", sa.Integer(), nullable=False),
        sa.Column("importer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict_name", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["exporter_id"],
            ["authority.id"],
        ),
        sa.ForeignKeyConstraint(
            ["importer_id"],
            ["authority.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["notification.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supersedes_id"),
        sa.UniqueConstraint("thread_id", "version"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_created", ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_exporter_id"), ["exporter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_importer_id"), ["importer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "incident_share",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "authority_id"),
    )
    with op.batch_alter_table("incident_share", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_share_authority_id"), ["authority_id"], unique=False
        )

    op.create_table(
        "notification_response",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notification_id"),
    )
    op.create_table(
        "notification_transit",
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
        ),
        sa.PrimaryKeyConstraint("notification_id", "authority_id"),
    )
    with op.batch_alter_table("notification_transit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_transit_authority_id"), ["authority_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("notification_transit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_transit_authority_id"))

    op.drop_table("notification_transit")
    op.drop_table("notification_response")
    with op.batch_alter_table("incident_share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_share_authority_id"))

    op.drop_table("incident_share")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_thread_id"))
        batch_op.drop_index(batch_op.f("ix_notification_importer_id"))
        batch_op.drop_index(batch_op.f("ix_notification_exporter_id"))
        batch_op.drop_index("ix_notification_created")

    op.drop_table("notification")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_incident_created_at"))

    op.drop_table("incident")
    op.drop_table("audit_entry")
    op.drop_table("authority")
