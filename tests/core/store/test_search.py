"""Searching saved chats (SQLite FTS5), deleting them all, and the migration of a database made
by the version before search (tests/fixtures/history-v1.sqlite3, written by that version's
HistoryStore: schema 1, WAL)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.errors import StoreError
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store.history import MATCH_END, MATCH_START, SCHEMA_VERSION, HistoryStore

V1 = Path(__file__).resolve().parents[2] / "fixtures" / "history-v1.sqlite3"


def chat(store: HistoryStore, title: str, *texts: str) -> Conversation:
    conv = Conversation(title=title)
    for i, text in enumerate(texts):
        conv.add(Message(role="user" if i % 2 == 0 else "assistant", content=text))
    store.sync(conv)
    return conv


def test_search_finds_words_in_any_message_best_first(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    a = chat(store, "Cooking", "a recipe for bread", "Flour, water, salt and yeast.")
    b = chat(store, "Python", "sort a list in python", "Use sorted(); python sorts stably. Python!")
    chat(store, "Other", "nothing to see")
    [hit] = store.search("yeast")
    assert hit.info.id == a.id and hit.info.messages == 2
    assert f"{MATCH_START}yeast{MATCH_END}" in hit.snippet
    assert [h.info.id for h in store.search("pyth")] == [b.id]  # the last word may be a word's start
    assert [h.info.id for h in store.search("salt water")] == [a.id]  # every word, in any order
    assert store.search("salt python") == []
    assert store.search("   ") == []
    assert [h.info.id for h in store.search("cook")] == [a.id]  # the title, with no passage
    assert store.search("cook")[0].snippet == ""


def test_search_text_is_literal(tmp_path: Path) -> None:
    """Quotes, FTS5 operators, LIKE wildcards: searched as text, never an error."""
    store = HistoryStore(tmp_path / "h.sqlite3")
    c = chat(store, "100% done_now", 'he said "NEAR" AND (OR) * ^ : -x')
    for text in ['"', '"NEAR"', "AND", "(OR)", "*", "^", "-x", "NEAR(a b)", "x:y", "a' OR 1=1 --"]:
        store.search(text)  # no exception
    assert [h.info.id for h in store.search('"NEAR"')] == [c.id]
    assert [h.info.id for h in store.search("%")] == [c.id]  # the title's own percent sign
    assert store.search("o_e") == []  # "_" is no LIKE wildcard ("done" would match)


def test_search_is_accent_and_case_blind(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    c = chat(store, "Dessert", "Écris une recette de CRÈME brûlée")
    assert [h.info.id for h in store.search("creme brulee")] == [c.id]
    assert [h.info.id for h in store.search("ecris")] == [c.id]


def test_the_index_follows_deletes_and_later_messages(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    a = chat(store, "A", "alpha words")
    chat(store, "B", "beta words")
    a.add(Message(role="assistant", content="gamma reply"))
    store.sync(a)
    assert [h.info.id for h in store.search("gamma")] == [a.id]
    store.delete(a.id)
    assert store.search("alpha") == [] and store.search("gamma") == []
    assert len(store.search("words")) == 1
    # the index holds nothing of the deleted rows (an external-content index must be told)
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    db.close()


def test_delete_all(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    for i in range(3):
        chat(store, f"chat {i}", f"text {i}")
    assert store.delete_all() == 3
    assert store.list() == [] and store.search("text") == []
    assert store.delete_all() == 0
    again = chat(store, "after", "new text")  # the store still works
    assert [h.info.id for h in store.search("new")] == [again.id]


def test_a_database_of_the_version_before_search_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V1, path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 1
    rows_before = before.execute("SELECT * FROM messages ORDER BY id").fetchall()
    before.close()

    store = HistoryStore(path)
    assert [i.title for i in store.list()] == ["Café au lait", "Tuning vLLM"]
    [hit] = store.search("utilization")  # text written before the index existed
    assert hit.info.title == "Tuning vLLM" and MATCH_START in hit.snippet
    assert [h.info.title for h in store.search("vanille")] == ["Café au lait"]  # a tool result too
    conv = store.load(hit.info.id)
    assert [e.message.role for e in conv.entries] == ["user", "assistant"] and not conv.load_notes
    store.close()

    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # nothing changed (later versions add columns at the end)
    assert [r[: len(rows_before[0])] for r in after.execute("SELECT * FROM messages ORDER BY id")] == rows_before
    after.close()
    # opened again: no second migration, and new messages are indexed
    store = HistoryStore(path)
    chat(store, "New", "a fresh zeppelin")
    assert [h.info.title for h in store.search("zeppelin")] == ["New"]


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer a2ia-tui"):
        HistoryStore(path)
