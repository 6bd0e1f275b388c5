"""Duplicate clusters: record.cluster_id, its match keys, and the block keys to find candidates."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the cluster column and the record_key table."""
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("cluster_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("match_keys", sa.JSON(), nullable=True))
        batch.create_index("ix_record_cluster", ["cluster_id"])
    op.create_table(
        "record_key",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("record.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("key", "record_id"),
    )
    op.create_index("ix_record_key_record", "record_key", ["record_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_record_key_record", table_name="record_key")
    op.drop_table("record_key")
    with op.batch_alter_table("record") as batch:
        batch.drop_index("ix_record_cluster")
        batch.drop_column("match_keys")
        batch.drop_column("cluster_id")
