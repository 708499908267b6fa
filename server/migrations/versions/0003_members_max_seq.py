"""Each membership carries its conversation's max_seq, written with every message.

The unread total then sums one table: ``max_seq - has_read_seq`` over one user's
memberships, from an index alone, with no join to conversations (B5 on PostgreSQL). The
copy is written in the same statement that moves the sender's read position, in the
transaction that assigns the seq, so it never differs from ``conversations.max_seq``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("max_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE members SET max_seq = (SELECT conversations.max_seq FROM conversations"
        " WHERE conversations.conversation_id = members.conversation_id)"
    )
    op.drop_index("ix_members_user_read", table_name="members")
    op.create_index("ix_members_user_unread", "members", ["user_id", "max_seq", "has_read_seq"])


def downgrade() -> None:
    op.drop_index("ix_members_user_unread", table_name="members")
    op.create_index(
        "ix_members_user_read", "members", ["user_id", "conversation_id", "has_read_seq"]
    )
    with op.batch_alter_table("members") as batch:
        batch.drop_column("max_seq")
