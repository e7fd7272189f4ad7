"""gateway counters: running totals of metered calls and tokens per review window

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy of the table): both backends add a NOT NULL column
    # with a constant default in place.
    op.add_column(
        "review_windows",
        sa.Column("metered_calls", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "review_windows",
        sa.Column("metered_tokens", sa.BigInteger(), server_default="0", nullable=False),
    )
    # Windows already used start from what their rows say; from here on the gateway's
    # metering writer adds to the totals in the transaction that inserts the rows.
    op.execute(
        """
        UPDATE review_windows SET
          metered_calls = (
            SELECT count(*) FROM gateway_calls c
            WHERE c.window_id = review_windows.id AND c.refusal IS NULL),
          metered_tokens = (
            SELECT coalesce(sum(c.prompt_tokens + c.completion_tokens), 0) FROM gateway_calls c
            WHERE c.window_id = review_windows.id AND c.refusal IS NULL)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("review_windows") as batch:
        batch.drop_column("metered_tokens")
        batch.drop_column("metered_calls")
