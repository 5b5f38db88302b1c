"""A chat message is laid out once when it is mounted; a plain widget twice (Textual lays the
screen out again when a new widget's virtual size is first set). If this Textual behaviour ever
changes, the first assertion fails and ``OneLayout`` (:mod:`a2ia_tui.tui.patches`) can go."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from a2ia_tui.tui.markdown import StreamingMarkdown
from a2ia_tui.tui.widgets.messages import NoteMessage, ToolNote, UserMessage
from tests.helpers.app import LayoutCounter


class Chat(App):
    def compose(self) -> ComposeResult:
        yield VerticalScroll(Static("first"), id="chat")


async def layouts_after_mount(widget) -> int:
    app = Chat()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        with LayoutCounter() as layouts:
            await app.query_one("#chat").mount(widget)
            for _ in range(5):
                await pilot.pause()
        return layouts.n


async def test_a_plain_widget_is_laid_out_twice_when_mounted() -> None:
    assert await layouts_after_mount(Static("a plain line")) == 2


async def test_chat_messages_are_laid_out_once() -> None:
    assert await layouts_after_mount(UserMessage("a question")) == 1
    assert await layouts_after_mount(NoteMessage("a note")) == 1
    assert await layouts_after_mount(ToolNote("→ called a tool")) == 1
    assert await layouts_after_mount(StreamingMarkdown("Some *text*, streaming")) == 1


async def test_the_chat_is_laid_out_once_when_it_grows_past_its_height() -> None:
    """The chat's virtual size grows with every message (and every growing frame) once it
    overflows: one layout each, not two; it still shows its scrollbar and follows the end."""
    from textual.app import App as _App

    from a2ia_tui.tui.widgets.chat import ChatView

    class Chatting(_App):
        def compose(self) -> ComposeResult:
            yield ChatView(id="chat")

    app = Chatting()
    async with app.run_test(size=(60, 12)) as pilot:
        chat = app.query_one(ChatView)
        for i in range(8):
            chat.add_user(f"question {i}")
        for _ in range(5):
            await pilot.pause()
        assert chat.show_vertical_scrollbar and chat.vertical_scrollbar.region  # overflowed, shown
        with LayoutCounter() as layouts:
            chat.add_user("one more")
            for _ in range(5):
                await pilot.pause()
        assert layouts.n == 1
        assert chat.scroll_y == chat.max_scroll_y > 0  # followed to the end
        assert chat.vertical_scrollbar.window_virtual_size == chat.virtual_size.height


class _Chatting(App):
    def compose(self) -> ComposeResult:
        from a2ia_tui.tui.widgets.chat import ChatView

        yield ChatView(id="chat")


async def test_a_question_and_its_answer_ask_for_one_layout() -> None:
    """Mounting the two asks for a layout of the chat through the answer's own compose; the
    chat's own request after a mount (Textual's AwaitMount) is dropped: in a busy turn it came
    after that layout, a second layout and repaint of the screen at the start of each answer."""
    from textual.screen import Screen

    from a2ia_tui.tui.widgets.chat import ChatView
    from a2ia_tui.tui.widgets.messages import AssistantMessage

    app = _Chatting()
    async with app.run_test(size=(60, 20)) as pilot:
        chat = app.query_one(ChatView)
        await pilot.pause()
        asked: list[str] = []
        real = Screen._on_layout

        async def on_layout(screen, message):
            asked.append(type(message.widget).__name__)
            return await real(screen, message)

        patch = pytest.MonkeyPatch()
        patch.setattr(Screen, "_on_layout", on_layout)
        try:
            answer = chat.add_exchange("a question", "vllm", "m")
            await answer.mounted.wait()
            for _ in range(5):
                await pilot.pause()
            later = await chat.add_assistant("vllm", "m")  # an answer after a tool call
            for _ in range(5):
                await pilot.pause()
        finally:
            patch.undo()
        assert "ChatView" not in asked, asked
        user = chat.query_one(UserMessage)
        first, second = chat.query(AssistantMessage)
        assert second is later and first is answer
        # all placed, in order
        assert user.region and first.region and second.region
        assert user.region.y < first.region.y < second.region.y


async def test_the_hint_of_an_empty_chat_goes_in_the_frame_that_shows_the_first_question() -> None:
    """The hint stays until the answer's widget is mounted, so it is drawn away in the frame that
    draws the question and the answer (removed as the two were being mounted, it took a frame
    of its own just before)."""
    from a2ia_tui.tui.widgets.chat import ChatView

    app = _Chatting()
    async with app.run_test(size=(60, 20)) as pilot:
        chat = app.query_one(ChatView)
        await pilot.pause()
        assert chat.empty
        answer = chat.add_exchange("a question", "vllm", "m")
        assert chat.empty  # not yet: the two are not mounted
        await answer.mounted.wait()
        assert not chat.empty
        for _ in range(3):
            await pilot.pause()
        assert chat.render() == ""  # the hint is no longer drawn
