"""Snapshot tests of the app (pytest-textual-snapshot). The sidebar and GPU pane are switched off
(``ui.sidebar`` / ``ui.gpu``) so these pictures only change when the chat, trace or status bar
do; the other panes have snapshots of their own. Update with ``--snapshot-update`` and look at
the SVGs under ``__snapshots__``."""

from __future__ import annotations

import pytest

from a2ia_tui.core.llm.scripted import text_reply, tool_reply

from .app_helpers import MiniHub, approval_with_keys, build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(120)

FLAGS = {"ui.sidebar": False, "ui.gpu": False}

ANSWER = """Here is a **small** example:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

- it takes a name
- it returns a greeting
"""


async def settle(pilot) -> None:
    """Let late mounts, scroll anchoring and animations finish (the machine may be loaded)."""
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)


def ready(app):
    return app.orchestrator is not None and "ctx" in app.query_one("#status").render_text()


def test_empty_start(snap_compare) -> None:
    """You should see the empty chat with its hint, the prompt, an empty trace pane ("No tool calls
    yet."), the status bar with vllm:vllm-model, the tool mode and ctx 0/8192, and the footer keys."""
    app, _ = build_app(flags=FLAGS)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_streamed_answer_with_code_block(snap_compare) -> None:
    """You should see the user's question, then an answer headed vllm:vllm-model with a
    highlighted Python code block and a two-item list, and token figures in the status bar."""
    app, _ = build_app({"vllm": [text_reply(ANSWER, eval_count=40)]}, flags=FLAGS)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Show me a Python greeting function")
        await wait_for(pilot, lambda: idle(app) and app.query("AssistantMessage"))
        app.query_one("#status").set(tps=42.0, ttft=0.25)  # fixed figures: the real ones vary
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_tool_call_with_result(snap_compare) -> None:
    """You should see "→ called notes__read" in the chat and, in the trace pane, a ✓ item
    "notes · notes__read" with its arguments, a three-line result preview and a collapsed "full
    result (5 lines)"; then the final answer."""
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__read", {"path": "todo.md"})), text_reply("The note has five lines.")]},
        hub=MiniHub(),
        flags=FLAGS,
    )

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Read todo.md")
        await wait_for(pilot, lambda: idle(app) and app.query("AssistantMessage"))
        for item in app.query("TraceItem"):
            item._duration = 0.01  # the real duration varies
            item._set_state(item.state)
        app.query_one("#status").set(tps=42.0, ttft=0.25)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_approval_request(snap_compare) -> None:
    """You should see a trace item with a yellow border: "? notes · notes__delete", its
    arguments ({"path": "old.txt"}) and "Run this tool (destructive)?  [y] yes  [n] no  [a] always…"
    (the item has the keyboard: the prompt is empty and no key was pressed for a second)."""
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__delete", {"path": "old.txt"})), text_reply("ok")]}, hub=MiniHub(), flags=FLAGS
    )

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Delete old.txt")
        await approval_with_keys(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_approval_waiting_for_the_keyboard(snap_compare) -> None:
    """You should see the same yellow item, but saying "Waiting for your answer: press ctrl+y or
    click here (or leave the prompt empty for a second)", the prompt still holding "and then tell me wh" with the cursor in it, and
    "^y Tool approval" first in the key bar."""
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__delete", {"path": "old.txt"})), text_reply("ok")]}, hub=MiniHub(), flags=FLAGS
    )
    app.key_quiet.clock = lambda: 0.0  # time stands still: the last key stays "in the last second"

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Delete old.txt")
        await pilot.press(*"and then tell me wh")
        await wait_for(pilot, lambda: app.trace.pending_item() is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_small_terminal_80x24(snap_compare) -> None:
    """You should see at 80x24 the chat (question and answer) and the trace pane side by side,
    no sidebar and no GPU pane, the prompt, the status bar and the footer."""
    app, _ = build_app({"vllm": [text_reply("Fits in **80x24**: the side panes fold away.")]})

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Does it fit?")
        await wait_for(pilot, lambda: idle(app) and app.query("AssistantMessage"))
        app.query_one("#status").set(tps=42.0, ttft=0.25)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_chat_settings_at_80x24(snap_compare) -> None:
    """You should see the chat settings form over the app at 80x24: a system prompt box holding
    "Be brief.", temperature 0.3, top_p empty with "the server's default", max tokens empty,
    thinking "off", the hint line, and Cancel / Save at the bottom, all inside the screen."""
    from a2ia_tui.core.agent.chat_settings import ChatSettings

    app, _ = build_app(flags=FLAGS)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        app.conversation.settings = ChatSettings(system_prompt="Be brief.", temperature=0.3, think=False)
        await pilot.press("f2")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChatSettingsScreen")
        app.screen.query_one("#cs-system").cursor_blink = False  # a blinking cursor is drawn or not
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_chat_settings_with_command_line_values_at_80x24(snap_compare) -> None:
    """You should see the chat settings form at 80x24 started with --system, --temperature and
    --max-tokens: beside "System prompt", `--system "Answer in French."` wins (command line); the
    temperature field holds the chat's 0.3 with "--temperature 0.4 wins (command line)" after it;
    max tokens says "--max-tokens 64 wins (command line)"; top_p has no note; all inside the screen."""
    from a2ia_tui.core.agent.chat_settings import ChatSettings

    app, _ = build_app(flags=FLAGS)
    app.services.chat_overrides = ChatSettings(system_prompt="Answer in French.", temperature=0.4, max_tokens=64)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        app.conversation.settings = ChatSettings(system_prompt="Be brief.", temperature=0.3, think=False)
        await pilot.press("f2")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChatSettingsScreen")
        app.screen.query_one("#cs-system").cursor_blink = False
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
