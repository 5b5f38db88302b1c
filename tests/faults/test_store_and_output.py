"""Terminal control sequences from outside (model text, thinking, tool arguments and output,
engine logs, saved chats) never reach the terminal raw: a2ia-cli over a loopback server,
``engine logs``, exports, and the TUI's rendered strips. Also the TUI's side of a locked or
corrupt history database."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store import HistoryStore, to_markdown
from tests.fakes.llm_server import FakeLLMServer, Reply

#: What a terminal would obey: C0 controls but \t and \n, DEL, C1 (as str) and raw bytes of them.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = {
    "OSC 52 clipboard write (BEL)": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "OSC 52 clipboard write (ST)": "\x1b]52;c;cm0gLXJmIH4=\x1b\\",
    "screen clear": "\x1b[2J\x1b[H",
    "cursor up and erase line": "\x1b[1A\x1b[2K",
    "title change": "\x1b]0;pwned\x07",
    "C1 CSI": "\u009b2J",
    "C1 OSC": "\u009d52;c;eA==\u009c",
    "hyperlink": "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
    "bell and backspaces": "\x07\x08\x08\x08",
    "carriage return overwrite": "safe\rEVIL",
    "DCS": "\x1bP+q544e\x1b\\",
    "NUL and DEL": "\x00\x7f",
}
ALL = "".join(HOSTILE.values())


def no_controls(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return CONTROL.search(text) is None


# -- a2ia-cli against a loopback server -------------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE))
def test_cli_prints_model_text_without_control_sequences(name, tmp_path):
    seq = HOSTILE[name]
    with FakeLLMServer("vllm", [Reply(text=f"before {seq} after")]).threaded() as srv:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "a2ia_tui.cli",
                "--backend",
                "vllm",
                "--vllm-url",
                srv.url,
                "--model",
                "m",
                "--no-tools",
                "-p",
                "hi",
            ],
            capture_output=True,
            timeout=120,
            env=os.environ,
        )
    assert proc.returncode == 0, proc.stderr
    assert b"before" in proc.stdout and b"after" in proc.stdout
    assert no_controls(proc.stdout) and no_controls(proc.stderr)


def test_cli_tool_call_and_output_with_control_sequences(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "evil.txt").write_text(f"file text {ALL} end\n", encoding="utf-8")
    replies = [Reply(tool_calls=[("read_file", {"path": "evil.txt", "note": ALL})]), Reply(text=f"done {ALL}")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "a2ia_tui.cli",
                "--backend",
                "vllm",
                "--vllm-url",
                srv.url,
                "--model",
                "m",
                "--debug",
                "-p",
                "read it",
            ],
            capture_output=True,
            timeout=120,
            env={**os.environ, "A2IA_TOOLS__WORKSPACE": str(ws)},
        )
    assert proc.returncode == 0, proc.stderr
    assert b"read_file" in proc.stderr and b"done" in proc.stdout
    assert no_controls(proc.stdout), proc.stdout
    assert no_controls(proc.stderr), proc.stderr


# -- engine logs ----------------------------------------------------------------------------------


def test_engine_logs_shows_control_sequences_as_pictures():
    paths = load_settings(None).paths
    paths.log_dir.mkdir(parents=True)
    lines = [f"(APIServer pid=1) line {n}: {seq}" for n, seq in enumerate(HOSTILE.values())]
    (paths.log_dir / "vllm.log").write_bytes(("\n".join(lines) + "\n").encode() + b"raw \x1b[31m bytes \xff\xfe\n")
    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "engine", "logs", "vllm", "-n", "100"],
        capture_output=True,
        timeout=120,
        env=os.environ,
    )
    assert proc.returncode == 0, proc.stderr
    assert all(f"line {n}:".encode() in proc.stdout for n in range(len(lines)))
    assert no_controls(proc.stdout)


# -- exports --------------------------------------------------------------------------------------


def _hostile_conversation() -> Conversation:
    from a2ia_tui.core.llm.scripted import make_call

    conv = Conversation(title=f"title {HOSTILE['title change']}")
    conv.add(Message(role="user", content=f"question {ALL}"))
    call = make_call("read_file", {"path": ALL})
    conv.add(
        Message(role="assistant", content=f"answer {ALL}", thinking=f"thought {ALL}", tool_calls=[call]),
        status="failed",
        error=f"boom {ALL}",
        backend="vllm",
        model=f"m{HOSTILE['screen clear']}",
    )
    conv.add(
        Message(role="tool", content=f"result {ALL}", tool_call_id=call.id, tool_name="read_file"),
        full_result=f"full {ALL}",
    )
    return conv


def test_export_markdown_has_no_control_sequences():
    conv = _hostile_conversation()
    md = to_markdown(conv)
    assert no_controls(md)
    assert "␛]52;c;cm0gLXJmIH4=␇" in md  # shown, nothing lost


def test_export_command_output_and_list_have_no_control_sequences(tmp_path):
    loaded = load_settings(None)
    store = HistoryStore(loaded.paths.history_db)
    conv = _hostile_conversation()
    store.sync(conv)
    store.close()
    for args in ([conv.id[:8]], ["--list"]):
        proc = subprocess.run(
            [sys.executable, "-m", "a2ia_tui.entry", "export", *args], capture_output=True, timeout=120, env=os.environ
        )
        assert proc.returncode == 0, proc.stderr
        assert no_controls(proc.stdout) and no_controls(proc.stderr)
    out = tmp_path / "c.md"
    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "export", conv.id, "-o", str(out)],
        capture_output=True,
        timeout=120,
        env=os.environ,
    )
    assert proc.returncode == 0 and no_controls(out.read_text(encoding="utf-8"))


# -- the TUI ----------------------------------------------------------------------------------------


def _screen_text(app) -> str:
    """Every segment the compositor would send to the terminal now, and every line each widget
    of the screen renders (scrolled-away and collapsed ones too)."""
    out = [strip.text for strip in app.screen._compositor.render_strips()]
    for widget in app.screen.walk_children():
        region = widget.region
        if region.width and region.height:
            out += [s.text for s in widget.render_lines(region.reset_offset)]
    return "\n".join(out)


async def test_tui_streamed_text_thinking_tool_call_and_result_render_without_controls():
    from tests.helpers.app import MiniHub, build_app, idle, send, wait_for

    class EvilHub(MiniHub):
        async def call(self, name, arguments):
            from a2ia_tui.core.tools.hub import ToolResult

            self.called.append((name, arguments))
            return ToolResult(f"tool output {ALL}\n" * 3, False, 0.01)

    replies = [
        tool_reply(("notes__read", {"path": ALL}), text=f"calling {ALL}"),
        text_reply(f"# Head {ALL}\n\nbody {ALL}\n\n```\ncode {ALL}\n```\n", thinking=f"hmm {ALL}"),
    ]
    app, _ = build_app({"vllm": replies}, hub=EvilHub())
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, f"question {ALL}")
        await wait_for(pilot, lambda: idle(app) and len(app.trace.items) == 1, timeout=30)
        await pilot.pause()
        for item in app.trace.items.values():
            for c in item.query("Collapsible"):
                c.collapsed = False
        await pilot.pause()
        text = _screen_text(app)
        assert "tool output" in text and "body" in text
        assert no_controls(text), repr(CONTROL.findall(text))


async def test_tui_reopened_chat_with_controls_and_corrupt_rows_renders_with_a_note():
    from a2ia_tui.tui.widgets.messages import NoteMessage
    from tests.helpers.app import build_app, wait_for

    app, _ = build_app({})
    store = app.services.store
    conv = _hostile_conversation()
    store.sync(conv)
    db = sqlite3.connect(str(store.path))
    db.execute(
        "INSERT INTO messages(conversation_id, seq, role, content, meta, created_at) VALUES (?,?,?,?,?,?)",
        (conv.id, 50, "wizard", "x", "{}", 1.0),
    )
    db.execute(
        "INSERT INTO messages(conversation_id, seq, role, content, tool_calls, meta, created_at) "
        "VALUES (?,?,?,?,?,?,?)",
        (conv.id, 51, "assistant", f"late {ALL}", "[{oops", "not json", 1.0),
    )
    db.commit()
    db.close()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await app.open_conversation(conv.id)
        await pilot.pause()
        notes = [n.text for n in app.query(NoteMessage)]
        assert any("damaged" in n and "unknown role" in n for n in notes), notes
        text = _screen_text(app)
        assert "late" in text and "question" in text
        assert no_controls(text), repr(CONTROL.findall(text))


HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
print("released", flush=True)
"""


async def test_tui_keeps_messages_while_the_database_is_locked_and_writes_them_after(tmp_path, monkeypatch):
    from a2ia_tui.tui import chats as chats_module
    from a2ia_tui.tui.widgets.messages import NoteMessage
    from tests.helpers.app import build_app, idle, send, wait_for

    monkeypatch.setattr(chats_module, "HISTORY_RETRY_S", 0.2)
    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db, busy_timeout_s=0.2)
    app, _ = build_app({"vllm": [text_reply("one"), text_reply("two")]}, store=store)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None)
            await send(pilot, "first")
            await wait_for(pilot, lambda: idle(app))
            await send(pilot, "second")
            await wait_for(pilot, lambda: idle(app))
            notes = [n.text for n in app.query(NoteMessage)]
            assert any("locked" in n and "wait" in n for n in notes), notes
            assert app.services.store is store and store.waiting == 4
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "released"
            await wait_for(pilot, lambda: store.waiting == 0)
            await wait_for(pilot, lambda: any("free again" in n.text for n in app.query(NoteMessage)))
            cid = app.conversation.id
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    check = HistoryStore(db)
    assert [e.message.content for e in check.load(cid).entries] == ["first", "one", "second", "two"]
    check.close()


async def test_tui_engine_log_pane_shows_control_sequences_as_pictures(tmp_path):
    from a2ia_tui.tui.screens.engine_log import EngineLogScreen
    from tests.helpers.app import EngineApp, engine_services, wait_for

    services = engine_services(tmp_path)
    log_path = services.engines["vllm"].log_path
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(
        "".join(f"line {n} {seq}\n" for n, seq in enumerate(HOSTILE.values())).encode() + b"\xff\x1b[5m\n"
    )
    app = EngineApp(services)
    async with app.run_test(size=(160, 40)) as pilot:
        app.push_screen(EngineLogScreen(services, "vllm"))
        await wait_for(pilot, lambda: isinstance(app.screen, EngineLogScreen) and bool(app.screen.query("#el-log")))
        log = app.screen.query_one("#el-log")
        await wait_for(pilot, lambda: len(log.lines) >= len(HOSTILE))
        assert all(no_controls(line) for line in log.lines), list(log.lines)
        await pilot.pause()
        assert no_controls(_screen_text(app))


async def test_tui_model_name_and_offline_reason_from_servers_render_without_controls():
    """A model name (a server's /v1/models) and a backend's offline reason (its error body) are
    shown in the status bar, the answer's header and the sidebar."""
    from a2ia_tui.core.llm.scripted import ScriptedClient
    from a2ia_tui.core.llm.types import Health
    from tests.helpers.app import build_app, idle, send, wait_for

    evil = f"model{HOSTILE['screen clear']}{HOSTILE['C1 OSC']}"

    async def offline(self):
        return Health(ok=False, detail=f"offline: HTTP 500: {ALL}")

    app, _ = build_app({"vllm": [text_reply("hi")]})
    make = app.services.make_client
    app.services.make_client = lambda name, model: make(name, evil)  # the name the server reported
    orig = ScriptedClient.health
    ScriptedClient.health = lambda self: offline(self) if self.name == "ollama" else orig(self)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None)
            await send(pilot, "q")
            await wait_for(pilot, lambda: idle(app))
            await pilot.pause(0.3)
            text = _screen_text(app)
            assert "model␛[2J" in text and "HTTP 500" in text
            assert no_controls(text), repr(CONTROL.findall(text))
    finally:
        ScriptedClient.health = orig


async def test_tui_quitting_while_still_locked_says_how_many_messages_were_not_saved(tmp_path):
    from tests.helpers.app import build_app, idle, send, wait_for

    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db, busy_timeout_s=0.1)
    app, _ = build_app({"vllm": [text_reply("one")]}, store=store)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None)
            await send(pilot, "first")
            await wait_for(pilot, lambda: idle(app))
            await app.shutdown()  # what quitting does
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert app.exit_note and "2 message(s) were not saved" in app.exit_note


async def test_tui_mcp_server_failure_reason_has_no_controls_and_no_credentials():
    from a2ia_tui.core.tools.hub import ServerState
    from tests.helpers.app import MiniHub, build_app, wait_for

    class FailedHub(MiniHub):
        def states(self):
            return {
                f"se{HOSTILE['title change']}arch": ServerState(
                    "search", "failed", reason=f"cannot reach http://bob:hunter2-secret@127.0.0.1:9/mcp: refused {ALL}"
                )
            }

    app, _ = build_app({}, hub=FailedHub())
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.pause(0.3)
        text = _screen_text(app)
        assert "127.0.0.1:9/mcp" in text
        assert "hunter2-secret" not in text
        assert no_controls(text), repr(CONTROL.findall(text))


async def test_tui_palette_shows_saved_chat_titles_as_plain_text():
    """A saved chat's title in the command palette: its markup is not obeyed (``[@click=…]`` would
    be an action link) and its control sequences are shown as pictures."""
    from tests.helpers.app import build_app, wait_for

    app, _ = build_app({})
    conv = Conversation(title=f"Evil [@click=app.quit]x[/] [b]bold[/b] {HOSTILE['screen clear']}")
    conv.add(Message(role="user", content="q"))
    app.services.store.sync(conv)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*"Chat: Evil")
        await pilot.pause(0.5)
        text = _screen_text(app)
        assert "[@click=app.quit]x[/]" in text and "[b]bold[/b]" in text
        assert no_controls(text), repr(CONTROL.findall(text))
