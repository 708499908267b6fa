"""Full-text search of messages: one query interface over SQLite FTS5 and PostgreSQL.

Migration 0007 builds the index (see its docstring). Here, keywords become a query the
engine can never read as its own syntax: each keyword is cut into words (runs of Unicode
letters and digits, what both tokenizers index), and the words are quoted for the engine
— FTS5 strings (``"word"``), tsquery lexemes (``'word'``) — so quotes, ``*``, ``-``,
``NEAR``, ``OR``, ``:``, ``&``, ``|`` or parentheses in a keyword are only separators.
A keyword is a phrase whose last word matches as a prefix ("repo" finds "report";
"final rep" finds "final report"). Keywords with no letter or digit are left out.

Matches are restricted in SQL to the caller's window of each conversation (rule 11):
``members.join_seq < seq`` and (``left_seq`` NULL or ``seq <= left_seq``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnClause

from server.protocol import CONTENT_TYPES
from server.storage.conversations import message_record
from server.storage.messages import MESSAGE_COLUMNS
from server.storage.tables import conversations, members, messages

SEARCHABLE = (CONTENT_TYPES["TEXT"], CONTENT_TYPES["FILE"], CONTENT_TYPES["AT_TEXT"])

# Runs of letters and digits: unicode61's token characters (categories L* and N*).
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Found:
    """One page of a search: the total, the count per conversation, the page's messages."""

    total: int
    counts: dict[str, int]
    messages: list[dict[str, Any]]


def words(keyword: str) -> list[str]:
    """The words of a keyword, as both engines' tokenizers cut them."""
    return _WORD.findall(keyword)


def search(
    conn: Connection,
    user_id: str,
    keywords: Sequence[str],
    *,
    match_all: bool,
    conversation_id: str | None,
    offset: int,
    limit: int,
) -> Found:
    """The caller's messages matching any (or all) of ``keywords``: counted per
    conversation, and the page ``offset``/``limit`` of them, newest first."""
    phrases = [w for w in (words(k) for k in keywords) if w]
    if not phrases:
        return Found(0, {}, [])
    if conn.dialect.name == "sqlite":
        matches = _sqlite_matches(phrases, match_all, conversation_id)
    else:
        matches = _postgres_matches(phrases, match_all)
        matches = _Matches(_in_windows(matches.select, conversation_id), matches.parameters)
    parameters = {"user_id": user_id, **matches.parameters}
    matched = matches.select.subquery("matched")
    if conversation_id is not None:
        parameters["conversation_id"] = conversation_id
    counts = {
        cid: int(n)
        for cid, n in conn.execute(
            select(matched.c.conversation_id, func.count()).group_by(matched.c.conversation_id),
            parameters,
        )
    }
    total = sum(counts.values())
    page: list[dict[str, Any]] = []
    if offset < total:
        rows = conn.execute(_page(matched), {**parameters, "offset": offset, "limit": limit})
        page = [message_record(*row) for row in rows]
    return Found(total, counts, page)


@dataclass(frozen=True)
class _Matches:
    select: Any  # (conversation_id, seq) of the matching messages
    parameters: dict[str, Any]


def _in_windows(matches: Select[Any], conversation_id: str | None) -> Select[Any]:
    """Only the matches inside the caller's window of their conversation (rule 11)."""
    hit = matches.subquery("hit")
    query = (
        select(hit.c.conversation_id, hit.c.seq)
        .join(
            members,
            and_(
                members.c.user_id == bindparam("user_id"),
                members.c.conversation_id == hit.c.conversation_id,
            ),
        )
        .where(
            members.c.join_seq < hit.c.seq,
            or_(members.c.left_seq.is_(None), hit.c.seq <= members.c.left_seq),
        )
    )
    if conversation_id is not None:
        query = query.where(hit.c.conversation_id == bindparam("conversation_id"))
    return query


def _page(matched: Any) -> Select[Any]:
    return (
        select(*MESSAGE_COLUMNS)
        .select_from(matched)
        .join(
            messages,
            and_(
                messages.c.conversation_id == matched.c.conversation_id,
                messages.c.seq == matched.c.seq,
            ),
        )
        .join(conversations, conversations.c.conversation_id == messages.c.conversation_id)
        .order_by(
            messages.c.send_time.desc(), messages.c.seq.desc(), messages.c.conversation_id.desc()
        )
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


# -- SQLite: FTS5 ---------------------------------------------------------------------------


def fts5_query(
    phrases: Sequence[Sequence[str]], match_all: bool, conversation_id: str | None = None
) -> str:
    """An FTS5 query: each phrase a quoted string, its last word a prefix, in the body
    column; and, for one conversation, its token in the ``conversation`` column."""
    # Words hold letters and digits only; doubling quotes keeps that safe regardless.
    quoted = ['"' + " ".join(p).replace('"', '""') + '" *' for p in phrases]
    query = "body : (" + (" AND " if match_all else " OR ").join(quoted) + ")"
    if conversation_id is not None:
        query += f' AND conversation : "{conversation_token(conversation_id)}"'
    return query


def conversation_token(conversation_id: str) -> str:
    """What migration 0007 indexes for a conversation: ``hex(conversation_id)``."""
    return conversation_id.encode().hex().upper()


# CROSS JOIN fixes SQLite's join order: the FTS index first, then one key lookup per hit.
# Left free, the planner may walk a conversation's messages and query the FTS index once
# for each (minutes for a common word at a million messages).
_SQLITE_MATCHES = """
SELECT d.conversation_id AS conversation_id, d.seq AS seq
FROM message_search
CROSS JOIN message_search_docs AS d ON d.doc_id = message_search.rowid
CROSS JOIN members AS m ON m.user_id = :user_id AND m.conversation_id = d.conversation_id
WHERE message_search MATCH :fts_query
AND m.join_seq < d.seq AND (m.left_seq IS NULL OR d.seq <= m.left_seq)
"""


def _sqlite_matches(
    phrases: Sequence[Sequence[str]], match_all: bool, conversation_id: str | None
) -> _Matches:
    sql = _SQLITE_MATCHES
    if conversation_id is not None:
        sql += "AND d.conversation_id = :conversation_id\n"
    query = text(sql).columns(
        column("conversation_id", messages.c.conversation_id.type),
        column("seq", messages.c.seq.type),
    )
    return _Matches(query, {"fts_query": fts5_query(phrases, match_all, conversation_id)})


# -- PostgreSQL: to_tsvector('simple', …) and a GIN index -----------------------------------

# Exactly the expression migration 0007 indexes (the planner matches it, not its meaning).
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_POSTGRES_DOCUMENT: ColumnClause[Any] = literal_column(
    "to_tsvector('simple'::regconfig, translate("
    "CASE messages.content_type WHEN 101 THEN messages.content"
    " WHEN 106 THEN (messages.content::json ->> 'text')"
    " WHEN 105 THEN (messages.content::json ->> 'fileName') END, "
    "'" + _PUNCTUATION.replace("'", "''") + "', '" + " " * len(_PUNCTUATION) + "'))"
)


def tsquery(phrases: Sequence[Sequence[str]], match_all: bool) -> str:
    """A tsquery (to_tsquery's syntax): quoted lexemes, in phrases, the last a prefix."""

    def lexeme(word: str) -> str:
        return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"

    quoted = [
        "(" + " <-> ".join([*map(lexeme, p[:-1]), lexeme(p[-1]) + ":*"]) + ")" for p in phrases
    ]
    return (" & " if match_all else " | ").join(quoted)


def _postgres_matches(phrases: Sequence[Sequence[str]], match_all: bool) -> _Matches:
    query = select(messages.c.conversation_id, messages.c.seq).where(
        # The index's own predicate: it covers only these types.
        literal_column("messages.content_type IN (101, 105, 106)"),
        _POSTGRES_DOCUMENT.op("@@")(
            func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("ts_query"))
        ),
    )
    return _Matches(query, {"ts_query": tsquery(phrases, match_all)})
