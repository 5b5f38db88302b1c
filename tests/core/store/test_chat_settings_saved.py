"""A chat's own settings and switched-off tools are saved with it (schema 3), and a database
made by the version before (tests/fixtures/history-v2.sqlite3, written by that version's
HistoryStore) gains the column when opened, losing nothing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from a2ia_tui.core.agent.chat_settings import ChatSettings
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store.history import SCHEMA_VERSION, HistoryStore

V2 = Path(__file__).resolve().parents[2] / "fixtures" / "history-v2.sqlite3"


def test_settings_and_tools_off_round_trip_and_a_change_alone_is_saved(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = Conversation(title="t")
    conv.settings = ChatSettings(system_prompt="Be brief.", temperature=0.4, think=True)
    conv.tools_off = frozenset({"a2ia/run_command", "toy"})
    conv.add(Message(role="user", content="hi"))
    store.sync(conv)
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert back.settings == conv.settings and back.tools_off == conv.tools_off and back.load_notes == []
    # no new message, only the settings changed: still written
    conv.settings = ChatSettings(max_tokens=10)
    conv.tools_off = frozenset()
    store.sync(conv)
    again = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert again.settings == ChatSettings(max_tokens=10) and again.tools_off == frozenset()
    assert [e.message.content for e in again.entries] == ["hi"]


def test_an_empty_chat_with_settings_is_still_not_saved(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = Conversation(settings=ChatSettings(temperature=1.0))
    assert store.sync(conv) == 0 and store.list() == []


def test_unreadable_settings_are_notes_and_the_chat_opens(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = Conversation(title="t")
    conv.add(Message(role="user", content="hi"))
    store.sync(conv)
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    db.execute(
        "UPDATE conversations SET settings=? WHERE id=?",
        ('{"chat": {"temperature": 9, "top_p": 0.5, "colour": 1}, "tools_off": "all"}', conv.id),
    )
    db.commit()
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert back.settings == ChatSettings(top_p=0.5) and back.tools_off == frozenset()
    assert sorted(back.load_notes) == [
        "chat settings: temperature: 9 is outside 0..2; ignored",
        "chat settings: tools_off is not a list of names, ignored",
        "chat settings: unknown key 'colour' ignored",
    ]
    db.execute("UPDATE conversations SET settings='{not json' WHERE id=?", (conv.id,))
    db.commit()
    back = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert back.load_notes == ["chat settings: not readable, ignored"] and len(back.entries) == 1


def test_a_version_2_database_gains_the_column_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copy(V2, path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 2
    rows_before = before.execute("SELECT * FROM messages ORDER BY id").fetchall()
    before.close()
    store = HistoryStore(path)
    [info] = store.list()
    conv = store.load(info.id)
    assert [e.message.role for e in conv.entries] == ["user", "assistant", "tool", "assistant"]
    assert conv.entries[1].message.tool_calls[0].function.arguments == {"path": "bread.md"}
    assert conv.settings == ChatSettings() and conv.load_notes == []
    assert [h.info.id for h in store.search("yeast")] == [info.id]  # the search index came along
    conv.settings = ChatSettings(temperature=0.1)
    store.sync(conv)
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # the same rows (later versions add columns at the end)
    assert [r[: len(rows_before[0])] for r in after.execute("SELECT * FROM messages ORDER BY id")] == rows_before
    assert HistoryStore(path).load(info.id).settings == ChatSettings(temperature=0.1)
