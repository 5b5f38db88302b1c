"""Conversation history in SQLite (WAL): conversations and messages, written as they complete.

Policy:

* One row per conversation (id, title, timestamps) and one row per message (role, content,
  thinking, tool calls as JSON, tool_call_id/tool_name, and the :class:`MessageMeta` fields:
  backend, model, status ``complete``/``interrupted``/``failed``, error, token counts, timings).
* :meth:`HistoryStore.sync` writes every entry of a conversation that has no ``row_id`` yet, in
  one transaction, and stamps the row ids back; the app calls it whenever the orchestrator has
  appended finished messages (after a tool round, at the end of a turn, on cancel or failure).
  So a SIGKILL at any moment loses at most the message still streaming.
* WAL journal + ``synchronous=NORMAL``: a committed transaction survives the process being
  killed (only an OS crash may lose the last commits).
* :meth:`load` restores a conversation exactly: the same messages (tool calls and results
  included) in the same order, with their meta.
* Every sqlite3/OSError is wrapped into :class:`~a2ia_tui.core.errors.StoreError` with one line
  for the user; the app then runs with history off.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agent.conversation import Conversation, Entry, MessageMeta
from ..errors import StoreError
from ..llm.types import Message, ToolCall

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    thinking TEXT,
    tool_calls TEXT,
    tool_call_id TEXT,
    tool_name TEXT,
    meta TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, seq);
"""

#: MessageMeta fields kept in the ``meta`` JSON column (row_id is the row's own id).
_META_FIELDS = (
    "backend", "model", "created_at", "status", "error", "prompt_tokens", "completion_tokens",
    "ttft_s", "tokens_per_s", "duration_s", "full_result", "is_error", "extra",
)


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: float
    updated_at: float
    messages: int


class HistoryStore:
    """The history database. ``HistoryStore(path)`` opens (and creates) it or raises StoreError."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the history database {self.path}: {_why(exc)}") from exc

    # -- writing -------------------------------------------------------------------------------

    def sync(self, conversation: Conversation) -> int:
        """Write the conversation row and every entry not yet written; returns how many. A
        conversation without a message is not written: a new chat nobody typed in (each start
        of the app, each ctrl+n) would otherwise fill the saved chats with empty ones."""
        if not conversation.entries:
            return 0
        new = [(i, e) for i, e in enumerate(conversation.entries) if e.meta.row_id is None]
        now = time.time()
        try:
            with _tx(self._db):
                self._db.execute(
                    "INSERT INTO conversations(id, title, created_at, updated_at) VALUES (?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET title=excluded.title, updated_at=excluded.updated_at",
                    (conversation.id, conversation.title, conversation.created_at, now),
                )
                ids = []
                for seq, entry in new:
                    cur = self._db.execute(
                        "INSERT INTO messages(conversation_id, seq, role, content, thinking, tool_calls, "
                        "tool_call_id, tool_name, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        _row(conversation.id, seq, entry),
                    )
                    ids.append(cur.lastrowid)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        for (_seq, entry), row_id in zip(new, ids):
            entry.meta.row_id = row_id
        return len(new)

    def rename(self, conversation_id: str, title: str) -> None:
        title = title.strip()
        if not title:
            raise StoreError("a conversation title cannot be empty")
        self._exec("UPDATE conversations SET title=? WHERE id=?", (title, conversation_id), need_row=conversation_id)

    def delete(self, conversation_id: str) -> None:
        self._exec("DELETE FROM conversations WHERE id=?", (conversation_id,), need_row=conversation_id)

    # -- reading -------------------------------------------------------------------------------

    def list(self, limit: int | None = None) -> list[ConversationInfo]:
        """Saved conversations, most recently updated first."""
        sql = (
            "SELECT c.id, c.title, c.created_at, c.updated_at, "
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id=c.id) "
            "FROM conversations c ORDER BY c.updated_at DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        try:
            return [ConversationInfo(*row) for row in self._db.execute(sql)]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the history database {self.path}: {_why(exc)}") from exc

    def resolve(self, prefix: str) -> str:
        """A full conversation id from an id or a unique prefix of one (as ``export`` accepts)."""
        try:
            rows = self._db.execute(
                "SELECT id FROM conversations WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the history database {self.path}: {_why(exc)}") from exc
        if not prefix or not rows:
            raise StoreError(f"no saved conversation with id {prefix!r}")
        if len(rows) > 1:
            raise StoreError(f"{prefix!r} matches several conversations; give more of the id")
        return rows[0][0]

    def load(self, conversation_id: str) -> Conversation:
        try:
            head = self._db.execute(
                "SELECT id, title, created_at FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
            if head is None:
                raise StoreError(f"no saved conversation with id {conversation_id!r}")
            rows = self._db.execute(
                "SELECT id, role, content, thinking, tool_calls, tool_call_id, tool_name, meta "
                "FROM messages WHERE conversation_id=? ORDER BY seq, id",
                (conversation_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the history database {self.path}: {_why(exc)}") from exc
        conv = Conversation(id=head[0], title=head[1], created_at=head[2])
        for row_id, role, content, thinking, calls, call_id, tool_name, meta in rows:
            message = Message(
                role=role,
                content=content,
                thinking=thinking,
                tool_calls=[ToolCall.model_validate(c) for c in json.loads(calls)] if calls else [],
                tool_call_id=call_id,
                tool_name=tool_name,
            )
            m = json.loads(meta)
            conv.entries.append(Entry(message=message, meta=MessageMeta(row_id=row_id, **{k: m[k] for k in _META_FIELDS if k in m})))
        return conv

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    # -- helpers -------------------------------------------------------------------------------

    def _exec(self, sql: str, params: tuple[Any, ...], need_row: str) -> None:
        try:
            with _tx(self._db):
                cur = self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        if cur.rowcount == 0:
            raise StoreError(f"no saved conversation with id {need_row!r}")


class _tx:
    """BEGIN IMMEDIATE … COMMIT / ROLLBACK on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _row(conversation_id: str, seq: int, entry: Entry) -> tuple[Any, ...]:
    msg, meta = entry.message, entry.meta
    calls = json.dumps([c.model_dump(mode="json") for c in msg.tool_calls], ensure_ascii=False) if msg.tool_calls else None
    meta_json = json.dumps({k: getattr(meta, k) for k in _META_FIELDS}, ensure_ascii=False, default=str)
    return (conversation_id, seq, msg.role, msg.content, msg.thinking, calls, msg.tool_call_id, msg.tool_name,
            meta_json, meta.created_at)


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
