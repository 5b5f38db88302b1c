"""History store: exact round trips, rename/delete, unopenable databases, SIGKILL safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.errors import StoreError
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store import HistoryStore, open_store
from tests.helpers.history import sample


def comparable(conv: Conversation) -> list[tuple]:
    out = []
    for e in conv.entries:
        meta = dict(vars(e.meta))
        meta.pop("row_id")
        out.append((e.message.model_dump(), meta))
    return out


def test_round_trip_is_exact(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = sample()
    assert store.sync(conv) == 6
    assert store.sync(conv) == 0  # nothing new: nothing written twice
    assert all(e.meta.row_id for e in conv.entries)
    store.close()
    again = HistoryStore(tmp_path / "h.sqlite3").load(conv.id)
    assert again.title == "list files in ünïcode dir"
    assert comparable(again) == comparable(conv)
    assert again.entries[1].message.tool_calls[0].function.arguments == {"path": "é/x"}
    assert again.entries[-1].meta.status == "interrupted"


def test_incremental_sync_appends_in_order(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = Conversation()
    conv.add_user("one")
    store.sync(conv)
    conv.add(Message(role="assistant", content="two"))
    conv.add_user("three")
    assert store.sync(conv) == 2
    assert [e.message.content for e in store.load(conv.id).entries] == ["one", "two", "three"]


def test_list_rename_delete_resolve(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    a, b = sample(), Conversation()
    b.add_user("second chat")
    store.sync(a)
    store.sync(b)
    infos = store.list()
    assert [i.id for i in infos] == [b.id, a.id]
    assert infos[1].messages == 6
    store.rename(a.id, "  Renamed  ")
    assert store.load(a.id).title == "Renamed"
    assert store.resolve(a.id[:10]) == a.id
    with pytest.raises(StoreError, match="no saved conversation"):
        store.resolve("zzzz")
    with pytest.raises(StoreError, match="empty"):
        store.rename(a.id, " ")
    store.delete(a.id)
    assert [i.id for i in store.list()] == [b.id]
    with pytest.raises(StoreError, match="no saved conversation"):
        store.load(a.id)
    with pytest.raises(StoreError):
        store.delete(a.id)


def test_unopenable_database_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "dir.sqlite3"
    bad.mkdir()
    with pytest.raises(StoreError) as info:
        HistoryStore(bad)
    assert "cannot open the history database" in str(info.value)
    assert "\n" not in str(info.value)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        HistoryStore(garbage)


def test_open_store_reports_instead_of_raising(tmp_path: Path) -> None:
    from a2ia_tui.core.config import load_settings

    bad = tmp_path / "d"
    bad.mkdir()
    loaded = load_settings(None, flags={"history.path": str(bad)})
    store, why = open_store(loaded)
    assert store is None and why is not None and "cannot open" in why
    loaded = load_settings(None, flags={"history.enabled": False})
    assert open_store(loaded) == (None, "history is disabled (history.enabled = false)")


WRITER = textwrap.dedent(
    """
    import sys, time
    from a2ia_tui.core.agent.conversation import Conversation
    from a2ia_tui.core.llm.types import Message
    from a2ia_tui.core.store import HistoryStore
    store = HistoryStore(sys.argv[1])
    conv = Conversation(id="killme")
    i = 0
    while True:
        conv.add_user(f"q{i}")
        conv.add(Message(role="assistant", content=f"a{i}"))
        store.sync(conv)
        print(i, flush=True)
        i += 1
    """
)


def test_sigkill_loses_at_most_the_message_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        last = -1
        while last < 30:  # let it commit a good number of rounds
            line = proc.stdout.readline()
            assert line, "writer died"
            last = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    entries = HistoryStore(db).load("killme").entries
    contents = [e.message.content for e in entries]
    # Everything it reported as committed is there, complete and in order; nothing is torn.
    assert len(contents) >= 2 * (last + 1)
    assert len(contents) % 2 == 0
    assert contents == [x for i in range(len(contents) // 2) for x in (f"q{i}", f"a{i}")]
