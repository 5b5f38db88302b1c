"""How often a streaming answer is drawn: every FRAME_S at any rate a model streams at, every
FLOOD_FRAME_S when text floods in (a replay, a cached answer), and always completely at the end.
The frames are driven by hand (``_frame``) from a known time since the last one, so nothing here
depends on how fast this machine is."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from a2ia_tui.tui.widgets import messages as chat_mod
from a2ia_tui.tui.widgets.chat import ChatView


class Chat(App):
    def compose(self) -> ComposeResult:
        yield ChatView(id="chat")


async def streaming_answer(pilot):
    msg = await pilot.app.query_one(ChatView).add_assistant("vllm", "m")
    msg.start_streaming()
    msg._timer.stop()  # frames by hand from here
    msg._timer = None
    return msg


async def frame_after(msg, seconds: float, text: str) -> bool:
    """Append ``text``, run a frame as if ``seconds`` had passed since the last one; True if it
    drew (the text reached the Markdown), False if it put the frame off."""
    msg.append(text)
    before = msg.text
    msg._drawn_at = time.perf_counter() - seconds
    await msg._frame()
    drew = msg.text != before
    if msg._timer is not None:
        msg._timer.stop()
        msg._timer = None
    return drew


async def test_a_stream_at_a_models_pace_is_drawn_every_frame() -> None:
    async with Chat().run_test(size=(80, 24)) as pilot:
        msg = await streaming_answer(pilot)
        # 1,000 tokens/s (~4,000 characters/s), far faster than a 24 GB card streams one answer
        assert await frame_after(msg, chat_mod.FRAME_S, "word " * 80)
        assert await frame_after(msg, chat_mod.FRAME_S, "word " * 80)
        assert msg.text == "word " * 160


async def test_a_flood_is_drawn_less_often_and_completely_at_the_end() -> None:
    async with Chat().run_test(size=(80, 24)) as pilot:
        msg = await streaming_answer(pilot)
        flood = "word " * int(chat_mod.FLOOD_CHARS_S * chat_mod.FRAME_S)  # 5x the flood rate
        assert not await frame_after(msg, chat_mod.FRAME_S, flood)
        assert msg._parts  # kept for the next frame, nothing lost
        # ...which draws it all once FLOOD_FRAME_S have passed, however fast it still comes
        assert await frame_after(msg, chat_mod.FLOOD_FRAME_S, flood)
        assert msg.text == flood * 2
        msg.append("the end")
        await msg.finish()
        assert msg.text == flood * 2 + "the end"
        assert "".join(msg.markdown.blocks) == msg.text  # all of it reached the Markdown
