"""A covering index for the unread total: (user_id, conversation_id, has_read_seq).

The total reads every membership of one user; with has_read_seq in the index it never
visits the table rows (B5: 5.6 ms -> 4.1 ms at 10,000 conversations on SQLite).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_members_user_read", "members", ["user_id", "conversation_id", "has_read_seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_members_user_read", table_name="members")
