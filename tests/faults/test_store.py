"""The history store under hostile data: lone surrogates in every field, rows corrupted by hand
with raw sqlite, another process holding the database locked, and file modes."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.types import FunctionCall, Message, ToolCall
from a2ia_tui.core.store import HistoryStore, history_path, open_store, to_markdown

# -- lone surrogates: history never refuses a message -------------------------------------------

SURROGATES = ["\ud800", "a\udfffb", "\udc80\udcff", "ok \ud83d", "\ud800" * 1000]


@pytest.mark.parametrize("bad", SURROGATES, ids=["lone-high", "lone-low-inside", "two-low", "cut-pair", "thousand"])
def test_lone_surrogates_in_every_field_are_saved_and_later_saves_still_work(tmp_path, bad):
    store = HistoryStore(tmp_path / "h.sqlite3")
    conv = Conversation(title=f"t{bad}")
    conv.add(Message(role="user", content=f"u{bad}"))
    call = ToolCall(id=f"c{bad}", function=FunctionCall(name=f"n{bad}", arguments={f"k{bad}": [f"v{bad}"]}))
    conv.add(
        Message(role="assistant", content=f"a{bad}", thinking=f"th{bad}", tool_calls=[call]),
        backend=f"b{bad}",
        error=f"e{bad}",
        extra={f"x{bad}": bad},
    )
    conv.add(
        Message(role="tool", content=f"r{bad}", tool_call_id=f"c{bad}", tool_name=f"n{bad}"), full_result=f"f{bad}"
    )
    assert store.sync(conv) == 3
    conv.add(Message(role="user", content="next, clean message"))
    assert store.sync(conv) == 1  # the chat is not stuck on the bad message
    back = store.load(conv.id)
    assert len(back.entries) == 4
    assert "\ufffd" in back.entries[1].message.tool_calls[0].name
    text = repr([e.message.model_dump() for e in back.entries]) + back.title
    text.encode("utf-8")  # nothing unencodable came back
    assert "\ufffd" in back.entries[0].message.content and back.entries[-1].message.content == "next, clean message"
    assert back.load_notes == []
    store.close()


# -- corrupt rows ----------------------------------------------------------------------------------


def _insert(db: str, cid: str, seq: int, role="user", content="x", calls=None, meta="{}", **cols):
    con = sqlite3.connect(db)
    con.execute(
        "INSERT OR IGNORE INTO conversations(id, title, created_at, updated_at) VALUES (?,?,?,?)",
        (cid, "corrupt", 1.0, 2.0),
    )
    con.execute(
        "INSERT INTO messages(conversation_id, seq, role, content, thinking, tool_calls, tool_call_id, tool_name,"
        " meta, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (cid, seq, role, content, cols.get("thinking"), calls, cols.get("call_id"), cols.get("tool_name"), meta, 1.0),
    )
    con.commit()
    con.close()


CORRUPT = {
    "meta not JSON": dict(meta="{not json"),
    "meta a list": dict(meta="[1, 2]"),
    "meta a string": dict(meta='"hello"'),
    "meta empty": dict(meta=""),
    "meta wrong types": dict(
        meta='{"prompt_tokens": "many", "tokens_per_s": "fast", "is_error": "yes", "extra": [1], "status": 5}'
    ),
    "unknown role": dict(role="wizard"),
    "role empty": dict(role=""),
    "role with escape": dict(role="\x1b[2J"),
    "tool calls not JSON": dict(role="assistant", calls="[{broken"),
    "tool calls an object": dict(role="assistant", calls='{"id": "x"}'),
    "tool call missing fields": dict(role="assistant", calls='[{"id": "c1"}]'),
    "tool call args not an object": dict(
        role="assistant", calls='[{"id": "c1", "function": {"name": "t", "arguments": "str"}}]'
    ),
    "tool calls list of numbers": dict(role="assistant", calls="[1, 2, 3]"),
    "content is an integer": dict(content=42),
    "content is a blob": dict(content=b"\xff\xfe binary"),
    "content is invalid UTF-8 text": dict(content="PLACEHOLDER-INVALID-UTF8"),
    "content with lone surrogate bytes": dict(content="PLACEHOLDER-SURROGATE"),
}


def _corrupt_db(tmp_path, name):
    db = history_path(load_settings(None))
    store = HistoryStore(db)
    good = Conversation(title="fine")
    good.add(Message(role="user", content="before"))
    store.sync(good)
    store.close()
    cols = dict(CORRUPT[name])
    _insert(str(db), good.id, 5, **cols)
    if cols.get("content") == "PLACEHOLDER-INVALID-UTF8":
        _raw_text(db, b"\xc3\x28 bad \xff")
    if cols.get("content") == "PLACEHOLDER-SURROGATE":
        _raw_text(db, b"\xed\xa0\x80 surrogate")
    con = sqlite3.connect(str(db))
    con.execute(
        "INSERT INTO messages(conversation_id, seq, role, content, meta, created_at) VALUES (?,?,?,?,?,?)",
        (good.id, 9, "assistant", "after", "{}", 1.0),
    )
    con.commit()
    con.close()
    return db, good.id


def _raw_text(db, raw: bytes) -> None:
    con = sqlite3.connect(str(db))
    con.execute("UPDATE messages SET content = CAST(? AS TEXT) WHERE seq = 5", (raw,))
    con.commit()
    con.close()


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_rows_load_and_export_with_a_note(tmp_path, name):
    db, cid = _corrupt_db(tmp_path, name)
    store = HistoryStore(db)
    conv = store.load(cid)
    contents = [e.message.content for e in conv.entries]
    assert contents[0] == "before" and contents[-1] == "after"  # nothing around it lost
    if name.startswith(("meta", "unknown", "role", "tool call")):
        assert conv.load_notes, "a repair or a skip must be noted"
    to_markdown(conv)
    assert [i.title for i in store.list()] == ["corrupt"] or store.list()
    store.close()
    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "export", cid[:8]], capture_output=True, timeout=120, env=os.environ
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and b"before" in proc.stdout and b"after" in proc.stdout
    assert b"\x1b" not in proc.stdout + proc.stderr
    if conv.load_notes:
        assert "note:" in err


def test_corrupt_conversation_row_lists_and_loads(tmp_path):
    db = tmp_path / "h.sqlite3"
    HistoryStore(db).close()
    con = sqlite3.connect(str(db))
    con.execute(
        "INSERT INTO conversations(id, title, created_at, updated_at) VALUES (?,?,?,?)",
        ("c1", b"\xff\xfe", "yesterday", ""),
    )
    con.commit()
    con.close()
    store = HistoryStore(db)
    [info] = store.list()
    assert isinstance(info.title, str) and info.created_at == 0.0
    conv = store.load("c1")
    assert conv.entries == [] and isinstance(conv.title, str)
    store.close()


# -- a database locked by another process ----------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()          # hold the lock until told
    con.execute("COMMIT")
    print("released", flush=True)
""")


def test_messages_wait_while_another_process_holds_the_lock_and_are_written_in_order(tmp_path):
    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db, busy_timeout_s=0.2)  # the same path as 5 s, sooner
    first = Conversation(title="first")
    first.add(Message(role="user", content="m0"))
    assert store.sync(first) == 1
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        for i in range(1, 6):
            first.add(Message(role="assistant" if i % 2 else "user", content=f"m{i}"))
            assert store.sync(first) == 0  # no exception: the message waits
        other = Conversation(title="second")
        other.add(Message(role="user", content="o0"))
        store.sync(other)
        assert store.waiting == 6
        assert store.flush() == 0 and store.waiting == 6  # still locked: a retry changes nothing
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    first.add(Message(role="user", content="m6"))
    assert store.sync(first) == 7
    assert store.waiting == 0
    store.close()
    check = HistoryStore(db)
    assert [e.message.content for e in check.load(first.id).entries] == [f"m{i}" for i in range(7)]
    assert [e.message.content for e in check.load(other.id).entries] == ["o0"]
    check.close()


def test_close_reports_messages_it_could_not_write(tmp_path):
    from a2ia_tui.core.errors import StoreError

    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db, busy_timeout_s=0.1)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        conv = Conversation()
        conv.add(Message(role="user", content="x"))
        store.sync(conv)
        with pytest.raises(StoreError, match="1 message"):
            store.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


# -- file modes ------------------------------------------------------------------------------------


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_history_database_and_folders_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        loaded = load_settings(None)
        store, err = open_store(loaded)
        assert err is None
        conv = Conversation()
        conv.add(Message(role="user", content="secret plans"))
        store.sync(conv)
        db = history_path(loaded)
        assert _mode(db) == 0o600
        for extra in ("-wal", "-shm"):
            if os.path.exists(f"{db}{extra}"):
                assert _mode(f"{db}{extra}") == 0o600, extra
        assert _mode(loaded.paths.data_dir) == 0o700
        store.close()
    finally:
        os.umask(old)


def test_existing_world_readable_files_are_tightened_at_start(tmp_path):
    loaded = load_settings(None)
    p = loaded.paths
    for d in (p.data_dir, p.state_dir, p.log_dir, p.run_dir):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
    files = [p.history_db, p.log_dir / "vllm.log", p.run_dir / "vllm.json", p.state_dir / "cli_history"]
    for f in files:
        f.write_text("{}" if f.suffix == ".json" else "")
        os.chmod(f, 0o644)
    os.chmod(p.history_db, 0o666)
    p.history_db.unlink()
    HistoryStore(p.history_db).close()  # a real database
    os.chmod(p.history_db, 0o644)
    store, err = open_store(loaded)
    assert err is None
    store.close()
    for d in (p.data_dir, p.state_dir, p.log_dir, p.run_dir):
        assert _mode(d) == 0o700, d
    for f in files:
        assert _mode(f) == 0o600, f


def test_engine_manager_tightens_logs_and_pid_files():
    from a2ia_tui.core.engines.manager import EngineManager

    loaded = load_settings(None)
    p = loaded.paths
    p.log_dir.mkdir(parents=True)
    p.run_dir.mkdir(parents=True)
    os.chmod(p.state_dir, 0o755)
    log = p.log_dir / "local.log"
    log.write_text("x")
    os.chmod(log, 0o644)
    EngineManager(loaded.settings, p)
    assert _mode(log) == 0o600 and _mode(p.state_dir) == 0o700


def test_a_folder_the_user_chose_for_history_is_left_alone(tmp_path):
    chosen = tmp_path / "mine"
    chosen.mkdir()
    os.chmod(chosen, 0o755)
    loaded = load_settings(None, env={**os.environ, "A2IA_HISTORY__PATH": str(chosen / "h.sqlite3")})
    store, err = open_store(loaded)
    assert err is None
    store.close()
    assert _mode(chosen) == 0o755 and _mode(chosen / "h.sqlite3") == 0o600


def test_private_file_under_a_loose_umask(tmp_path):
    from a2ia_tui.core.paths import private_dir, private_file

    old = os.umask(0)
    try:
        f = private_file(tmp_path / "a" / "b" / "f.txt")
        assert _mode(f) == 0o600 and _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
        d = private_dir(tmp_path / "c")
        assert _mode(d) == 0o700
    finally:
        os.umask(old)


def test_opening_while_another_process_holds_the_lock_keeps_history_on(tmp_path):
    """An app started while the database is locked (another a2ia-tui mid-write, a backup)."""
    db = tmp_path / "h.sqlite3"
    seed = HistoryStore(db)
    old = Conversation(title="old")
    old.add(Message(role="user", content="kept"))
    seed.sync(old)
    seed.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = HistoryStore(db, busy_timeout_s=0.2)  # no StoreError: history stays on
        assert [i.title for i in store.list()] == ["old"]  # reading works under the lock (WAL)
        conv = Conversation()
        conv.add(Message(role="user", content="new"))
        assert store.sync(conv) == 0 and store.waiting == 1
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert store.flush() == 1 and store.waiting == 0
    assert [e.message.content for e in store.load(conv.id).entries] == ["new"]
    store.close()
