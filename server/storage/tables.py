"""The schema, described once for SQLAlchemy Core; migrations create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("nickname", String(64), nullable=False),
    # The avatar: "" or the URL of an image file the user uploaded (issue 12).
    Column("face_url", String(255), nullable=False, default="", server_default=""),
    Column("password_hash", String(255), nullable=False),
    # Bumped once by every transaction that changes something this user can see.
    Column("version", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.user_id"), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_tokens_user", "user_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", String(80), primary_key=True),
    Column("conversation_type", Integer, nullable=False),
    Column("group_id", String(32), nullable=True, unique=True),
    Column("group_name", String(64), nullable=True),
    # The last assigned message seq; the next message takes max_seq + 1.
    Column("max_seq", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    # OpenIM's group status: 0 normal, 2 dismissed (read-only for everyone).
    Column("status", Integer, nullable=False, default=0, server_default="0"),
)

members = Table(
    "members",
    metadata,
    Column("user_id", String(32), ForeignKey("users.user_id"), primary_key=True),
    Column(
        "conversation_id",
        String(80),
        ForeignKey("conversations.conversation_id"),
        primary_key=True,
    ),
    # The other user of a single chat; NULL in groups.
    Column("peer_id", String(32), ForeignKey("users.user_id"), nullable=True),
    Column("has_read_seq", BigInteger, nullable=False, default=0),
    Column("peer_has_read_seq", BigInteger, nullable=False, default=0),
    # conversations.max_seq, copied in the transaction that assigns each seq: unread
    # (max_seq - has_read_seq) and its total then read this table alone.
    Column("max_seq", BigInteger, nullable=False, default=0, server_default="0"),
    # The user's version when this record last changed: incremental sync reads by it.
    Column("version", BigInteger, nullable=False),
    # Groups: OpenIM's roleLevel (100 owner, 60 admin, 20 member), and the window of seqs
    # the member sees (rule 11): from join_seq, up to left_seq once they left or were
    # removed (NULL while a member). A left record keeps max_seq = has_read_seq = left_seq.
    Column("role", Integer, nullable=False, default=20, server_default="20"),
    Column("join_seq", BigInteger, nullable=False, default=0, server_default="0"),
    Column("left_seq", BigInteger, nullable=True),
    # The read position they had reached when they left: receipts count it (rule 16),
    # while has_read_seq is moved to left_seq so the record adds 0 unread (rule 11).
    Column("left_read_seq", BigInteger, nullable=True),
    Column("join_time", BigInteger, nullable=False, default=0, server_default="0"),
    # Per-record settings (issue 11). OpenIM's recvMsgOpt: 0 normal, 2 muted (rule 13).
    Column("recv_msg_opt", Integer, nullable=False, default=0, server_default="0"),
    Column("is_pinned", Boolean, nullable=False, default=False, server_default=false()),
    # resetConversationGroupAtType's position: mentions at or below it are seen (rule 14).
    Column("mention_read_seq", BigInteger, nullable=False, default=0, server_default="0"),
    # Mark as unread (rule 15): the user's version when the flag was set; NULL: not set.
    Column("marked_unread_version", BigInteger, nullable=True),
    # Hidden at this max_seq; any later message shows the record again, with no write.
    Column("hidden_seq", BigInteger, nullable=True),
    Index("ix_members_user_version", "user_id", "version"),
    # Covers every column of the total's contribution, so the total reads the index alone.
    Index(
        "ix_members_user_unread",
        "user_id",
        "max_seq",
        "has_read_seq",
        "recv_msg_opt",
        "marked_unread_version",
    ),
    Index("ix_members_conversation", "conversation_id"),
)

messages = Table(
    "messages",
    metadata,
    Column(
        "conversation_id",
        String(80),
        ForeignKey("conversations.conversation_id"),
        primary_key=True,
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("server_msg_id", String(32), nullable=False, unique=True),
    Column("client_msg_id", String(64), nullable=False),
    Column("sender_id", String(32), ForeignKey("users.user_id"), nullable=False),
    # 101 text; 15xx a membership notification (rule 12), whose content is its JSON detail.
    Column("content_type", Integer, nullable=False, default=101, server_default="101"),
    Column("content", Text, nullable=False),
    Column("send_time", BigInteger, nullable=False),
    UniqueConstraint("sender_id", "client_msg_id", name="uq_messages_sender_client_msg"),
)

# A mention of ``user_id`` (a member, or AtAllTag: everyone) by the message at ``seq``
# (rule 14). Counts are derived from these rows and the reader's position, never stored.
mentions = Table(
    "mentions",
    metadata,
    Column(
        "conversation_id",
        String(80),
        ForeignKey("conversations.conversation_id"),
        primary_key=True,
    ),
    Column("seq", BigInteger, primary_key=True),
    Column("user_id", String(32), primary_key=True),
    # One reader's unread mentions: a range of seqs for (conversation, target).
    Index("ix_mentions_target", "conversation_id", "user_id", "seq"),
)

# Each user who saw a revoked message, at the version its revocation gave them: an
# incremental sync sends the tombstones of the revocations newer than the client's version.
revocations = Table(
    "revocations",
    metadata,
    Column("user_id", String(32), ForeignKey("users.user_id"), primary_key=True),
    Column("conversation_id", String(80), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Index("ix_revocations_user_version", "user_id", "version"),
)

# -- issue 12: files, profiles, Web Push ---------------------------------------------------

# One row per stored blob, addressed by the sha256 of its bytes: the same bytes uploaded
# twice are stored once. ``mime`` is sniffed from the bytes, never taken from the client.
# Images have their size in pixels and ``thumb_sha256``: the thumbnail, a file row too.
files = Table(
    "files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mime", String(127), nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("thumb_sha256", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# Who uploaded what (under which name): an uploader may fetch and send their own uploads.
uploads = Table(
    "uploads",
    metadata,
    Column("user_id", String(32), ForeignKey("users.user_id"), primary_key=True),
    Column("sha256", String(64), ForeignKey("files.sha256"), primary_key=True),
    Column("file_name", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# The blobs a message shows (the file, an image and its thumbnail): whoever sees the
# message's seq (rule 11) may fetch them. A revocation deletes its message's rows.
message_files = Table(
    "message_files",
    metadata,
    Column("conversation_id", String(80), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("sha256", String(64), ForeignKey("files.sha256"), primary_key=True),
    Index("ix_message_files_sha256", "sha256"),
)

# One browser's Web Push subscription, tied to the session (token) that made it: logging
# out of that session removes it. ``previews``: the push may carry the message's text.
push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("endpoint_hash", String(64), primary_key=True),
    Column("endpoint", Text, nullable=False),
    Column("user_id", String(32), ForeignKey("users.user_id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("p256dh", String(128), nullable=False),
    Column("auth", String(64), nullable=False),
    Column("previews", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_push_subscriptions_user", "user_id"),
    Index("ix_push_subscriptions_token", "token_hash"),
)

# Server-wide secrets made on first start and shared by every server process (the VAPID
# key pair of Web Push).
secrets = Table(
    "secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- issue 12: search ------------------------------------------------------------------------

# The search index is dialect-specific DDL kept by migration 0007, not tables described here:
# on SQLite the FTS5 table ``message_search`` (with the shadow tables FTS5 makes for it,
# ``message_search_data``, ``_idx``, ``_config``) and its key table ``message_search_docs``;
# on PostgreSQL the expression index ``ix_messages_search``. Describing them as Tables
# would be wrong on the other engine (and would let metadata.create_all make a plain
# table of a virtual one), so schema comparisons leave them out by name: the migrations'
# env.py (autogenerate) and tests/server/test_migrations.py use this filter, and
# tests/server/test_search.py checks those objects exist on each engine.
SEARCH_TABLE_PREFIX = "message_search"
SEARCH_INDEX = "ix_messages_search"


def compared_by_migrations(name: str | None, type_: str, _parents: object) -> bool:
    """alembic's ``include_name``: False for the search index's own objects."""
    if name is None:
        return True
    if type_ == "table":
        return not (name == SEARCH_TABLE_PREFIX or name.startswith(SEARCH_TABLE_PREFIX + "_"))
    return not (type_ == "index" and name == SEARCH_INDEX)
