"""The chat's messages: a question, a note, an answer streamed as Markdown, a tool call's note.

Streaming policy (the hot path): :meth:`AssistantMessage.append` only appends the delta to a
list. A frame every :data:`FRAME_S` (10 frames/s) joins what arrived and hands it to
:class:`~a2ia_tui.tui.markdown.StreamingMarkdown`, which renders settled blocks once and redraws only
the rows that changed (see its docstring for why not Textual's ``Markdown.get_stream()``). Frames
are paced by their cost (:meth:`AssistantMessage._next_frame`): if drawing would take more than
:data:`DRAW_SHARE` of the time (a flood, a slow machine) frames come less often, at least every
:data:`MAX_FRAME_S`. Text that floods in (faster than :data:`FLOOD_CHARS_S`: a replay, a cached
answer) is drawn every :data:`FLOOD_FRAME_S`. So the screen is touched at most 10 times a second
whatever the token rate, and the cost of a frame does not grow with the answer's length.
:meth:`AssistantMessage.finish` flushes the rest.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from ...core.textsafe import printable
from ..markdown import StreamingMarkdown
from ..patches import OneLayout

if TYPE_CHECKING:
    from textual.timer import Timer


FRAME_S = 1 / 10
DRAW_SHARE = 0.3  # at most this share of the time goes to drawing while streaming...
MAX_FRAME_S = 0.5  # ...but a frame at least this often
#: Text arriving faster than this (characters a second, ~5,000 tokens/s: several times the
#: fastest single stream a local GPU serves, so a replay or a cached answer) is a flood: no one
#: reads it as it comes, so it is drawn every FLOOD_FRAME_S rather than every FRAME_S, and the
#: time goes to taking it in. A flood shorter than that is drawn once, complete.
FLOOD_CHARS_S = 20_000
FLOOD_FRAME_S = 0.25


class MessageList(Widget):
    """What an answer tells the list it is in (:class:`~.chat.ChatView`): it has been mounted,
    it grew, it ended. Here so that the messages need not import the chat view."""

    def drop_empty(self) -> None:
        """The first message is in: the empty list's hint goes."""

    def expect_growth(self, lines: int) -> None:
        """A message has grown by ``lines`` and asked for a layout."""

    def schedule_release(self) -> None:
        """A message has ended: a good time to let far ones go."""


class UserMessage(OneLayout, Static):
    DEFAULT_CSS = """
    UserMessage { margin: 1 0 0 0; padding: 0 1; border-left: thick $accent; background: $boost; }
    """

    def __init__(self, text: str) -> None:
        # every text shown here may come from outside (the model, a tool, a server, a file pasted
        # in, the history database): Rich and Textual pass ESC through to the terminal
        text = printable(text)
        super().__init__(text, markup=False)
        self.text = text


class NoteMessage(OneLayout, Static):
    """A line that is not part of the conversation: backend changes, notices, errors."""

    DEFAULT_CSS = """
    NoteMessage { margin: 1 0 0 0; padding: 0 1; color: $text-muted; text-style: italic; }
    NoteMessage.-warning { color: $warning; }
    NoteMessage.-error { color: $error; text-style: none; }
    NoteMessage.-branch { color: $accent; text-style: none; }
    """

    def __init__(self, text: str, level: str = "info") -> None:
        text = printable(text)
        super().__init__(text, markup=False, classes=f"-{level}")
        self.text = text
        self.level = level


class AssistantMessage(OneLayout, Vertical):
    """An answer: a header naming backend:model, folded thinking, the Markdown body, a mark."""

    DEFAULT_CSS = """
    AssistantMessage { height: auto; margin: 1 0 0 0; }
    AssistantMessage > .header { color: $text-muted; padding: 0 1; }
    AssistantMessage > StreamingMarkdown { margin: 0; }
    AssistantMessage > Collapsible { padding: 0; margin: 0; border: none; }
    AssistantMessage > .mark { padding: 0 1; color: $warning; }
    AssistantMessage > .mark.-failed { color: $error; }
    """

    def __init__(
        self,
        backend: str | None,
        model: str | None,
        *,
        text: str = "",
        thinking: str = "",
        status: str = "streaming",
        error: str | None = None,
    ) -> None:
        super().__init__()
        text, thinking = printable(text), printable(thinking)
        self._restored = (status, error and printable(error))
        self.error = self._restored[1]
        self.backend = backend and printable(backend)
        self.model = model and printable(model)
        self._initial = text
        self._parts: list[str] = []
        self._thinking_parts: list[str] = [thinking] if thinking else []
        self._thinking_dirty = False  # thinking arrived since the last frame
        self._stream: StreamingMarkdown | None = None
        self._markdown: StreamingMarkdown | None = None  # once composed
        self._timer: Timer | None = None
        self._drawn_at = 0.0  # when the last frame drew (or the stream started)
        self.status = status
        self.mounted = asyncio.Event()

    def on_mount(self) -> None:
        self.mounted.set()
        if isinstance(self.parent, MessageList):
            # the chat's hint goes in the frame that shows the answer (and its question)
            self.parent.drop_empty()

    def compose(self) -> ComposeResult:
        who = ":".join(x for x in (self.backend, self.model) if x) or "assistant"
        yield _Header(who, classes="header", markup=False)
        if self._thinking_parts:
            yield _thinking("".join(self._thinking_parts))
        status, error = self._restored
        # the text is kept once, by the Markdown widget (see ``text``)
        self._markdown = StreamingMarkdown(self._initial, sealed=status != "streaming")
        self._initial = ""
        yield self._markdown
        if status == "interrupted":
            yield Static("⏹ interrupted", classes="mark")
        elif status == "failed":
            yield Static(f"✗ failed: {error or 'unknown error'}", classes="mark -failed", markup=False)

    @property
    def markdown(self) -> StreamingMarkdown:
        return self._markdown if self._markdown is not None else self.query_one(StreamingMarkdown)

    @property
    def text(self) -> str:
        """The answer's text as drawn so far. Not a copy of its own: the Markdown widget's (a
        long chat held every answer's text twice more, here and in the conversation)."""
        return self._markdown.text if self._markdown is not None else self._initial

    # -- streaming -----------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """Text is arriving (frames are running)."""
        return self._stream is not None

    @property
    def empty(self) -> bool:
        """Nothing has arrived: no text and no thinking."""
        return not (self.text or self._parts or self._thinking_parts)

    def start_streaming(self) -> None:
        if self._stream is None:
            self._stream = self.markdown
            self._drawn_at = time.perf_counter()
            self._timer = self.set_timer(FRAME_S, self._frame)

    async def _frame(self) -> None:
        """Draw what arrived, then pace the next frame by what this one cost."""
        self._timer = None
        if self._stream is None:
            return
        t0 = time.perf_counter()
        since = t0 - self._drawn_at
        if since < FLOOD_FRAME_S and sum(map(len, self._parts)) > FLOOD_CHARS_S * since:
            self._timer = self.set_timer(FLOOD_FRAME_S - since, self._frame)  # a flood
            return
        self._drawn_at = t0
        await self._flush()
        # the frame's cost is this flush plus the layout and paint it causes: known once the
        # screen has been refreshed
        self.call_after_refresh(self._next_frame, t0)

    def _next_frame(self, t0: float) -> None:
        if self._stream is None or self._timer is not None:
            return
        cost = time.perf_counter() - t0
        # FRAME_S apart, unless drawing would take more than DRAW_SHARE of the time (a flood,
        # a slow machine): then fewer frames, never fewer than one per MAX_FRAME_S
        delay = min(MAX_FRAME_S, max(FRAME_S, cost / DRAW_SHARE)) - cost
        self._timer = self.set_timer(max(0.001, delay), self._frame)

    def append(self, text: str) -> None:
        # model text, made printable once where it enters (one regex search when clean)
        self._parts.append(printable(text))

    def append_thinking(self, text: str) -> None:
        self._thinking_parts.append(printable(text))
        self._thinking_dirty = True

    async def _flush(self) -> None:
        if self._thinking_dirty:
            self._thinking_dirty = False
            text = "".join(self._thinking_parts)
            found = self.query(Collapsible)
            if found:
                found.first().query_one(".thinking", Static).update(text)
            else:  # mounted when the first thinking arrives: most answers have none
                await self.mount(_thinking(text), before=self.markdown)
        if self._parts and self._stream is not None:
            chunk = "".join(self._parts)
            self._parts.clear()
            before = self._stream.lines
            self._stream.write(chunk)
            if self._stream.lines > before and isinstance(self.parent, MessageList):
                self.parent.expect_growth(self._stream.lines - before)

    async def finish(self, status: str = "complete", error: str | None = None) -> None:
        """Flush what is left, stop the stream and mark interrupted/failed answers."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self._flush()
        (self._stream or self.markdown).seal()  # also an answer that never got any text
        self._stream = None
        self.finished_at = time.perf_counter()
        self.status = status
        self.mark(status, error)
        if isinstance(self.parent, MessageList):
            self.parent.schedule_release()

    def mark(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error and printable(error)
        if status == "interrupted":
            self.mount(Static("⏹ interrupted", classes="mark"))
        elif status == "failed":
            self.mount(Static(printable(f"✗ failed: {error or 'unknown error'}"), classes="mark -failed", markup=False))


class _Header(OneLayout, Static):
    """An answer's first line: the backend:model that wrote it."""


def _thinking(text: str) -> Collapsible:
    return Collapsible(Static(text, classes="thinking", markup=False), title="thinking", collapsed=True)


class ToolNote(OneLayout, Static):
    """In the chat, where the answer asked for a tool: a short reference to the trace item."""

    DEFAULT_CSS = "ToolNote { padding: 0 1; color: $text-muted; }"

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)
        self.text = text
