"""Groups as people use them: roles, membership windows, notification messages, dismissal.

- ``members.role``: OpenIM's roleLevel (100 owner, 60 admin, 20 member).
- ``members.join_seq`` / ``left_seq``: the member sees messages from ``join_seq`` up to
  ``left_seq`` (NULL while a member, rule 11); ``left_read_seq`` keeps the read position
  they had reached when they left, for receipts. ``join_time``: when they joined (ms).
- ``messages.content_type``: 101 text, 15xx membership notifications (rule 12), whose
  ``content`` is their JSON detail.
- ``conversations.status``: OpenIM's group status (0 normal, 2 dismissed).

Groups created before this migration get their lowest user ID as owner (their creator
was not recorded).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("role", sa.Integer(), nullable=False, server_default="20"))
        batch.add_column(sa.Column("join_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("left_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("left_read_seq", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("join_time", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("content_type", sa.Integer(), nullable=False, server_default="101")
        )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("status", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE members SET role = 100 WHERE peer_id IS NULL AND user_id = ("
        "SELECT MIN(m.user_id) FROM members m WHERE m.conversation_id = members.conversation_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("status")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("content_type")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("join_time")
        batch.drop_column("left_read_seq")
        batch.drop_column("left_seq")
        batch.drop_column("join_seq")
        batch.drop_column("role")
