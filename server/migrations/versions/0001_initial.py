"""Initial schema and the database epoch.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("nickname", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tokens_user", "tokens", ["user_id"])
    op.create_table(
        "conversations",
        sa.Column("conversation_id", sa.String(80), primary_key=True),
        sa.Column("conversation_type", sa.Integer, nullable=False),
        sa.Column("group_id", sa.String(32), nullable=True, unique=True),
        sa.Column("group_name", sa.String(64), nullable=True),
        sa.Column("max_seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "members",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(80),
            sa.ForeignKey("conversations.conversation_id"),
            primary_key=True,
        ),
        sa.Column("peer_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=True),
        sa.Column("has_read_seq", sa.BigInteger, nullable=False),
        sa.Column("peer_has_read_seq", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_members_user_version", "members", ["user_id", "version"])
    op.create_index("ix_members_conversation", "members", ["conversation_id"])
    op.create_table(
        "messages",
        sa.Column(
            "conversation_id",
            sa.String(80),
            sa.ForeignKey("conversations.conversation_id"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("server_msg_id", sa.String(32), nullable=False, unique=True),
        sa.Column("client_msg_id", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("send_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("sender_id", "client_msg_id", name="uq_messages_sender_client_msg"),
    )
    # The epoch names this database: a client holding another epoch drops its cache.
    op.bulk_insert(meta, [{"key": "epoch", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    for table in ("messages", "members", "conversations", "tokens", "users", "meta"):
        op.drop_table(table)
