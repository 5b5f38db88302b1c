"""The chat and the trace follow their ends (``anchor()``) without pushing short content to the
bottom of the pane (Textual 8.2.8, issue #6652: a negative scroll offset; see
``ClampedAnchor`` in :mod:`a2ia_tui.tui.patches`)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.tui.widgets.messages import AssistantMessage, UserMessage
from tests.helpers.app import MiniHub, build_app, idle, send, wait_for


class _Plain(App):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="v"):
            yield Static("one line")

    def on_mount(self) -> None:
        self.query_one("#v").anchor()


async def test_textual_s_own_anchored_container_still_goes_below_zero() -> None:
    """If this fails, Textual is fixed and ClampedAnchor can go."""
    app = _Plain()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#v").scroll_y < 0


async def test_a_short_chat_and_trace_start_at_the_top_and_a_long_answer_is_followed() -> None:
    hub = MiniHub()
    long_answer = "".join(f"line {k}\n\n" for k in range(60))
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__read", {"path": "a.txt"})), text_reply("Short."), text_reply(long_answer)]},
        hub=hub,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "read a.txt")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        for _ in range(3):
            await pilot.pause()
        chat, trace = app.chat, app.trace
        question = app.query_one(UserMessage)
        assert chat.scroll_y == 0 and trace.scroll_y == 0
        assert question.region.y <= chat.region.y + 1  # its top margin, then the question
        item = next(iter(trace.items.values()))
        assert item.region.y == trace.content_region.y  # under the pane's title
        # an answer longer than the pane: followed to its end, as before
        await send(pilot, "more")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        await wait_for(pilot, lambda: chat.max_scroll_y > 0 and chat.scroll_y == chat.max_scroll_y)
