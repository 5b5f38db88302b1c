"""The chat pane (:class:`ChatView`): the messages of :mod:`.messages`, one widget each.

The pane is ``anchor()``-ed: it follows the stream until the user scrolls up, and follows again
once they scroll back to the bottom.

Lazy mounting: :meth:`ChatView.show_conversation` mounts only the last :data:`PAGE` messages;
an "earlier messages" button above them mounts the previous page when pressed (or when the user
scrolls to the top), so a 1,000-message conversation opens as fast as a 50-message one. A long
live chat goes the same way (:meth:`ChatView.release_far`): while the view follows the end, the
messages far above it are unmounted, kept only as what makes them again, behind that button.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import RenderResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.reactive import Reactive
from textual.widget import AwaitMount, Widget
from textual.widgets import Button

from ...core.textsafe import printable
from ..appstate import AppState
from ..branches import mark
from ..patches import ClampedAnchor, OneLayout, forget_painted, forget_removed
from .messages import AssistantMessage, MessageList, NoteMessage, ToolNote, UserMessage

if TYPE_CHECKING:
    from textual.timer import Timer

    from ...core.agent.conversation import Conversation, Entry

PAGE = 40
#: Answers farther than this many screens above or below the view let their rendered lines go
#: (see ChatView.release_far)...
KEEP_SCREENS = 1
RELEASE_S = 0.5  # ...looked at this long after a scroll or an answer's end
#: While the view follows the end, messages farther above it than KEEP_SCREENS screens are
#: unmounted (a mounted answer keeps ~460 KB of widgets and Textual's layout records; unmounted,
#: its text), once at least this many are: a few at a time, not one per answer
UNMOUNT_MIN = 8


HINT = "Type a message below and press Enter. ctrl+p: commands."


class ChatView(OneLayout, ClampedAnchor, VerticalScroll, MessageList):
    COMPONENT_CLASSES = {"chatview--hint"}
    #: no message yet: the chat draws its hint (a change repaints the hint's rows)
    empty: Reactive[bool] = Reactive(True, layout=False, repaint=False)
    DEFAULT_CSS = """
    ChatView { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    ChatView > #earlier { width: 100%; margin: 1 0 0 0; }
    ChatView > .chatview--hint { color: $text-muted; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: what makes the messages not mounted above the chat's first page, oldest first: an
        #: entry of a restored conversation, or a message unmounted by release_far
        self._pending_entries: list = []
        #: Lines above the messages that have alternatives, by ``id(entry)`` (see _marks).
        self._marks: dict[int, str] = {}
        self._quiet_mount = False
        self._release_timer: Timer | None = None
        self._earlier_lock = asyncio.Lock()

    def call_next(self, callback, *args, **kwargs) -> None:
        """Textual's ``mount`` schedules its ``AwaitMount`` here; once the new widgets are
        mounted it asks for a layout of the chat. For an answer's widget that request is not
        needed: the answer composes its children and asks for a layout of the chat itself, which
        places everything mounted with it. In a busy turn the two requests landed on either
        side of that layout: a second layout and repaint of the screen at the start of every
        answer. :meth:`_mount_answer` drops it."""
        if self._quiet_mount and isinstance(callback, AwaitMount):
            return
        super().call_next(callback, *args, **kwargs)

    def expect_growth(self, lines: int) -> None:
        """A message has grown by ``lines`` and asked for a layout. If the chat will overflow,
        its scrollbar is shown now, placed by that same layout: shown by the layout itself, it
        needed a second one just after, which redrew every row of the chat (the compositor
        redraws whole rows) in the middle of the first long answer."""
        if self.show_vertical_scrollbar or self.styles.overflow_y != "auto" or not self.container_size:
            return
        if self.virtual_size.height + lines > self.container_size.height:
            self.show_vertical_scrollbar = True
            self.vertical_scrollbar.display = True

    def _mount_answer(self, *widgets: Widget) -> None:
        """Mount ``widgets``, the last an :class:`AssistantMessage`, asking for one layout."""
        assert isinstance(widgets[-1], AssistantMessage)
        self._quiet_mount = True
        try:
            self.mount_all(widgets)
        finally:
            self._quiet_mount = False

    def render(self) -> RenderResult:
        """An empty chat draws its hint itself: a child widget for it was composed after the
        screen's first layout about one start in two, so the first frame lacked it and a second
        layout and frame followed."""
        if not self.empty:
            return ""
        from rich.padding import Padding

        return Padding(Text(HINT, style=self.get_component_rich_style("chatview--hint")), (1, 1))

    def on_mount(self) -> None:
        self.anchor()

    # -- a long chat: only what is near the view stays rendered ---------------------------------

    def schedule_release(self) -> None:
        """Look soon at which answers are far from the view (:meth:`release_far`)."""
        if self._release_timer is None and self.is_mounted:
            self._release_timer = self.set_timer(RELEASE_S, self.release_far)

    def release_far(self) -> int:
        """Answers more than :data:`KEEP_SCREENS` screens above or below the view let their
        rendered lines go (:meth:`StreamingMarkdown.release`: heights kept, text kept, lines
        rendered again when scrolled back to), and Textual's record of their painted lines
        (filled again when a far answer settles: so looked at again each time); those near it
        keep theirs. The answer being streamed is never let go. Returns how many were let go.
        Costs a look at each answer's place: done once per answer, and after the user scrolls."""
        self._release_timer = None
        height = self.container_size.height
        if not height:
            return 0
        top = self.scroll_y - KEEP_SCREENS * height
        bottom = self.scroll_y + (1 + KEEP_SCREENS) * height
        released = 0
        for child in self.children:
            if not isinstance(child, AssistantMessage) or child.streaming:
                continue
            markdown = child._markdown
            if markdown is None:  # (not composed yet)
                continue
            region = child.virtual_region  # in the chat's scrolled space
            if region.bottom < top or region.y > bottom:
                if not markdown.far or markdown.rendered_lines:
                    markdown.release()
                    released += 1
                forget_painted(markdown)
                forget_painted(child)  # (the answer's own lines: its background)
            else:
                markdown.far = False
        if self.is_vertical_scroll_end:
            self._unmount_far(top)
        return released

    def _unmount_far(self, top: float) -> None:
        """Unmount the messages that end above ``top`` (the first ones: the view is at the end),
        keeping what makes each again (its text, not its widgets) behind the "earlier messages"
        button, whose pages mount them again as they were."""
        if self._earlier_lock.locked():  # a page is being mounted (or its button removed)
            return
        far: list[Widget] = []
        for child in self.children:
            if isinstance(child, Button) and child.id == "earlier":
                continue
            if child.virtual_region.bottom >= top or _remake(child, {}) is None:
                break
            far.append(child)
        if len(far) < UNMOUNT_MIN:
            return
        # the conversation's own strings where they are the same text: then kept once, not twice
        app = self.app
        conversation = app.current_conversation if isinstance(app, AppState) else None
        texts = {
            e.message.content: e.message.content
            for e in (conversation.entries if conversation is not None else ())
            if e.message.role == "assistant" and e.message.content
        }
        self._pending_entries.extend(_remake(w, texts) for w in far)
        label = f"▲ {len(self._pending_entries)} earlier messages"
        found = self.query_children("#earlier")
        if found:
            found.first(Button).label = label
        else:
            self.mount(Button(label, id="earlier"), before=0)
        self.remove_children(far)
        forget_removed(self)

    def on_resize(self) -> None:
        self.schedule_release()

    def watch_empty(self) -> None:
        # Only the rows of the hint (at the top: a blank row, the text, a blank row): a repaint
        # of the whole chat would redraw all its rows as the first question is sent.
        width, height = self.content_size
        rows = 2 + -(-len(HINT) // max(1, width - 2))
        self.refresh(Region(0, 0, width, min(height, rows)))

    def drop_empty(self) -> None:
        self.empty = False

    def add_user(self, text: str) -> UserMessage:
        self.drop_empty()
        w = UserMessage(text)
        self.mount(w)
        self.anchor()
        return w

    def add_note(self, text: str, level: str = "info") -> NoteMessage:
        self.drop_empty()
        w = NoteMessage(text, level)
        self.mount(w)
        return w

    def add_tool_note(self, name: str) -> ToolNote:
        w = _tool_note(name)
        self.mount(w)
        return w

    def add_exchange(self, text: str, backend: str | None, model: str | None) -> AssistantMessage:
        """A question and the (empty) answer's widget, mounted together (one layout of the screen
        instead of two); wait for ``answer.mounted`` before streaming into it.

        Not the ``AwaitMount``: awaiting it asks for a layout of the chat, which Textual has
        already done when it mounted the two (a second await came after that layout: a second
        layout of the screen for nothing).

        The chat's hint, if it shows, is removed when the answer is mounted (see
        :meth:`AssistantMessage.on_mount`): removed now, it was drawn away in a frame of its
        own just before the one that shows the two."""
        answer = AssistantMessage(backend, model)
        self._mount_answer(UserMessage(text), answer)
        self.anchor()
        return answer

    async def add_assistant(self, backend: str | None, model: str | None) -> AssistantMessage:
        """A new answer, mounted; its frames start with :meth:`AssistantMessage.start_streaming`."""
        self.drop_empty()
        w = AssistantMessage(backend, model)
        self._mount_answer(w)
        await w.mounted.wait()  # not the AwaitMount (see add_exchange)
        return w

    async def clear(self) -> None:
        self._pending_entries = []
        self._marks = {}
        if self._release_timer is not None:
            self._release_timer.stop()
            self._release_timer = None
        await self.remove_children()
        forget_removed(self)
        self.empty = True
        self.anchor()

    # -- restoring a saved conversation (lazy) -------------------------------------------------

    async def show_conversation(self, conversation: Conversation) -> None:
        await self.remove_children()
        forget_removed(self)
        entries = [e for e in conversation.entries if e.message.role != "system"]
        self.empty = not entries
        self._marks = _marks(conversation)
        self._pending_entries = entries[:-PAGE] if len(entries) > PAGE else []
        shown = entries[-PAGE:]
        widgets = [w for e in shown for w in self._widgets_for(e)]
        if self._pending_entries:
            widgets.insert(0, Button(f"▲ {len(self._pending_entries)} earlier messages", id="earlier"))
        await self.mount_all(widgets)
        self.anchor()
        self.scroll_end(animate=False)
        self.schedule_release()

    def _widgets_for(self, entry: Entry) -> list:
        mark = self._marks.get(id(entry))
        return ([NoteMessage(mark, "branch")] if mark else []) + _widgets_for(entry)

    async def show_earlier(self) -> None:
        # one page at a time: a scroll to the top asks too, and two at once took the same button
        async with self._earlier_lock:
            await self._show_earlier()

    async def _show_earlier(self) -> None:
        if not self._pending_entries or not self.query_children("#earlier"):
            return
        page = self._pending_entries[-PAGE:]
        self._pending_entries = self._pending_entries[:-PAGE]
        button = self.query_one("#earlier", Button)
        widgets = [w for e in page for w in (e() if callable(e) else self._widgets_for(e))]
        await self.mount_all(widgets, after=button)
        if self._pending_entries:
            button.label = f"▲ {len(self._pending_entries)} earlier messages"
        else:
            await button.remove()
        self.schedule_release()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "earlier":
            event.stop()
            await self.show_earlier()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        app = self.app
        if not (isinstance(app, AppState) and app.turn_running):  # (during a turn: at the answer's end)
            self.schedule_release()
        if new == 0 and old > 0 and self._pending_entries:
            self.call_later(self.show_earlier)


def _remake(widget: Widget, texts: dict[str, str]):
    """What makes ``widget`` again (a list of one widget), or None for a widget that cannot be
    unmounted: one being streamed, or not a message. Holds its text (the string in ``texts``
    equal to it, if any), not the widget."""
    if isinstance(widget, AssistantMessage):
        if widget.streaming or widget.status == "streaming" or widget._markdown is None:
            return None
        thinking = "".join(widget._thinking_parts)
        text = texts.get(widget.text, widget.text)
        return partial(
            _one,
            AssistantMessage,
            widget.backend,
            widget.model,
            text=text,
            thinking=thinking,
            status=widget.status,
            error=widget.error,
        )
    if isinstance(widget, UserMessage):
        return partial(_one, UserMessage, widget.text)
    if isinstance(widget, NoteMessage):
        return partial(_one, NoteMessage, widget.text, widget.level)
    if isinstance(widget, ToolNote):
        return partial(_one, ToolNote, widget.text)
    return None


def _marks(conversation: Conversation) -> dict[int, str]:
    """The lines above messages that have alternatives, by ``id(entry)``; the last one names the
    keys that flip it."""
    found = conversation.alternatives()
    last = max(found, default=None)
    return {
        id(conversation.entries[i]): mark(conversation.entries[i].message.role, place, count, keys=i == last)
        for i, (place, count) in found.items()
    }


def _one(cls: type, *args, **kwargs) -> list:
    return [cls(*args, **kwargs)]


def _widgets_for(entry: Entry) -> list:
    msg, meta = entry.message, entry.meta
    if msg.role == "user":
        images = f"\n({len(msg.images)} image(s) attached)" if msg.images else ""
        return [UserMessage(msg.content + images)]
    if msg.role == "tool":
        return []  # shown in the trace pane
    out: list = []
    # As the live chat shows it: a reply that was only tool calls has no answer of its own, just
    # the notes (a failed or stopped one keeps its mark)
    if msg.content or msg.thinking or not msg.tool_calls or meta.status in ("interrupted", "failed"):
        out.append(
            AssistantMessage(
                meta.backend,
                meta.model,
                text=msg.content,
                thinking=msg.thinking or "",
                status=meta.status,
                error=meta.error,
            )
        )
    out.extend(_tool_note(call.name) for call in msg.tool_calls)
    return out


def _tool_note(name: str) -> ToolNote:
    return ToolNote(printable(f"→ called {name} (see the trace)"))
