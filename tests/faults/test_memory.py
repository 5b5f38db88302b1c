"""Memory over a long session (the app stays open for days): a chat that is left lets go of
everything it held, a long chat keeps rendered only what is near the view, samplers and other
histories keep a fixed size however long they run.

Weak references prove the first (nothing else can: the garbage collector would keep a leak
quietly); counts of rendered lines (``StreamingMarkdown.rendered_lines``) the second. Never a
clock: the app is driven with Pilot and a scripted backend, and waited on with generous bounds.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.core.llm.types import Message
from a2ia_tui.tui.messages import ConversationDeleted
from a2ia_tui.tui.widgets.chat import AssistantMessage, ToolNote, UserMessage
from a2ia_tui.tui.widgets.markdown_stream import StreamingMarkdown
from a2ia_tui.tui.widgets.trace import TraceItem

from ..tui.app_helpers import MiniHub, build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(120)

#: Answers of every kind the streaming widget keeps state for: headings and prose, a code block
#: and a table streamed in pieces, a numbered list (its numbering run), thinking, an HTML block,
#: text with terminal control characters.
ANSWERS = [
    "# Title\n\nSome **bold** text and `code`.\n\n" + "".join(f"- item {i}\n" for i in range(30)),
    "Here:\n\n```python\n" + "".join(f"x{i} = compute({i})\n" for i in range(120)) + "```\n\nDone.",
    "| a | b |\n|---|---|\n" + "".join(f"| {i} | {'v' * (i % 17)} |\n" for i in range(80)) + "\nEnd.",
    "".join(f"{i}. step {i}\n" for i in range(1, 40)) + "\nThat is all.",
    "<div>\nraw html\n</div>\n\nafter \x1b[31mred\x1b[0m text",
]


def _refs(app) -> list[weakref.ref]:
    """Weak references to what the open chat holds: its widgets (messages, Markdown, tool notes,
    trace items) and its conversation objects (the conversation, its entries and messages)."""
    objs: list = [app.conversation, *app.conversation.entries, *(e.message for e in app.conversation.entries)]
    for cls in (AssistantMessage, UserMessage, StreamingMarkdown, ToolNote, TraceItem):
        objs.extend(app.query(cls))
    return [weakref.ref(o) for o in objs]


def _alive(refs: list[weakref.ref]) -> list[str]:
    gc.collect()
    return [type(r()).__name__ for r in refs if r() is not None]


async def _all_dead(pilot, refs: list[weakref.ref]) -> list[str]:
    """What is still alive once the app has had a while to finish removing the old widgets (a
    removed widget's timers are cancelled, and their tasks end, on later turns of the loop):
    [] as soon as everything is gone, else what stayed after a generous bound."""
    try:
        await wait_for(pilot, lambda: not _alive(refs), timeout=5)
    except AssertionError:
        pass
    return _alive(refs)


async def _chat(pilot, app, n: int) -> None:
    """``n`` questions, each answered after a tool call: the chat, the trace and the
    conversation all hold something."""
    for i in range(n):
        await send(pilot, f"question {i}")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) > i, timeout=30)


def _scripts(n: int) -> dict:
    replies = []
    for i in range(n):
        replies.append(tool_reply(("notes__read", {"path": f"n{i}.txt"}), text=f"Reading n{i}."))
        replies.append(text_reply(ANSWERS[i % len(ANSWERS)], thinking="Let me think." if i % 2 else None))
    return {"vllm": replies}


async def _new_chat(pilot, app) -> None:
    await pilot.press("ctrl+n")


async def _open_saved(pilot, app) -> None:
    other = Conversation(title="other")
    other.add_user("an older question")
    other.add(Message(role="assistant", content="an older answer"))
    app.services.store.sync(other)
    await app.open_conversation(other.id)


async def _deleted(pilot, app) -> None:
    app.post_message(ConversationDeleted(app.conversation.id))


@pytest.mark.parametrize("leave", [_new_chat, _open_saved, _deleted], ids=["new-chat", "open-saved", "deleted"])
async def test_a_chat_that_is_left_is_let_go_entirely(leave) -> None:
    """After a new chat (or opening another, or the open one deleted), every widget and
    object of the old chat is garbage: weak references to them are all dead."""
    n = 5
    app, _ = build_app(_scripts(n), hub=MiniHub())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await _chat(pilot, app, n)
        refs = _refs(app)
        assert len(app.query(TraceItem)) == n and len(app.query(StreamingMarkdown)) >= n
        await leave(pilot, app)
        await wait_for(pilot, lambda: not app.query(TraceItem) and "question 0" not in
                       [u.text for u in app.query(UserMessage)])
        assert await _all_dead(pilot, refs) == []


async def test_a_new_chat_while_an_answer_streams_lets_go_of_it() -> None:
    """ctrl+n in the middle of a long answer: the stopped turn and its widgets are let go too."""
    long = "".join(f"Paragraph {i} of a long answer.\n\n" for i in range(400))
    app, _ = build_app({"vllm": [text_reply(long, delay_s=0.002)]})
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "write a lot")
        # (app.query, not app.query_one: Textual caches what query_one finds, a strong reference)
        await wait_for(pilot, lambda: app.query(AssistantMessage) and app.query(AssistantMessage).first().text)
        refs = _refs(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: idle(app) and not app.query(AssistantMessage))
        assert await _all_dead(pilot, refs) == []


async def test_many_new_chats_leave_only_the_last_one() -> None:
    """Ten chats in a row: the messages alive at the end are the last chat's only."""
    rounds = 10
    app, _ = build_app({"vllm": [text_reply(ANSWERS[i % len(ANSWERS)]) for i in range(rounds)]})
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        refs: list[weakref.ref] = []
        for i in range(rounds):
            await send(pilot, f"question {i}")
            await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
            refs += _refs(app)
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: not app.query(AssistantMessage))
        assert await _all_dead(pilot, refs) == []
