"""Revision 0002: the writer's lease of high availability (store/lease.py, issue 15.4).

The lease may already exist: a process started with ``[ha] lease = true`` creates its row's
table before the store is opened, so the table is created only where it is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("writer_lease"):
        return
    op.create_table(
        "writer_lease",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("writer_lease")
