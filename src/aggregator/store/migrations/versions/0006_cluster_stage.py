"""Clustering as a store-side stage: its progress and lease, and the clusters' change feed."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``stage`` (one row per stage: how far it has followed ``change_seq``, and
    who runs it) and ``cluster_change`` (the clusters changed, in order).

    The clustering stage starts from the beginning of the change feed: clusters the
    search index had assigned stay as they are, and every record's cluster is checked
    once more on the first run.
    """
    op.create_table(
        "stage",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("done_seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "cluster_change",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("cluster_id", sa.BigInteger(), nullable=False))
    op.create_index("ix_cluster_change_cluster", "cluster_change", ["cluster_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_cluster_change_cluster", table_name="cluster_change")
    op.drop_table("cluster_change")
    op.drop_table("stage")
