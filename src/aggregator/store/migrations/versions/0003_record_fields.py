"""Normalised fields stored with each record (``record.fields``), written at ingest."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable fields column; existing rows keep NULL and are normalised from
    their XML when read (the next index rebuild stores the result)."""
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("fields", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("record") as batch:
        batch.drop_column("fields")
