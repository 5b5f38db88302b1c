"""History keeps the whole tree (schema 4): regenerated answers and edited questions are saved
with the branch shown, reopen as they were left, and a database made by the version before
(tests/fixtures/history-v3.sqlite3, written by 7b19cc6's HistoryStore) is copied, then migrated."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.errors import StoreError
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store.export import to_markdown
from a2ia_tui.core.store.history import SCHEMA_VERSION, HistoryStore
from a2ia_tui.core.store.schema import backup_path

V3 = Path(__file__).resolve().parents[2] / "fixtures" / "history-v3.sqlite3"


def texts(entries: list) -> list[str]:
    return [e.message.content for e in entries]


def branched() -> Conversation:
    conv = Conversation(title="t")
    conv.add_user("q1")
    conv.add(Message(role="assistant", content="a1"))
    conv.add_user("q2")
    conv.add(Message(role="assistant", content="a2"))
    return conv


def test_regenerate_and_edit_are_saved_and_reopen_on_the_branch_shown(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = branched()
    store.sync(conv)
    conv.regenerate()
    conv.add(Message(role="assistant", content="a2 again"))
    assert store.sync(conv) == 1  # only the new answer: the earlier one is already there
    conv.edit(0, "q1 better")
    conv.add(Message(role="assistant", content="b1"))
    assert store.sync(conv) == 2
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert texts(back.entries) == ["q1 better", "b1"] and back.load_notes == []
    assert back.alternatives() == {0: (2, 2)}
    assert back.switch(0, -1) and texts(back.entries) == ["q1", "a1", "q2", "a2 again"]
    assert back.alternatives() == {0: (1, 2), 3: (2, 2)}
    assert back.switch(3, -1) and texts(back.entries) == ["q1", "a1", "q2", "a2"]


def test_flipping_alone_is_saved_and_export_follows_the_branch_shown(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = branched()
    conv.regenerate()
    conv.add(Message(role="assistant", content="second answer"))
    assert store.sync(conv) == 5  # a tree never saved before: parents first
    conv.switch(3, -1)
    assert store.sync(conv) == 0  # no new message, but the branch shown changed
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert texts(back.entries) == ["q1", "a1", "q2", "a2"]
    markdown = to_markdown(back)
    assert "a2" in markdown and "second answer" not in markdown
    assert [i.messages for i in store.list()] == [5]  # every kept message counts


def test_a_version_3_database_is_backed_up_then_becomes_one_branch_per_chat(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V3, path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 3
    rows_before = before.execute("SELECT * FROM messages ORDER BY id").fetchall()
    chats_before = before.execute("SELECT * FROM conversations ORDER BY id").fetchall()
    before.close()

    store = HistoryStore(path)
    copy = sqlite3.connect(backup_path(path, 3))  # the copy is the database as it was
    assert copy.execute("PRAGMA user_version").fetchone()[0] == 3
    assert copy.execute("SELECT * FROM messages ORDER BY id").fetchall() == rows_before
    assert copy.execute("SELECT * FROM conversations ORDER BY id").fetchall() == chats_before
    copy.close()
    assert backup_path(path, 3).stat().st_mode & 0o077 == 0  # private, like the database

    bread = store.load(store.resolve(next(i.id for i in store.list() if i.title == "Bread")))
    assert [e.message.role for e in bread.entries] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert bread.entries[-1].meta.status == "interrupted" and bread.others == [] and bread.load_notes == []
    assert bread.settings.system_prompt == "Be brief." and bread.tools_off == frozenset({"toy"})
    assert [h.info.title for h in store.search("sourdough")] == ["Bread"]
    # the migrated chat branches like a new one
    bread.regenerate()
    bread.add(Message(role="assistant", content="About 8 hours."))
    store.sync(bread)
    store.close()
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    assert [
        r[: len(rows_before[0])] for r in after.execute("SELECT * FROM messages ORDER BY id LIMIT 8")
    ] == rows_before
    after.close()
    again = HistoryStore(path).load(bread.id)
    assert again.entries[-1].message.content == "About 8 hours." and again.alternatives() == {5: (2, 2)}


def test_no_backup_no_migration(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V3, path)
    backup_path(path, 3).mkdir()  # the copy cannot be written
    with pytest.raises(StoreError, match="cannot back up the history database"):
        HistoryStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3  # untouched


def test_a_fresh_database_needs_no_backup(tmp_path: Path) -> None:
    HistoryStore(tmp_path / "h.sqlite3").close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".bak")) == []


@pytest.mark.parametrize(
    ("sql", "note"),
    [
        ("UPDATE messages SET parent_id = 4 WHERE id = 1", "loop"),  # 1 -> 4 -> 3 -> 2 -> 1
        # not a row id: after the message before it
        ("UPDATE messages SET parent_id = 'x' WHERE id = 3", "no earlier message named"),
        ("UPDATE messages SET parent_id = NULL WHERE id = 4", "no earlier message named"),
        ("UPDATE messages SET parent_id = 999 WHERE id = 3", None),  # no such row
        ("UPDATE conversations SET head_id = 12345", None),  # no such head: the newest message
        ("UPDATE messages SET role = 'wizard' WHERE id = 2", "unknown role"),  # children step over it
    ],
)
def test_a_damaged_tree_opens_with_a_note_and_loses_no_readable_message(
    tmp_path: Path, sql: str, note: str | None
) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = branched()
    store.sync(conv)
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    db.execute(sql)
    db.commit()
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    kept = texts(back.entries) + texts(back.others)
    assert sorted(kept) == sorted(t for t in ["q1", "a1", "q2", "a2"] if not (note == "unknown role" and t == "a1"))
    assert (
        back.entries
        and (note is None) == (back.load_notes == [])
        and all(note is not None and note in n for n in back.load_notes)
    )
    back.alternatives()  # never loops
    if note == "unknown role":
        assert texts(back.entries) == ["q1", "q2", "a2"]
    if note == "no earlier message named":
        assert texts(back.entries) == ["q1", "a1", "q2", "a2"]  # repaired into one branch again


def test_messages_below_the_head_written_by_another_program_are_shown(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = branched()
    store.sync(conv)
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    db.execute(
        "INSERT INTO messages(conversation_id, seq, role, content, meta, created_at, parent_id) "
        "VALUES (?, 4, 'user', 'q3', '{}', 1.0, 4)",
        (conv.id,),
    )
    db.commit()
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert texts(back.entries) == ["q1", "a1", "q2", "a2", "q3"] and back.others == []
