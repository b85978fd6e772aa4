"""Revision 0003: a releasing officer may return a draft, unsigned, with a comment (issue 10.8).

Three nullable columns: drafts kept before this revision were never returned.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("returned_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("return_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_drafts", schema=None) as batch_op:
        batch_op.drop_column("return_comment")
        batch_op.drop_column("returned_at")
        batch_op.drop_column("returned_by")
