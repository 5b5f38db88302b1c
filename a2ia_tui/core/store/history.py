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
* History never refuses a message: every string is scrubbed (lone surrogates → U+FFFD) before it
  is encoded, and a database locked by another process for longer than the busy timeout does not
  fail the write: the conversation waits in memory (:attr:`HistoryStore.waiting` counts its
  messages) and is written, in order, by the next :meth:`~HistoryStore.sync` or
  :meth:`~HistoryStore.flush` once the lock is gone.
* Reading repairs what it can and skips what it cannot (bad JSON in ``meta`` or ``tool_calls``,
  an unknown role, text that is not UTF-8, fields of the wrong type), with one note per problem in
  ``Conversation.load_notes``; a corrupt row never makes ``load`` or ``list`` fail.
* The database (and its -wal/-shm files) is 0600; see :mod:`a2ia_tui.core.paths`.
* Search (:meth:`HistoryStore.search`): an FTS5 index of the messages' text, kept by triggers,
  plus the titles. Schema version 2 added it; a version-1 database is migrated when opened (the
  index is built from the messages already there, in one transaction).
* A chat's own settings (system prompt, sampling, thinking) and the tools it turned off are a
  JSON object in ``conversations.settings`` (schema 3; older databases gain the column when
  opened). Read back, what is invalid is dropped with a note, the rest kept.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ..agent.chat_settings import ChatSettings
from ..agent.conversation import Conversation, Entry, MessageMeta
from ..errors import StoreError
from ..llm.types import ImagePart, Message, Role, ToolCall
from ..paths import private_file, tighten_file
from ..textsafe import scrub, scrub_obj

#: How long a write waits for another process's lock before the messages wait in memory.
BUSY_TIMEOUT_S = 5.0
#: The wait of a retry while messages are already waiting (a retry must not freeze the UI).
RETRY_TIMEOUT_S = 0.05
_ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    settings TEXT
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

#: Version 2: the search index over the messages' text (external content: the text is stored once,
#: in ``messages``; the triggers keep the index in step, cascading deletes included).
_SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
"""
#: Marks around the matched words of a search snippet (private-use characters: never in the
#: stored text's meaning; the saved-chats screen turns them into a highlight).
MATCH_START, MATCH_END = "\ue000", "\ue001"
#: Words around a match in a snippet.
SNIPPET_TOKENS = 10

#: MessageMeta fields kept in the ``meta`` JSON column (row_id is the row's own id).
_META_FIELDS = (
    "backend",
    "model",
    "created_at",
    "status",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "ttft_s",
    "tokens_per_s",
    "duration_s",
    "full_result",
    "is_error",
    "extra",
)


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: float
    updated_at: float
    messages: int


@dataclass(frozen=True)
class SearchHit:
    """A conversation that matches a search, with the best-matching passage of one of its
    messages (matched words between :data:`MATCH_START` and :data:`MATCH_END`), or ``""`` when
    only the title matched."""

    info: ConversationInfo
    snippet: str


class HistoryStore:
    """The history database. ``HistoryStore(path)`` opens (and creates) it or raises StoreError."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        #: Conversations with messages not written because the database was locked, by id.
        self._waiting: dict[str, Conversation] = {}
        #: conversation id -> the settings JSON last written (or read) for it.
        self._settings_written: dict[str, str | None] = {}
        try:
            if str(path) != ":memory:":
                # created 0600 before SQLite opens it: SQLite gives -wal/-shm the same mode
                private_file(self.path)
                for extra in ("-wal", "-shm", "-journal"):
                    tighten_file(f"{self.path}{extra}")
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
            # text another program wrote that is not UTF-8 reads as U+FFFD instead of failing the read
            self._db.text_factory = lambda b: b.decode("utf-8", "replace")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # A database already set up is only read here: opening must not need the write lock
            # another process may hold (that would turn history off for the whole session).
            ready = (
                self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
                and self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            )
            if not ready:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._set_up()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the history database {self.path}: {_why(exc)}") from exc

    def _set_up(self) -> None:
        """Create the tables, or bring an older database up to :data:`SCHEMA_VERSION`, in one
        transaction (a failure leaves the database as it was)."""
        with _tx(self._db):
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"the history database {self.path} was written by a newer a2ia-tui (schema {version})")
            for statement in _statements(_SCHEMA + _SEARCH_SCHEMA):
                self._db.execute(statement)
            if version == 1:  # before search: index the messages already there
                self._db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
            if version in (1, 2):  # before chat settings
                self._db.execute("ALTER TABLE conversations ADD COLUMN settings TEXT")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- writing -------------------------------------------------------------------------------

    def sync(self, conversation: Conversation) -> int:
        """Write the conversation row and every entry not yet written; returns how many. A
        conversation without a message is not written: a new chat nobody typed in (each start
        of the app, each ctrl+n) would otherwise fill the saved chats with empty ones.

        When another process holds the database locked past the busy timeout, nothing is lost:
        the conversation waits (see :attr:`waiting`) and this call returns 0; conversations
        already waiting are written first, so messages reach the database in order."""
        if conversation.entries and (
            any(e.meta.row_id is None for e in conversation.entries)
            or self._settings_written.get(conversation.id) != _settings_json(conversation)
        ):
            self._waiting.setdefault(conversation.id, conversation)
        return self.flush()

    @property
    def waiting(self) -> int:
        """Messages kept in memory because the database was locked (0 when all are written)."""
        return sum(1 for c in self._waiting.values() for e in c.entries if e.meta.row_id is None)

    def flush(self) -> int:
        """Write the waiting conversations (oldest first); returns how many messages were
        written. A database still locked leaves them waiting; any other error is a StoreError."""
        written = 0
        # once a write has waited the full busy timeout in vain, retries only peek at the lock:
        # they must not freeze the caller (the app's event loop) again for every message
        retry = self._locked_before
        if retry:
            self._set_timeout(RETRY_TIMEOUT_S)
        try:
            for cid in list(self._waiting):
                try:
                    written += self._write(self._waiting[cid])
                except _Locked:
                    self._locked_before = True
                    return written
                del self._waiting[cid]
        finally:
            if retry:
                self._set_timeout(self.busy_timeout_s)
        self._locked_before = False
        return written

    #: The last write found the database locked (see :meth:`flush`).
    _locked_before = False

    def _set_timeout(self, seconds: float) -> None:
        try:
            self._db.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
        except sqlite3.Error:
            pass

    def _write(self, conversation: Conversation) -> int:
        new = [(i, e) for i, e in enumerate(conversation.entries) if e.meta.row_id is None]
        settings = _settings_json(conversation)
        # no new message: the row is written again only when the chat's settings changed
        if not new and (not conversation.entries or self._settings_written.get(conversation.id) == settings):
            return 0
        now = time.time()
        try:
            with _tx(self._db):
                self._db.execute(
                    "INSERT INTO conversations(id, title, created_at, updated_at, settings) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET title=excluded.title, updated_at=excluded.updated_at, "
                    "settings=excluded.settings",
                    (conversation.id, scrub(conversation.title), conversation.created_at, now, settings),
                )
                ids = []
                for seq, entry in new:
                    cur = self._db.execute(
                        "INSERT INTO messages(conversation_id, seq, role, content, thinking, tool_calls, "
                        "tool_call_id, tool_name, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        _row(conversation.id, seq, entry),
                    )
                    ids.append(cur.lastrowid)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise _Locked from exc
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        for (_seq, entry), row_id in zip(new, ids, strict=True):
            entry.meta.row_id = row_id
        self._settings_written[conversation.id] = settings
        return len(new)

    def rename(self, conversation_id: str, title: str) -> None:
        title = scrub(title.strip())
        if not title:
            raise StoreError("a conversation title cannot be empty")
        self._exec("UPDATE conversations SET title=? WHERE id=?", (title, conversation_id), need_row=conversation_id)

    def delete(self, conversation_id: str) -> None:
        self._exec("DELETE FROM conversations WHERE id=?", (conversation_id,), need_row=conversation_id)

    def delete_all(self) -> int:
        """Delete every saved conversation (and what waits to be written); returns how many."""
        self._waiting.clear()
        try:
            with _tx(self._db):
                cur = self._db.execute("DELETE FROM conversations")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        return max(cur.rowcount, 0)

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
            return [
                ConversationInfo(_text(i), _text(t) or "(untitled)", _number(c), _number(u), int(n or 0))
                for i, t, c, u, n in self._db.execute(sql)
            ]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the history database {self.path}: {_why(exc)}") from exc

    def search(self, text: str, limit: int = 50) -> builtins.list[SearchHit]:
        """Conversations whose messages contain every word of ``text`` (the last word may be the
        start of one: ``pyth`` finds "python"), best match first; then those whose title contains
        ``text``. Any text is a literal search: quotes and FTS5 operators mean nothing special."""
        words = _words(text)
        if not words:
            return []
        query = " ".join(f'"{w}"' for w in words[:-1]) + (" " if len(words) > 1 else "") + f'"{words[-1]}"*'
        hits: dict[str, SearchHit] = {}
        count = "(SELECT COUNT(*) FROM messages x WHERE x.conversation_id=c.id)"
        try:
            title_rows = self._db.execute(
                f"SELECT c.id, c.title, c.created_at, c.updated_at, {count} FROM conversations c "
                "WHERE c.title LIKE ? ESCAPE '\\' ORDER BY c.updated_at DESC LIMIT ?",
                ("%" + _like(text.strip()) + "%", limit),
            ).fetchall()
            message_rows = self._db.execute(
                f"SELECT c.id, c.title, c.created_at, c.updated_at, {count}, "
                f"snippet(messages_fts, 0, ?, ?, '…', {SNIPPET_TOKENS}) "
                "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
                (MATCH_START, MATCH_END, query, limit * 20),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot search the history database {self.path}: {_why(exc)}") from exc
        for i, t, c, u, n, *snippet in [*title_rows, *message_rows]:
            cid = _text(i)
            info = ConversationInfo(cid, _text(t) or "(untitled)", _number(c), _number(u), int(n or 0))
            if cid not in hits:
                hits[cid] = SearchHit(info, _text(snippet[0]) if snippet else "")
            elif snippet and not hits[cid].snippet:  # the title matched too: keep the passage
                hits[cid] = SearchHit(info, _text(snippet[0]))
        return list(hits.values())[:limit]

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
        found: str = rows[0][0]
        return found

    def load(self, conversation_id: str) -> Conversation:
        try:
            head = self._db.execute(
                "SELECT id, title, created_at, settings FROM conversations WHERE id=?", (conversation_id,)
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
        conv = Conversation(id=_text(head[0]), title=_text(head[1]) or "(untitled)", created_at=_number(head[2]))
        conv.settings, conv.tools_off = _read_settings(head[3], conv.load_notes)
        self._settings_written[conv.id] = _settings_json(conv)
        for row in rows:
            entry = _entry(row, conv.load_notes)
            if entry is not None:
                conv.entries.append(entry)
        return conv

    def close(self) -> None:
        """Close the database, after one last try (with the full busy timeout) to write what
        waits; raises StoreError naming how many messages could not be written."""
        left = 0
        if self._waiting:
            self._locked_before = False
            try:
                self.flush()
            except StoreError:
                pass
            left = self.waiting
        try:
            self._db.close()
        except sqlite3.Error:
            pass
        if left:
            raise StoreError(f"the history database {self.path} stayed locked: {left} message(s) were not saved")

    # -- helpers -------------------------------------------------------------------------------

    def _exec(self, sql: str, params: tuple[Any, ...], need_row: str) -> None:
        try:
            with _tx(self._db):
                cur = self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        if cur.rowcount == 0:
            raise StoreError(f"no saved conversation with id {need_row!r}")


class _tx:  # noqa: N801 - used like a function: `with _tx(db):`
    """BEGIN IMMEDIATE … COMMIT / ROLLBACK on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.db.execute("ROLLBACK")
            return
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error:
            # a COMMIT that failed (busy) leaves the transaction open: end it, or every later
            # BEGIN fails with "cannot start a transaction within a transaction"
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise


def _settings_json(conversation: Conversation) -> str | None:
    data: dict[str, Any] = {}
    if not conversation.settings.is_empty:
        data["chat"] = conversation.settings.to_dict()
    if conversation.tools_off:
        data["tools_off"] = sorted(conversation.tools_off)
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None


def _read_settings(raw: object, notes: list[str]) -> tuple[ChatSettings, frozenset[str]]:
    """A chat's saved settings; anything unreadable is a note and is left out."""
    if raw is None:
        return ChatSettings(), frozenset()
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        notes.append("chat settings: not readable, ignored")
        return ChatSettings(), frozenset()
    settings, problems = ChatSettings.from_dict(data.get("chat"))
    notes.extend(problems)
    off = data.get("tools_off", [])
    if not isinstance(off, list) or not all(isinstance(x, str) for x in off):
        notes.append("chat settings: tools_off is not a list of names, ignored")
        off = []
    return settings, frozenset(scrub(x) for x in off)


def _statements(script: str) -> list[str]:
    """``script``'s statements, for ``execute`` one by one inside a transaction (``executescript``
    would commit first). Triggers hold ``;`` inside ``BEGIN … END``: split where SQLite says a
    statement is complete."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]


def _words(text: str) -> list[str]:
    """The search's words, each safe inside an FTS5 string (a double quote is doubled)."""
    return [w.replace('"', '""') for w in scrub(text).split()]


def _like(text: str) -> str:
    return scrub(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(conversation_id: str, seq: int, entry: Entry) -> tuple[Any, ...]:
    # every string scrubbed: one lone surrogate (from a model's "\\ud800" escape) would make
    # this and every later save of the chat fail to encode
    msg, meta = entry.message, entry.meta
    calls = (
        json.dumps(scrub_obj([c.model_dump(mode="json") for c in msg.tool_calls]), ensure_ascii=False)
        if msg.tool_calls
        else None
    )
    stored: dict[str, Any] = {k: getattr(meta, k) for k in _META_FIELDS}
    if msg.images:
        # attached images ride in the meta column (base64): no schema change for a rare field
        stored["images"] = [img.model_dump() for img in msg.images]
    meta_json = json.dumps(scrub_obj(stored), ensure_ascii=False, default=str)
    return (
        conversation_id,
        seq,
        msg.role,
        scrub(msg.content),
        _opt(msg.thinking),
        calls,
        _opt(msg.tool_call_id),
        _opt(msg.tool_name),
        scrub(meta_json),
        meta.created_at,
    )


def _opt(value: str | None) -> str | None:
    return None if value is None else scrub(value)


class _Locked(Exception):
    """The database stayed locked by another connection past the busy timeout."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return scrub(str(value))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


#: MessageMeta field → the types a stored value may have (anything else is dropped with a note).
_META_TYPES: dict[str, tuple[type, ...]] = {
    "backend": (str,),
    "model": (str,),
    "created_at": (int, float),
    "status": (str,),
    "error": (str,),
    "prompt_tokens": (int,),
    "completion_tokens": (int,),
    "ttft_s": (int, float),
    "tokens_per_s": (int, float),
    "duration_s": (int, float),
    "full_result": (str,),
    "is_error": (bool,),
    "extra": (dict,),
}


def _is_role(text: str) -> TypeGuard[Role]:
    return text in _ROLES


def _entry(row: tuple[Any, ...], notes: list[str]) -> Entry | None:
    """One stored message, repaired where it can be (a note per repair), None when it cannot."""
    row_id, role, content, thinking, calls, call_id, tool_name, meta = row
    role = _text(role)
    if not _is_role(role):
        notes.append(f"message {row_id}: unknown role {role[:20]!r}: skipped")
        return None
    tool_calls: list[ToolCall] = []
    if calls:
        try:
            raw = json.loads(_text(calls))
            if not isinstance(raw, list):
                raise ValueError("not a list")
        except ValueError:
            notes.append(f"message {row_id}: unreadable tool calls: dropped")
            raw = []
        for c in raw:
            try:
                tool_calls.append(ToolCall.model_validate(scrub_obj(c)))
            except Exception:  # noqa: BLE001 - pydantic's ValidationError and anything odd in the data
                notes.append(f"message {row_id}: a malformed tool call: dropped")
    try:
        m = json.loads(_text(meta))
    except (ValueError, TypeError):
        m = None
    if not isinstance(m, dict):
        notes.append(f"message {row_id}: unreadable details (meta): reset")
        m = {}
    fields: dict[str, Any] = {}
    for k in _META_FIELDS:
        if k not in m or m[k] is None:
            continue
        v = m[k]
        if isinstance(v, _META_TYPES[k]) and not (isinstance(v, bool) and bool not in _META_TYPES[k]):
            fields[k] = scrub_obj(v)
        else:
            notes.append(f"message {row_id}: bad {k} in meta: dropped")
    images: list[ImagePart] = []
    raw_images = m.get("images")
    for img in raw_images if isinstance(raw_images, list) else ():
        try:
            images.append(ImagePart.model_validate(img))
        except Exception:  # noqa: BLE001 - pydantic's ValidationError and anything odd in the data
            notes.append(f"message {row_id}: a malformed image: dropped")
    message = Message(
        role=role,
        content=_text(content),
        images=images,
        thinking=_text(thinking) if thinking is not None else None,
        tool_calls=tool_calls,
        tool_call_id=_text(call_id) if call_id is not None else None,
        tool_name=_text(tool_name) if tool_name is not None else None,
    )
    return Entry(message=message, meta=MessageMeta(row_id=row_id, **fields))


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
