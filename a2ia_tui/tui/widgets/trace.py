"""The tool-call trace: one :class:`TraceItem` per call, mounted when the call starts.

An item shows ``server · tool``, its arguments (pretty JSON, collapsible), a spinner while the
call runs and then ✓ / ✗ with the duration, and a preview of the result (first lines) that
expands to the full result. An approval request is shown inline in the item with the
arguments. Only a deliberate key answers it: the item does not take the focus itself (the app
gives it the focus when no key meant for the prompt can land on it, see :class:`KeyQuiet`;
until then it says it is waiting and how to reach it: :data:`REACH_KEY` or a click). Once it
has the focus, ``y`` (allow) or ``n`` (decline) resolve the orchestrator's future; ``a``
(always allow this tool) asks for a confirmation first. Items are only ever mounted or updated,
never the whole pane recomposed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Collapsible, Static

from ...core.textsafe import printable
from ..patches import ClampedAnchor, forget_removed

if TYPE_CHECKING:
    import asyncio

    from textual.timer import Timer

    from ...core.agent.events import (
        Approval,
        ApprovalNeeded,
        ToolCallFinished,
        ToolCallRequested,
    )

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
PREVIEW_LINES = 3
#: The app's key that gives a waiting approval the focus (from anywhere on the main screen).
REACH_KEY = "ctrl+y"


class KeyQuiet:
    """When a waiting approval may take the keyboard: no key (or paste) for ``quiet_s`` seconds.

    Why: an approval that took the focus as it appeared received the rest of the sentence being
    typed, and a ``y`` or an ``a`` in it answered. ``clock`` is monotonic and injectable, so
    tests move time on instead of sleeping.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, quiet_s: float = 1.0) -> None:
        self.clock = clock
        self.quiet_s = quiet_s
        self.last_key = -math.inf

    def touch(self) -> None:
        self.last_key = self.clock()

    def quiet(self) -> bool:
        return self.clock() - self.last_key >= self.quiet_s


def _pretty(call: ToolCallRequested) -> str:
    # the model wrote these: control sequences are shown as control pictures, never obeyed
    if call.raw_arguments is not None and not call.arguments:
        return printable(call.raw_arguments)
    return printable(json.dumps(call.arguments, ensure_ascii=False, indent=2))


class TraceItem(Vertical, can_focus=True):
    BINDINGS = [
        Binding("y", "answer('allow')", "Allow", show=False),
        Binding("n", "answer('deny')", "Decline", show=False),
        Binding("a", "answer('always')", "Always…", show=False),  # confirmed in a dialog
    ]
    DEFAULT_CSS = """
    TraceItem { height: auto; border: round $panel-lighten-2; padding: 0 1; margin: 0 0 1 0; }
    TraceItem:focus { border: round $accent; }
    TraceItem.-approval { border: round $warning; }
    TraceItem.-error { border: round $error; }
    TraceItem > .title { text-style: bold; }
    TraceItem > Collapsible { padding: 0; margin: 0; border: none; }
    TraceItem > .ask { color: $warning; text-style: bold; }
    TraceItem > .preview { color: $text-muted; }
    """

    class Answered(Message):
        """Fact: the user answered this item's approval request."""

        def __init__(self, item: TraceItem, approval: Approval) -> None:
            super().__init__()
            self.item = item
            self.approval = approval

    def __init__(self, call: ToolCallRequested, animate: bool = True) -> None:
        super().__init__()
        self.call = call
        self.state = "running"  # running | approval | ok | error | declined | cancelled
        self._future: asyncio.Future[Approval] | None = None
        self._reason = ""
        self._frame = 0
        self._spinning = animate  # (not _animate: Widget keeps its animator there)
        self._spin_timer: Timer | None = None
        self._duration: float | None = None  # once finished

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", markup=False)
        args = _pretty(self.call)
        with Collapsible(title="arguments", collapsed=args.count("\n") > 8, classes="args"):
            yield Static(args, markup=False)

    def on_mount(self) -> None:
        if self._spinning:
            self._spin_timer = self.set_interval(0.1, self._spin)

    def _spin(self) -> None:
        self._frame += 1
        self.query_one(".title", Static).update(self._title())

    def _title(self) -> Table:
        """``✓ server · tool`` and, once finished, the duration at the right; a name too long
        for the pane is cut with "…", so the duration never wraps onto a line of its own."""
        where = f"{self.call.server} · " if self.call.server else ""
        glyph = {
            "running": SPINNER[self._frame % len(SPINNER)] if self._spinning else "…",
            "approval": "?",
            "ok": "✓",
            "error": "✗",
            "declined": "⊘",
            "cancelled": "⏹",
        }[self.state]
        dur = self._duration
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        cells = [Text(printable(f"{glyph} {where}{self.call.name}"))]
        if dur is not None:
            grid.add_column(justify="right", no_wrap=True)
            cells.append(Text(f"  {dur:.2f} s"))
        grid.add_row(*cells)
        return grid

    def _set_state(self, state: str) -> None:
        self.state = state
        if state != "running" and self._spin_timer is not None:
            self._spin_timer.stop()
            self._spin_timer = None
        self.set_class(state == "approval", "-approval")
        self.set_class(state == "error", "-error")
        self.query_one(".title", Static).update(self._title())

    # -- approval ------------------------------------------------------------------------------

    def ask(self, request: ApprovalNeeded) -> None:
        """Show the request. The item does not take the focus: the app gives it (see the module
        docstring)."""
        self._future = request.future
        self._reason = request.reason
        self._set_state("approval")
        self.mount(Static(self._ask_text(), classes="ask", markup=False))

    def _ask_text(self) -> str:
        if self.has_focus_within:
            return printable(f"Run this tool ({self._reason})?  [y] yes  [n] no  [a] always…")
        return f"Waiting for your answer: press {REACH_KEY} or click here (or leave the prompt empty for a second)"

    def _refresh_ask(self) -> None:
        if self.pending:
            for w in self.query(".ask").results(Static):
                w.update(self._ask_text())

    # the line says what the keys do now: y / n / a once the item has the keyboard, how to give
    # it the keyboard before (focus moves with a click on its arguments too)
    def on_focus(self) -> None:
        self._refresh_ask()

    def on_blur(self) -> None:
        self._refresh_ask()

    def on_descendant_focus(self) -> None:
        self._refresh_ask()

    def on_descendant_blur(self) -> None:
        self._refresh_ask()

    @property
    def pending(self) -> bool:
        return self._future is not None and not self._future.done()

    def action_answer(self, answer: str) -> None:
        if not self.pending:
            return
        if answer == "always":
            # "do not ask again" must not come from one stray key: a dialog where only Tab +
            # Enter or a click says yes (its focus starts on "Cancel")
            from ..screens.dialogs import AlwaysAllowScreen

            self.app.push_screen(AlwaysAllowScreen(self.call.name), self._always_confirmed)
            return
        self._resolve(answer)

    def _always_confirmed(self, yes: bool | None) -> None:
        if yes and self.pending:
            self._resolve("always")

    def _resolve(self, answer: str) -> None:
        # imported here: the event dataclasses are not needed for the first frame
        from ...core.agent.events import Approval

        approval = Approval(answer)
        assert self._future is not None  # the callers check `pending`
        self._future.set_result(approval)
        for w in self.query(".ask"):
            w.remove()
        if approval is Approval.DENY:
            self._set_state("declined")
        else:
            self._set_state("running")
            if self._spinning and self._spin_timer is None:
                self._spin_timer = self.set_interval(0.1, self._spin)
        self.post_message(self.Answered(self, approval))

    def cancel(self) -> None:
        if self._future is not None and not self._future.done():  # `pending`, spelled out for mypy
            self._future.cancel()
        for w in self.query(".ask"):
            w.remove()
        if self.state in ("running", "approval"):
            self._set_state("cancelled")

    # -- result --------------------------------------------------------------------------------

    def finish(self, event: ToolCallFinished) -> None:
        self._duration = event.duration_s
        if self.state != "declined":
            self._set_state("error" if event.is_error else "ok")
        result = printable(event.result)  # tool output: a file's bytes, a command's output...
        lines = result.splitlines() or [""]
        preview = "\n".join(lines[:PREVIEW_LINES])
        self.mount(Static(preview, classes="preview", markup=False))
        if len(lines) > PREVIEW_LINES:
            self.mount(
                Collapsible(
                    Static(result, markup=False),
                    title=f"full result ({len(lines)} lines)",
                    collapsed=True,
                    classes="full",
                )
            )


class TracePane(ClampedAnchor, VerticalScroll):
    """The tool calls, one :class:`TraceItem` each. Without any, the pane draws "No tool calls
    yet." itself (a child widget for it cost start-up time, as each widget on the first screen
    does)."""

    DEFAULT_CSS = """
    TracePane {
        height: 1fr; padding: 0 1;
        border-top: solid $panel-lighten-2;
        border-title-align: left; border-title-color: $text-muted; border-title-style: bold;
    }
    TracePane > .tracepane--empty { color: $text-muted; }
    TracePane > .note { color: $warning; margin-bottom: 1; }
    """
    COMPONENT_CLASSES = {"tracepane--empty"}
    EMPTY = "No tool calls yet."

    def __init__(self, animate: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = " Tool calls "
        self.animate_spinners = animate
        self.items: dict[str, TraceItem] = {}
        self.notes = 0

    def render(self) -> Text | str:
        if self.items or self.notes:
            return ""
        return Text(self.EMPTY, style=self.get_component_rich_style("tracepane--empty"))

    async def add_note(self, text: str) -> None:
        """A warning above the calls (e.g. a workspace that is the home directory)."""
        self.notes += 1
        self.refresh()  # the "no calls" line goes
        await self.mount(Static(f"⚠ {text}", classes="note", markup=False))

    async def add_call(self, call: ToolCallRequested) -> TraceItem:
        if not self.items:
            self.refresh()  # the "no calls" line goes
        item = TraceItem(call, animate=self.animate_spinners)
        self.items[call.id] = item
        await self.mount(item)
        self.anchor()
        return item

    async def ask(self, request: ApprovalNeeded) -> TraceItem:
        item = self.items.get(request.call.id) or await self.add_call(request.call)
        item.ask(request)
        self.scroll_to_widget(item, animate=False)
        return item

    def finish(self, event: ToolCallFinished) -> None:
        item = self.items.get(event.id)
        if item is not None:
            item.finish(event)

    def pending_item(self) -> TraceItem | None:
        return next((i for i in self.items.values() if i.pending), None)

    def cancel_all(self) -> None:
        for item in self.items.values():
            item.cancel()

    async def clear(self) -> None:
        self.items.clear()
        await self.remove_children(TraceItem)  # the notes stay: they are about the session
        forget_removed(self)
        self.refresh()
