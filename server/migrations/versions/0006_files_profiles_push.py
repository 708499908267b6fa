"""Images and files, profiles and Web Push (issue 12).

- ``files``: one row per blob, by sha256 (stored once), with its sniffed MIME type and, for
  images, the size in pixels and the thumbnail's sha256.
- ``uploads``: who uploaded which blob, under which name.
- ``message_files``: the blobs each message shows; downloads are authorized by them.
- ``users.face_url``: the avatar.
- ``push_subscriptions``: Web Push subscriptions per session (token).
- ``secrets``: the VAPID key pair, made on first start.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("face_url", sa.String(255), nullable=False, server_default=""))
    op.create_table(
        "files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(127), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumb_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "uploads",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("files.sha256"), primary_key=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "message_files",
        sa.Column("conversation_id", sa.String(80), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("files.sha256"), primary_key=True),
    )
    op.create_index("ix_message_files_sha256", "message_files", ["sha256"])
    op.create_table(
        "push_subscriptions",
        sa.Column("endpoint_hash", sa.String(64), primary_key=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("previews", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_push_subscriptions_user", "push_subscriptions", ["user_id"])
    op.create_index("ix_push_subscriptions_token", "push_subscriptions", ["token_hash"])
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    op.drop_index("ix_push_subscriptions_token", table_name="push_subscriptions")
    op.drop_index("ix_push_subscriptions_user", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_message_files_sha256", table_name="message_files")
    op.drop_table("message_files")
    op.drop_table("uploads")
    op.drop_table("files")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("face_url")
