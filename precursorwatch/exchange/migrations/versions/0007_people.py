"""people who sign in to the web app, their sessions, and their names in the audit chain

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

An audit link's `actor` was the authority's code; a write made by a person in the web app
names that person (their e-mail), so the column is widened. Existing links are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("authority_id", sa.Integer(), sa.ForeignKey("authority.id"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_person_authority_id", "person", ["authority_id"])
    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_session_person_id", "web_session", ["person_id"])
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.alter_column("actor", type_=sa.String(254), existing_type=sa.String(16),
                              existing_nullable=False)


def downgrade() -> None:
    people = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM audit_entry WHERE length(actor) > 16")).scalar_one()
    if people:
        raise RuntimeError(f"cannot go below revision 0007: {people} audit links name a person")
    with op.batch_alter_table("audit_entry") as batch_op:
        batch_op.alter_column("actor", type_=sa.String(16), existing_type=sa.String(254),
                              existing_nullable=False)
    op.drop_table("web_session")
    op.drop_table("person")
