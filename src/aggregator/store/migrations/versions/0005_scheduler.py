"""The scheduler: failures and last result per source, the last full pass, host leases."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the scheduler's columns to ``source`` and the ``host_lease`` table.

    Sources harvested before get their last complete run as their last full pass, and
    are due at once when they have no next run yet.
    """
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("last_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("last_full_at", _TS, nullable=True))
    op.create_table(
        "host_lease",
        sa.Column("host", sa.String(300), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("until", _TS, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True))
    op.execute("UPDATE source SET last_full_at = last_success_at")


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("host_lease")
    with op.batch_alter_table("source") as batch:
        batch.drop_column("last_full_at")
        batch.drop_column("last_error")
        batch.drop_column("last_status")
        batch.drop_column("failures")
