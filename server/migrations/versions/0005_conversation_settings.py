"""Per-conversation state that touches unread (issue 11): mute, mentions, mark as unread,
pin, hide, revoke.

- ``members.recv_msg_opt`` (0 normal, 2 muted: outside the total, rule 13), ``is_pinned``,
  ``mention_read_seq`` (resetConversationGroupAtType's position, rule 14),
  ``marked_unread_version`` (the user's version when marked unread, NULL when not, rule 15),
  ``hidden_seq`` (hidden at this max_seq; a later message shows the record again).
- ``mentions``: (conversation, seq, mentioned user or AtAllTag), indexed for one reader's
  unread mentions.
- ``revocations``: (user, version, conversation, seq) for incremental sync's tombstones.
- ``ix_members_user_unread`` gains the columns the total now reads, to stay index-only.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("recv_msg_opt", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("is_pinned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("mention_read_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("marked_unread_version", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hidden_seq", sa.BigInteger(), nullable=True))
    op.drop_index("ix_members_user_unread", table_name="members")
    op.create_index(
        "ix_members_user_unread",
        "members",
        ["user_id", "max_seq", "has_read_seq", "recv_msg_opt", "marked_unread_version"],
    )
    op.create_table(
        "mentions",
        sa.Column(
            "conversation_id",
            sa.String(80),
            sa.ForeignKey("conversations.conversation_id"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_mentions_target", "mentions", ["conversation_id", "user_id", "seq"])
    op.create_table(
        "revocations",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), primary_key=True),
        sa.Column("conversation_id", sa.String(80), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_revocations_user_version", "revocations", ["user_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_revocations_user_version", table_name="revocations")
    op.drop_table("revocations")
    op.drop_index("ix_mentions_target", table_name="mentions")
    op.drop_table("mentions")
    op.drop_index("ix_members_user_unread", table_name="members")
    op.create_index("ix_members_user_unread", "members", ["user_id", "max_seq", "has_read_seq"])
    with op.batch_alter_table("members") as batch:
        batch.drop_column("hidden_seq")
        batch.drop_column("marked_unread_version")
        batch.drop_column("mention_read_seq")
        batch.drop_column("is_pinned")
        batch.drop_column("recv_msg_opt")
