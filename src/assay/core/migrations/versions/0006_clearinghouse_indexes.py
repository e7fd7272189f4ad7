"""clearinghouse indexes: ch_findings.scope

Intake loads the earlier first reports of every scope (a package, or a file of a
repository) a batch of findings touches; without an index each of those lookups scanned
the whole findings table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ch_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ch_findings_scope"), ["scope"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ch_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ch_findings_scope"))
