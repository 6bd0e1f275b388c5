"""Initial schema: member, source, record, harvest_run and change_counter."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("homepage", sa.String(2000)),
        sa.Column("city", sa.String(200)),
        sa.Column("province", sa.String(200)),
        sa.Column("kind", sa.String(32)),
        sa.Column("contact", sa.String(300)),
        sa.Column("logo", sa.String(2000)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("slug"),
    )
    _create_source()
    _create_harvest_run()
    _create_record()


def _create_source() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("base_url", sa.String(2000), nullable=False),
        sa.Column("metadata_prefix", sa.String(64), nullable=False),
        sa.Column("set_spec", sa.String(500), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("repository_name", sa.String(500)),
        sa.Column("granularity", sa.String(32)),
        sa.Column("earliest_datestamp", sa.String(64)),
        sa.Column("deleted_record", sa.String(16)),
        sa.Column("identify", sa.JSON()),
        sa.Column("use_day_granularity", sa.Boolean(), nullable=False),
        sa.Column("date_filter", sa.Boolean(), nullable=False),
        sa.Column("cursor_from", sa.String(64)),
        sa.Column("last_success_at", _TS),
        sa.Column("next_run_at", _TS),
        sa.Column("not_before", _TS),
        sa.Column("checkpoint", sa.JSON()),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", _TS),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("base_url", "metadata_prefix", "set_spec",
                            name="uq_source_endpoint"),
    )
    op.create_index("ix_source_member_id", "source", ["member_id"])


def _create_harvest_run() -> None:
    op.create_table(
        "harvest_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.Integer(),
                  sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("resumed_from", sa.Integer()),
        sa.Column("response_date", sa.String(64)),
        sa.Column("request_from", sa.String(64)),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("complete_list_size", sa.Integer()),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(200)),
    )
    op.create_index("ix_harvest_run_source_id", "harvest_run", ["source_id"])


def _create_record() -> None:
    op.create_table(
        "record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("source_id", sa.Integer(),
                  sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
        sa.Column("identifier", sa.String(1000), nullable=False),
        sa.Column("datestamp", sa.String(64)),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("set_specs", sa.JSON(), nullable=False),
        sa.Column("metadata_prefix", sa.String(64), nullable=False),
        sa.Column("metadata_xml", sa.LargeBinary()),
        sa.Column("content_hash", sa.String(40), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_pass", sa.Integer()),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_changed", _TS, nullable=False),
        sa.UniqueConstraint("identifier", "source_id", name="uq_record_source_identifier"),
    )
    op.create_index("ix_record_change_seq", "record", ["change_seq"])
    op.create_index("ix_record_source_seen", "record", ["source_id", "last_seen_pass"],
                    sqlite_where=sa.text("deleted = 0"), postgresql_where=sa.text("NOT deleted"))


def downgrade() -> None:
    """Drop every table (the data goes with them)."""
    for index, table in (("ix_record_source_seen", "record"), ("ix_record_change_seq", "record"),
                         ("ix_harvest_run_source_id", "harvest_run"),
                         ("ix_source_member_id", "source")):
        op.drop_index(index, table_name=table)
    for table in ("record", "harvest_run", "source", "member", "change_counter"):
        op.drop_table(table)
