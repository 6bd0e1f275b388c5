"""The cooperation services: members' request settings, interlibrary and exchange
requests with their steps, exchange offers, and an index for new acquisitions."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add ``member.accepts_requests`` and ``member.request_conditions``, the tables
    ``offer``, ``service_request`` and ``request_event``, and ``ix_record_first_seen``."""
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("accepts_requests", sa.String(8), nullable=False,
                                   server_default="none"))
        batch.add_column(sa.Column("request_conditions", sa.String(2000), nullable=True))
    op.create_index("ix_record_first_seen", "record", ["first_seen"])
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("creators", sa.String(1000), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("publisher", sa.String(300), nullable=True),
        sa.Column("isbn", sa.String(64), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("record_id", RECORD_ID, sa.ForeignKey("record.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_offer_member_id", "offer", ["member_id"])
    op.create_table(
        "service_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder_member_id", sa.Integer(),
                  sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("home_member_id", sa.Integer(),
                  sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("home_library", sa.String(300), nullable=True),
        sa.Column("record_id", RECORD_ID, sa.ForeignKey("record.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("offer.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("patron_name", sa.String(200), nullable=True),
        sa.Column("patron_email", sa.String(320), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_service_request_holder_member_id", "service_request",
                    ["holder_member_id"])
    op.create_index("ix_service_request_home_member_id", "service_request",
                    ["home_member_id"])
    op.create_index("ix_service_request_created", "service_request", ["created_at"])
    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(),
                  sa.ForeignKey("service_request.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True))
    op.create_index("ix_request_event_request_id", "request_event", ["request_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_request_event_request_id", table_name="request_event")
    op.drop_table("request_event")
    for name in ("ix_service_request_created", "ix_service_request_home_member_id",
                 "ix_service_request_holder_member_id"):
        op.drop_index(name, table_name="service_request")
    op.drop_table("service_request")
    op.drop_index("ix_offer_member_id", table_name="offer")
    op.drop_table("offer")
    op.drop_index("ix_record_first_seen", table_name="record")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("request_conditions")
        batch.drop_column("accepts_requests")
