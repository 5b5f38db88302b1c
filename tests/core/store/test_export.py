"""Markdown export: readable tool-call blocks, full results, marked answers, and the command."""

from __future__ import annotations

import subprocess
import sys

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store import HistoryStore, history_path, to_markdown
from tests.helpers.history import sample


def test_markdown_has_every_part() -> None:
    md = to_markdown(sample())
    assert md.startswith("# list files in ünïcode dir\n")
    assert "## You\n\nlist files in ünïcode dir" in md
    assert "## Assistant (vllm:qwen)" in md
    assert "<details><summary>Thinking</summary>" in md
    assert "### Tool call: `builtin__list_dir`" in md
    assert '```json\n{\n  "path": "é/x"\n}\n```' in md
    # the full result, not the model's truncated copy
    assert "a.txt\nb.txt\n" + "x" * 50 in md
    assert "**Result (0.03 s):**" in md
    assert "## Assistant (ollama:llama3) — interrupted" in md


def test_fences_survive_backticks_in_results() -> None:
    conv = Conversation()
    conv.add(Message(role="tool", content="```py\nx\n```", tool_call_id="c", tool_name="t"), is_error=True)
    md = to_markdown(conv)
    assert "**Error:**\n\n````text\n```py\nx\n```\n````" in md


def test_failed_answer_is_marked() -> None:
    conv = Conversation()
    conv.add(Message(role="assistant", content="half"), status="failed", error="cannot reach http://x: refused")
    assert "— failed: cannot reach http://x: refused" in to_markdown(conv)


def run_export(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "export", *args], capture_output=True, text=True, timeout=60
    )


def test_export_command(tmp_path) -> None:
    store = HistoryStore(history_path(load_settings(None)))
    conv = sample()
    store.sync(conv)
    store.close()
    r = run_export(conv.id[:8])
    assert r.returncode == 0, r.stderr
    assert r.stdout == to_markdown(conv)
    out = tmp_path / "c.md"
    r = run_export(conv.id, "-o", str(out))
    assert r.returncode == 0 and out.read_text() == to_markdown(conv)
    r = run_export("--list")
    assert conv.id in r.stdout and "list files" in r.stdout
    r = run_export("nope")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no saved conversation" in r.stderr


def repeated_ids() -> Conversation:
    """Two replies whose calls share the id call_0 (servers that send no ids), and a reply with
    two calls whose results came back in the other order."""
    from a2ia_tui.core.llm.scripted import make_call

    conv = Conversation(title="ids")
    conv.add_user("write then read")
    conv.add(Message(role="assistant", tool_calls=[make_call("write_file", {"path": "a"}, call_id="call_0")]))
    conv.add(Message(role="tool", content="wrote a", tool_call_id="call_0", tool_name="write_file"))
    conv.add(Message(role="assistant", tool_calls=[make_call("read_file", {"path": "a"}, call_id="call_0")]))
    conv.add(Message(role="tool", content="contents of a", tool_call_id="call_0", tool_name="read_file"))
    conv.add(
        Message(
            role="assistant", tool_calls=[make_call("ls", {}, call_id="call_0"), make_call("pwd", {}, call_id="call_1")]
        )
    )
    conv.add(Message(role="tool", content="/home", tool_call_id="call_1", tool_name="pwd"))
    conv.add(Message(role="tool", content="a b", tool_call_id="call_0", tool_name="ls"))
    conv.add(Message(role="assistant", content="Done."))
    return conv


def test_results_pair_with_their_own_calls_when_ids_repeat() -> None:
    from a2ia_tui.core.agent.conversation import pair_tool_results

    conv = repeated_ids()
    pairs = {k: e.message.content for k, e in pair_tool_results(conv.entries).items()}
    assert pairs == {(1, 0): "wrote a", (3, 0): "contents of a", (5, 0): "a b", (5, 1): "/home"}
    md = to_markdown(conv)
    blocks = md.split("### Tool call: ")[1:]
    assert [b.split("`")[1] for b in blocks] == ["write_file", "read_file", "ls", "pwd"]
    assert "wrote a" in blocks[0] and "contents of a" not in blocks[0]
    assert "contents of a" in blocks[1] and "a b" in blocks[2] and "/home" in blocks[3]
    assert "### Tool result" not in md  # every result under its call, none left over


def test_the_chats_own_settings_are_in_the_export():
    from a2ia_tui.core.agent.chat_settings import ChatSettings
    from a2ia_tui.core.agent.conversation import Conversation
    from a2ia_tui.core.store.export import to_markdown

    conv = Conversation(title="t")
    assert "Chat settings" not in to_markdown(conv)  # nothing set: nothing shown
    conv.settings = ChatSettings(system_prompt="Answer in ```French```.", temperature=0.2, max_tokens=100, think=False)
    md = to_markdown(conv)
    assert "## Chat settings\n\n- temperature 0.2, max_tokens 100, think off\n" in md
    assert "System prompt:\n\n````\nAnswer in ```French```.\n````" in md
