"""The history database's tables, and bringing an older one up to date.

Versions: 1 conversations and messages; 2 the search index (FTS5); 3 a chat's settings;
4 the tree (``messages.parent_id``: the message it follows; ``conversations.head_id``: the last
message of the branch shown). Before an existing database is changed, a copy of it is saved
beside it (``history.sqlite3.schema3.bak``); no copy, no change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StoreError
from ..paths import private_file

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    settings TEXT,
    head_id INTEGER
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
    created_at REAL NOT NULL,
    parent_id INTEGER
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
#: Version 3 → 4: the messages so far are one branch (each follows the one before it, by seq),
#: and the last one is shown.
_TREE_FROM_LINEAR = (
    "UPDATE messages SET parent_id = (SELECT p.id FROM messages p WHERE p.conversation_id = messages.conversation_id "
    "AND (p.seq < messages.seq OR (p.seq = messages.seq AND p.id < messages.id)) ORDER BY p.seq DESC, p.id DESC LIMIT 1)",
    "UPDATE conversations SET head_id = (SELECT m.id FROM messages m WHERE m.conversation_id = conversations.id "
    "ORDER BY m.seq DESC, m.id DESC LIMIT 1)",
)


def backup_path(path: Path, version: int) -> Path:
    return path.with_name(f"{path.name}.schema{version}.bak")


def set_up(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables, or bring an older database up to :data:`SCHEMA_VERSION` (a backup first,
    then one transaction: a failure leaves the database as it was)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if 0 < version < SCHEMA_VERSION and str(path) != ":memory:":
        _back_up(db, path, version)
    with transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
        if version > SCHEMA_VERSION:
            raise StoreError(f"the history database {path} was written by a newer a2ia-tui (schema {version})")
        for statement in _statements(_SCHEMA + _SEARCH_SCHEMA):
            db.execute(statement)
        if version == 1:  # before search: index the messages already there
            db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        if version in (1, 2):  # before chat settings
            db.execute("ALTER TABLE conversations ADD COLUMN settings TEXT")
        if version in (1, 2, 3):  # before the tree
            db.execute("ALTER TABLE messages ADD COLUMN parent_id INTEGER")
            db.execute("ALTER TABLE conversations ADD COLUMN head_id INTEGER")
            for statement in _TREE_FROM_LINEAR:
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


class transaction:  # noqa: N801 - used like a function: `with transaction(db):`
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


def _back_up(db: sqlite3.Connection, path: Path, version: int) -> None:
    target = backup_path(path, version)
    try:
        private_file(target)  # 0600 before SQLite writes the chats into it
        with sqlite3.connect(target) as copy:
            db.backup(copy)
        copy.close()
    except (sqlite3.Error, OSError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(f"cannot back up the history database to {target} before upgrading it: {why}") from exc


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
