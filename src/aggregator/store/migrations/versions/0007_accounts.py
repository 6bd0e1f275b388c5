"""The web side for managers and the coordinator: accounts, applications to join, shared
rate-limit counters and the notifications already sent."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``account`` and ``account_member``, ``application``, ``rate_limit`` and
    ``notice_sent``."""
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "account_member",
        sa.Column("account_id", sa.Integer(),
                  sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True))
    op.create_index("ix_account_member_member_id", "account_member", ["member_id"])
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("homepage", sa.String(2000), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("base_url", sa.String(2000), nullable=False),
        sa.Column("platform", sa.String(32), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(320), nullable=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True))
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False))
    op.create_table(
        "notice_sent",
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("subject", sa.String(300), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("notice_sent")
    op.drop_table("rate_limit")
    op.drop_table("application")
    op.drop_index("ix_account_member_member_id", table_name="account_member")
    op.drop_table("account_member")
    op.drop_table("account")
