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
  included) in the same order, with their meta, and the same branch shown.
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
* A chat is a tree (schema 4): each message row names the one it follows (``parent_id``) and the
  chat names the last message of the branch shown (``head_id``). Regenerated answers and edited
  questions add branches; nothing is ever deleted but a whole chat. A schema-3 database becomes
  one branch per chat when opened, after a copy of it is saved (see :mod:`.schema`).
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agent.conversation import Conversation, Entry
from ..errors import StoreError
from ..paths import private_file, tighten_file
from ..textsafe import scrub
from .rows import decode, encode, number, read_settings, settings_json
from .rows import text as as_text
from .schema import SCHEMA_VERSION, set_up
from .schema import transaction as _tx

__all__ = ["SCHEMA_VERSION", "ConversationInfo", "HistoryStore", "SearchHit"]

#: How long a write waits for another process's lock before the messages wait in memory.
BUSY_TIMEOUT_S = 5.0
#: The wait of a retry while messages are already waiting (a retry must not freeze the UI).
RETRY_TIMEOUT_S = 0.05
#: Marks around the matched words of a search snippet (private-use characters: never in the
#: stored text's meaning; the saved-chats screen turns them into a highlight).
MATCH_START, MATCH_END = "\ue000", "\ue001"
#: Words around a match in a snippet.
SNIPPET_TOKENS = 10


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
        #: conversation id -> its settings JSON and shown branch's last row, as last written or read.
        self._written: dict[str, tuple[str | None, int | None]] = {}
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
                set_up(self._db, self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the history database {self.path}: {_why(exc)}") from exc

    # -- writing -------------------------------------------------------------------------------

    def sync(self, conversation: Conversation) -> int:
        """Write the conversation row and every entry not yet written; returns how many. A
        conversation without a message is not written: a new chat nobody typed in (each start
        of the app, each ctrl+n) would otherwise fill the saved chats with empty ones.

        When another process holds the database locked past the busy timeout, nothing is lost:
        the conversation waits (see :attr:`waiting`) and this call returns 0; conversations
        already waiting are written first, so messages reach the database in order."""
        if conversation.entries and (
            any(e.meta.row_id is None for e in _nodes(conversation))
            or self._written.get(conversation.id) != _state(conversation)
        ):
            self._waiting.setdefault(conversation.id, conversation)
        return self.flush()

    @property
    def waiting(self) -> int:
        """Messages kept in memory because the database was locked (0 when all are written)."""
        return sum(1 for c in self._waiting.values() for e in _nodes(c) if e.meta.row_id is None)

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
        conversation.link()
        new = _parents_first([e for e in _nodes(conversation) if e.meta.row_id is None])
        # no new message: the row is written again only when the settings or the branch shown changed
        if not new and (not conversation.entries or self._written.get(conversation.id) == _state(conversation)):
            return 0
        settings = settings_json(conversation)
        now = time.time()
        ids: dict[int, int] = {}  # id(entry) -> its new row id (stamped once the transaction commits)
        try:
            with _tx(self._db):
                self._db.execute(
                    "INSERT INTO conversations(id, title, created_at, updated_at, settings) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET title=excluded.title, updated_at=excluded.updated_at, "
                    "settings=excluded.settings",
                    (conversation.id, scrub(conversation.title), conversation.created_at, now, settings),
                )
                for entry in new:
                    parent = entry.parent
                    parent_id = None if parent is None else (parent.meta.row_id or ids[id(parent)])
                    cur = self._db.execute(
                        "INSERT INTO messages(conversation_id, seq, role, content, thinking, tool_calls, "
                        "tool_call_id, tool_name, meta, created_at, parent_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        encode(conversation.id, _depth(entry), entry, parent_id),
                    )
                    assert cur.lastrowid is not None
                    ids[id(entry)] = cur.lastrowid
                last = conversation.entries[-1]
                self._db.execute(
                    "UPDATE conversations SET head_id=? WHERE id=?",
                    (last.meta.row_id or ids[id(last)], conversation.id),
                )
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise _Locked from exc
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the history database {self.path}: {_why(exc)}") from exc
        for entry in new:
            entry.meta.row_id = ids[id(entry)]
        self._written[conversation.id] = _state(conversation)
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
                ConversationInfo(as_text(i), as_text(t) or "(untitled)", number(c), number(u), int(n or 0))
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
            cid = as_text(i)
            info = ConversationInfo(cid, as_text(t) or "(untitled)", number(c), number(u), int(n or 0))
            if cid not in hits:
                hits[cid] = SearchHit(info, as_text(snippet[0]) if snippet else "")
            elif snippet and not hits[cid].snippet:  # the title matched too: keep the passage
                hits[cid] = SearchHit(info, as_text(snippet[0]))
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
        """The conversation as it was left: the branch shown last in :attr:`~Conversation.entries`,
        the rest of its tree in :attr:`~Conversation.others`."""
        try:
            head = self._db.execute(
                "SELECT id, title, created_at, settings, head_id FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
            if head is None:
                raise StoreError(f"no saved conversation with id {conversation_id!r}")
            rows = self._db.execute(
                "SELECT id, role, content, thinking, tool_calls, tool_call_id, tool_name, meta, parent_id, seq "
                "FROM messages WHERE conversation_id=? ORDER BY seq, id",
                (conversation_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the history database {self.path}: {_why(exc)}") from exc
        conv = Conversation(id=as_text(head[0]), title=as_text(head[1]) or "(untitled)", created_at=number(head[2]))
        conv.settings, conv.tools_off = read_settings(head[3], conv.load_notes)
        _grow(conv, rows, head[4])
        self._written[conv.id] = _state(conv)
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


def _words(text: str) -> list[str]:
    """The search's words, each safe inside an FTS5 string (a double quote is doubled)."""
    return [w.replace('"', '""') for w in scrub(text).split()]


def _like(text: str) -> str:
    return scrub(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _nodes(conversation: Conversation) -> list[Entry]:
    return [*conversation.entries, *conversation.others]


def _state(conversation: Conversation) -> tuple[str | None, int | None]:
    """What, besides new messages, makes a chat's row worth writing again."""
    return settings_json(conversation), conversation.entries[-1].meta.row_id if conversation.entries else None


def _depth(entry: Entry) -> int:
    """The entry's place on its branch (0: a first message): the ``seq`` column."""
    depth, node, seen = 0, entry.parent, {id(entry)}
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        depth, node = depth + 1, node.parent
    return depth


def _parents_first(entries: list[Entry]) -> list[Entry]:
    """``entries`` ordered so that each comes after its parent when its parent is among them."""
    pending = {id(e) for e in entries}
    ordered: list[Entry] = []
    while entries:
        ready = [e for e in entries if e.parent is None or id(e.parent) not in pending]
        if not ready:  # a loop of parents (never made here): write them in the order given
            ready = entries
        ordered.extend(ready)
        pending -= {id(e) for e in ready}
        entries = [e for e in entries if id(e) in pending]
    return ordered


def _grow(conv: Conversation, rows: builtins.list[tuple[Any, ...]], head_id: object) -> None:
    """Rebuild the tree from its rows (in ``seq, id`` order): each message under its parent (under
    the nearest readable ancestor when its parent was skipped; after the row before it when a
    later message names none), the branch through ``head_id`` shown, down to its newest message."""
    parent_of: dict[Any, int | None] = {}
    previous = None
    for row in rows:
        parent, seq = row[8], row[9]
        if not isinstance(parent, int):
            parent = None
            if previous is not None and isinstance(seq, int) and seq > 0:
                conv.load_notes.append(f"message {row[0]}: no earlier message named: placed after the one before it")
                parent = previous
        parent_of[row[0]] = parent
        previous = row[0]
    by_id: dict[int, Entry] = {}
    for row in rows:
        entry = decode(row[:8], conv.load_notes)
        if entry is not None:
            by_id[row[0]] = entry
    for row_id, entry in by_id.items():
        up, seen = parent_of.get(row_id), {row_id}
        while up is not None and up not in by_id and up not in seen:  # skipped rows are stepped over
            seen.add(up)
            up = parent_of.get(up)
        entry.parent = by_id.get(up) if up is not None and up not in seen else None
    if not by_id:
        return
    last = by_id.get(head_id) if isinstance(head_id, int) else None
    if last is None:
        last = by_id[max(by_id)]
    branch, seen_ids = [last], {id(last)}
    while (up_entry := branch[-1].parent) is not None:
        if id(up_entry) in seen_ids:
            conv.load_notes.append("messages that follow each other in a loop: the loop is cut")
            branch[-1].parent = None
            break
        branch.append(up_entry)
        seen_ids.add(id(up_entry))
    branch.reverse()
    # messages below the head (written by something else than this store, which moves the head
    # with every message): shown rather than hidden
    children: dict[int, Entry] = {}
    for entry in by_id.values():  # in seq, id order: the last one kept is the newest
        if entry.parent is not None:
            children[id(entry.parent)] = entry
    while (below := children.get(id(branch[-1]))) is not None and id(below) not in seen_ids:
        branch.append(below)
        seen_ids.add(id(below))
    conv.entries = branch
    conv.others = [e for e in by_id.values() if id(e) not in seen_ids]


class _Locked(Exception):
    """The database stayed locked by another connection past the busy timeout."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
