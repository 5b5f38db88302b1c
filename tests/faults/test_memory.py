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
from a2ia_tui.core.llm.types import ChatChunk, Message
from a2ia_tui.core.monitor.tokens import TokenMeter
from a2ia_tui.core.textsafe import printable
from a2ia_tui.tui.markdown import StreamingMarkdown
from a2ia_tui.tui.messages import ConversationDeleted
from a2ia_tui.tui.widgets.chat import KEEP_SCREENS, ChatView
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, ToolNote, UserMessage
from a2ia_tui.tui.widgets.prompt import Prompt
from a2ia_tui.tui.widgets.trace import TraceItem
from tests.helpers.app import MiniHub, build_app, idle, send, wait_for

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
        await wait_for(pilot, lambda: idle(app) and _answered(app) > i, timeout=30)


def _answered(app) -> int:
    """Answers (not tool calls) in the open conversation: the chat may have unmounted the
    widgets of the first ones already."""
    return sum(e.message.role == "assistant" and not e.message.tool_calls for e in app.conversation.entries)


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
        # (the first answers' widgets may be unmounted already: then what makes them is held)
        assert len(app.query(TraceItem)) == n and app.query(StreamingMarkdown) and _answered(app) == n
        refs += [weakref.ref(p) for p in app.chat._pending_entries]
        await leave(pilot, app)
        await wait_for(
            pilot, lambda: not app.query(TraceItem) and "question 0" not in [u.text for u in app.query(UserMessage)]
        )
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


# -- a long chat -------------------------------------------------------------------------------


def _long_conversation(answers: int) -> Conversation:
    conv = Conversation(title="long")
    for i in range(answers):
        conv.add_user(f"question {i}")
        conv.add(Message(role="assistant", content=f"## Answer {i}\n\n" + ANSWERS[i % len(ANSWERS)]))
    return conv


def _near(chat: ChatView, widget) -> bool:
    height = chat.container_size.height
    region = widget.virtual_region
    return not (
        region.bottom < chat.scroll_y - KEEP_SCREENS * height or region.y > chat.scroll_y + (1 + KEEP_SCREENS) * height
    )


def _holding(app) -> list[AssistantMessage]:
    return [m for m in app.query(AssistantMessage) if m.markdown.rendered_lines]


async def _settled(pilot, app) -> None:
    """Every answer rendered as far as the idle pass goes, and the chat's pass has looked."""
    await wait_for(pilot, lambda: all(m.markdown.settled for m in app.query(AssistantMessage)), timeout=60)
    await wait_for(pilot, lambda: app.chat._release_timer is None, timeout=10)


def _mounted_messages(chat: ChatView) -> list:
    return [w for w in chat.children if isinstance(w, (AssistantMessage, UserMessage, NoteMessage, ToolNote))]


async def _mount_all_pages(pilot, chat: ChatView) -> None:
    """Every message mounted, the view at the top (where nothing is unmounted: at the end, the
    chat's pass may unmount the first ones again between two pages)."""
    while chat.query("#earlier") or chat.scroll_y:
        while chat.query("#earlier"):
            await chat.show_earlier()
        chat.scroll_home(animate=False)
        chat.release_anchor()  # as a user's scroll up does: the chat no longer follows the end
        await pilot.pause()


async def test_a_long_chat_mounts_only_the_messages_near_the_view() -> None:
    """300 answers (600 messages), all mounted, then followed to the end: the messages far above
    the view are unmounted (a few screens' worth stay), those near it keep rendered lines only
    near the view; scrolled back to the top, the first answer draws the same lines, every answer
    has its text and its height as before, and back at the end the top is let go again."""
    answers = 300
    conv = _long_conversation(answers)
    app, _ = build_app({})
    assert app.services.store is not None
    app.services.store.sync(conv)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await app.open_conversation(conv.id)
        chat = app.chat
        await _mount_all_pages(pilot, chat)
        await _settled(pilot, app)
        messages = list(app.query(AssistantMessage))
        assert len(messages) == answers and len(_mounted_messages(chat)) == 2 * answers
        first = messages[0].markdown
        drawn_before = [first.render_line(y).text for y in range(first.lines)]
        heights = [m.markdown.lines for m in messages]
        # the chat shows the text made printable (an answer holds an escape sequence)
        shown = [printable(e.message.content) for e in conv.entries if e.message.role == "assistant"]
        assert [m.text for m in messages] == shown
        # away from the end nothing is unmounted (the view would move under the reader)
        assert not chat.query("#earlier")

        for _ in range(2):  # there and back twice: the remade messages go as the first ones did
            chat.scroll_end(animate=False)
            await pilot.pause()
            await _settled(pilot, app)
            await pilot.pause()
            mounted = _mounted_messages(chat)
            assert len(mounted) < 2 * answers // 10, len(mounted)
            assert all(_near(chat, w) or w.virtual_region.y >= chat.scroll_y for w in mounted)
            assert chat.is_vertical_scroll_end  # still following the end
            assert chat.query("#earlier") and first not in app.query(StreamingMarkdown)
            holding = _holding(app)
            assert holding and all(_near(chat, m) for m in holding)

            await _mount_all_pages(pilot, chat)
            await _settled(pilot, app)
            messages = list(app.query(AssistantMessage))
            assert len(_mounted_messages(chat)) == 2 * answers
            assert [m.text for m in messages] == shown
            assert [m.markdown.lines for m in messages] == heights
            first = messages[0].markdown
            assert [first.render_line(y).text for y in range(first.lines)] == drawn_before
            assert all(_near(chat, m) for m in _holding(app))


async def test_a_live_chat_unmounts_answers_scrolled_far_away_and_follows_the_stream() -> None:
    """Answers streamed into a small window: once the view has moved on, the older ones are
    unmounted (kept behind "earlier messages"), the mounted ones far from the view hold no
    rendered lines; the chat still follows each new answer to its end."""
    n = 30
    app, _ = build_app({"vllm": [text_reply(ANSWERS[i % 3]) for i in range(n)]})
    async with app.run_test(size=(80, 16)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        chat = app.chat
        for i in range(n):
            await send(pilot, f"question {i}")
            await wait_for(pilot, lambda: idle(app) and _answered(app) > i, timeout=30)
            await pilot.pause()
            assert chat.is_vertical_scroll_end  # followed to the end
            last = list(app.query(AssistantMessage))[-1]
            assert last.text == printable(ANSWERS[i % 3])
        await _settled(pilot, app)
        await pilot.pause()
        messages = list(app.query(AssistantMessage))
        assert messages[-1].markdown.rendered_lines
        assert len(messages) < n // 2
        assert chat.query("#earlier") and len(chat._pending_entries) >= n
        # an unmounted answer's text is the conversation's string, not a copy of it
        contents = [e.message.content for e in app.conversation.entries if e.message.role == "assistant"]
        kept = [p.keywords["text"] for p in chat._pending_entries if "text" in p.keywords]
        assert kept and all(any(t is c for c in contents) for t in kept)
        # an answer's text is kept once by its widgets (the conversation has its own)
        assert all(m.text is m.markdown.text and m.text for m in messages)
        assert all(_near(chat, m) for m in _holding(app))
        # scrolled to the top, the first question and its answer are mounted again, as they were
        await _mount_all_pages(pilot, chat)
        assert [m.text for m in app.query(UserMessage)] == [f"question {i}" for i in range(n)]
        assert [m.text for m in app.query(AssistantMessage)] == [printable(ANSWERS[i % 3]) for i in range(n)]


async def test_a_resize_does_not_render_far_answers_back_for_good() -> None:
    """A new width renders every answer again for its height (the idle pass): the far ones
    let the lines go as soon as they are measured."""
    conv = _long_conversation(30)
    app, _ = build_app({})
    assert app.services.store is not None
    app.services.store.sync(conv)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await app.open_conversation(conv.id)
        # at the top (at the end, the far ones above are unmounted): the far ones are below
        await _mount_all_pages(pilot, app.chat)
        await _settled(pilot, app)
        assert not app.query(AssistantMessage).last().markdown.rendered_lines
        await pilot.resize_terminal(70, 30)
        await pilot.pause()
        await _settled(pilot, app)
        assert all(_near(app.chat, m) for m in _holding(app))
        assert not app.query(AssistantMessage).last().markdown.rendered_lines


async def test_an_answer_laid_out_before_it_is_mounted_still_settles() -> None:
    """A restored answer whose width was known before its mount finished (a page of a long
    chat, mounted in one go) settles all the same: every height exact."""
    from textual.app import App
    from textual.containers import Vertical
    from textual.geometry import Size

    text = "".join(f"Paragraph {i}.\n\n" for i in range(200))

    class One(App):
        CSS = "Vertical { height: 10; overflow: hidden; }"

        def compose(self):
            yield Vertical()

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        md = StreamingMarkdown(text, sealed=True)
        md.get_content_height(Size(80, 10), Size(80, 24), 78)  # the width its layout gives it
        await app.query_one(Vertical).mount(md)
        await wait_for(pilot, lambda: md.settled, timeout=30)


# -- fixed-size histories ----------------------------------------------------------------------


class FrozenClock:
    """A clock that does not move (a coarse timer): every chunk lands on the same instant."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("step", [0.0, 1e-6, 1e-4, 0.01], ids=["frozen", "1us", "100us", "10ms"])
def test_the_token_meter_keeps_a_bounded_window_at_any_rate(step) -> None:
    """The live rate's window holds a bounded number of entries whatever the chunk rate: a
    frozen clock, a million chunks a second, or a slow stream."""
    clock = FrozenClock()
    meter = TokenMeter(clock=clock)
    meter.start()
    chunk = ChatChunk(model="m", message=Message(role="assistant", content="x"))
    for _ in range(50_000):
        meter.observe(chunk)
        clock.t += step
    assert len(meter._recent) <= 2 * TokenMeter.WINDOW_SLOTS
    assert meter.completion_tokens == 50_000
    rate = meter.live_tokens_per_s
    if step:  # the figure is still right: one token per step
        assert rate == pytest.approx(1 / step, rel=0.03)


def test_the_token_meter_rate_is_unchanged_by_the_bound() -> None:
    """At an ordinary rate the live figure is what counting every chunk gives."""
    clock = FrozenClock()
    meter = TokenMeter(clock=clock)
    meter.start()
    chunk = ChatChunk(model="m", message=Message(role="assistant", content="x"))
    for _ in range(1000):
        meter.observe(chunk)
        clock.t += 1 / 150
    assert meter.live_tokens_per_s == pytest.approx(150, rel=0.03)


async def test_the_prompt_recall_history_has_a_fixed_size() -> None:
    """Days of questions: the recall history keeps the latest PROMPT_HISTORY only, and up-arrow
    still recalls the last one first."""
    from textual.app import App

    class One(App):
        def compose(self):
            yield Prompt(id="prompt")

    app = One()
    async with app.run_test() as pilot:
        prompt = app.query_one(Prompt)
        for i in range(Prompt.HISTORY + 500):
            prompt.take(f"q{i}")
        assert len(prompt._sent) == Prompt.HISTORY
        prompt.action_recall(-1)
        await pilot.pause()
        assert prompt.value == f"q{Prompt.HISTORY + 499}"


def test_the_gpu_sampler_history_is_bounded_over_a_long_run() -> None:
    """A day of samples (at the default interval) from two GPUs: each history keeps its fixed
    length."""
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.monitor.fake_nvml import FakeNVML, load_scenario
    from a2ia_tui.core.monitor.gpu import GPUSampler

    clock = FrozenClock()
    settings = load_settings(env={}).settings.monitor
    sampler = GPUSampler(settings, nvml=FakeNVML(load_scenario("two_gpus"), clock=clock), clock=clock)
    bound = int(settings.history_s / settings.gpu_interval_s)
    for _ in range(int(24 * 3600 / settings.gpu_interval_s) // 20):  # (a twentieth of a day: enough to wrap)
        sampler.sample()
        clock.t += settings.gpu_interval_s
    for i in (0, 1):
        assert 2 <= len(sampler.vram_history(i)) <= bound and len(sampler.util_history(i)) <= bound
