"""The OAI feed: a change clock, record types and provenance, member set names, indexes."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the change clock, the record columns the feed reads and its indexes.

    ``change_counter.changed_at`` is the time of the latest change, never going back:
    each change takes ``max(changed_at, now)`` under the counter's lock, so change times
    follow ``change_seq``. ``record.work_type`` is kept on tombstones, so a deleted
    record stays in its ``type:`` set; ``record.provenance_xml`` keeps the provenance an
    upstream aggregator sent; ``source.set_names`` maps the member's setSpecs to names.
    """
    with op.batch_alter_table("change_counter") as batch:
        batch.add_column(sa.Column("changed_at", _TS, nullable=True))
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("work_type", sa.String(32), nullable=True))
        batch.add_column(sa.Column("provenance_xml", sa.LargeBinary(), nullable=True))
        batch.create_index("ix_record_last_changed", ["last_changed"])
        batch.create_index("ix_record_source_seq", ["source_id", "change_seq"])
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("set_names", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sets_checked_at", _TS, nullable=True))
    # The type of the records stored so far, from their normalised fields.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE record SET work_type = fields->>'type' WHERE fields IS NOT NULL")
    else:
        op.execute("UPDATE record SET work_type = json_extract(fields, '$.type') "
                   "WHERE fields IS NOT NULL")
    op.execute("UPDATE change_counter SET changed_at = "
               "(SELECT max(last_changed) FROM record)")


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("source") as batch:
        batch.drop_column("sets_checked_at")
        batch.drop_column("set_names")
    with op.batch_alter_table("record") as batch:
        batch.drop_index("ix_record_source_seq")
        batch.drop_index("ix_record_last_changed")
        batch.drop_column("provenance_xml")
        batch.drop_column("work_type")
    with op.batch_alter_table("change_counter") as batch:
        batch.drop_column("changed_at")
