"""The tool-call trace: one :class:`TraceItem` per call, mounted when the call starts.

An item shows ``server · tool``, its arguments (pretty JSON, collapsible), a spinner while the
call runs and then ✓ / ✗ with the duration, and a preview of the result (first lines) that
expands to the full result. An approval request is shown inline in the item with the
arguments; the item takes focus and ``y`` (allow), ``n`` (decline) or ``a`` (always allow this
tool) resolve the orchestrator's future. Items are only ever mounted or updated, never the
whole pane recomposed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Collapsible, Static

from .anchored import ClampedAnchor
from .release import forget_removed

if TYPE_CHECKING:
    from ...core.agent.events import (
        Approval,
        ApprovalNeeded,
        ToolCallFinished,
        ToolCallRequested,
    )

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
PREVIEW_LINES = 3


def _pretty(call: "ToolCallRequested") -> str:
    if call.raw_arguments is not None and not call.arguments:
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False, indent=2)


class TraceItem(Vertical, can_focus=True):
    BINDINGS = [
        Binding("y", "answer('allow')", "Allow", show=False),
        Binding("n", "answer('deny')", "Decline", show=False),
        Binding("a", "answer('always')", "Always", show=False),
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

        def __init__(self, item: "TraceItem", approval: Approval) -> None:
            super().__init__()
            self.item = item
            self.approval = approval

    def __init__(self, call: "ToolCallRequested", animate: bool = True) -> None:
        super().__init__()
        self.call = call
        self.state = "running"  # running | approval | ok | error | declined | cancelled
        self._future = None
        self._frame = 0
        self._animate = animate
        self._spin_timer = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title", markup=False)
        args = _pretty(self.call)
        with Collapsible(title="arguments", collapsed=args.count("\n") > 8, classes="args"):
            yield Static(args, markup=False)

    def on_mount(self) -> None:
        if self._animate:
            self._spin_timer = self.set_interval(0.1, self._spin)

    def _spin(self) -> None:
        self._frame += 1
        self.query_one(".title", Static).update(self._title())

    def _title(self) -> Table:
        """``✓ server · tool`` and, once finished, the duration at the right; a name too long
        for the pane is cut with "…", so the duration never wraps onto a line of its own."""
        where = f"{self.call.server} · " if self.call.server else ""
        glyph = {
            "running": SPINNER[self._frame % len(SPINNER)] if self._animate else "…",
            "approval": "?",
            "ok": "✓",
            "error": "✗",
            "declined": "⊘",
            "cancelled": "⏹",
        }[self.state]
        dur = getattr(self, "_duration", None)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        cells = [Text(f"{glyph} {where}{self.call.name}")]
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

    def ask(self, request: "ApprovalNeeded") -> None:
        self._future = request.future
        self._set_state("approval")
        self.mount(Static(f"Run this tool ({request.reason})?  [y] yes  [n] no  [a] always", classes="ask", markup=False))
        self.focus()

    @property
    def pending(self) -> bool:
        return self._future is not None and not self._future.done()

    def action_answer(self, answer: str) -> None:
        if not self.pending:
            return
        # imported here: the event dataclasses are not needed for the first frame
        from ...core.agent.events import Approval

        approval = Approval(answer)
        self._future.set_result(approval)
        for w in self.query(".ask"):
            w.remove()
        if approval is Approval.DENY:
            self._set_state("declined")
        else:
            self._set_state("running")
            if self._animate and self._spin_timer is None:
                self._spin_timer = self.set_interval(0.1, self._spin)
        self.post_message(self.Answered(self, approval))

    def cancel(self) -> None:
        if self.pending:
            self._future.cancel()
        for w in self.query(".ask"):
            w.remove()
        if self.state in ("running", "approval"):
            self._set_state("cancelled")

    # -- result --------------------------------------------------------------------------------

    def finish(self, event: "ToolCallFinished") -> None:
        self._duration = event.duration_s
        if self.state != "declined":
            self._set_state("error" if event.is_error else "ok")
        lines = event.result.splitlines() or [""]
        preview = "\n".join(lines[:PREVIEW_LINES])
        self.mount(Static(preview, classes="preview", markup=False))
        if len(lines) > PREVIEW_LINES:
            self.mount(Collapsible(Static(event.result, markup=False), title=f"full result ({len(lines)} lines)",
                                   collapsed=True, classes="full"))


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
    """
    COMPONENT_CLASSES = {"tracepane--empty"}
    EMPTY = "No tool calls yet."

    def __init__(self, animate: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = " Tool calls "
        self.animate_spinners = animate
        self.items: dict[str, TraceItem] = {}

    def render(self) -> Text | str:
        if self.items:
            return ""
        return Text(self.EMPTY, style=self.get_component_rich_style("tracepane--empty"))

    async def add_call(self, call: "ToolCallRequested") -> TraceItem:
        if not self.items:
            self.refresh()  # the "no calls" line goes
        item = TraceItem(call, animate=self.animate_spinners)
        self.items[call.id] = item
        await self.mount(item)
        self.anchor()
        return item

    async def ask(self, request: "ApprovalNeeded") -> TraceItem:
        item = self.items.get(request.call.id) or await self.add_call(request.call)
        item.ask(request)
        self.scroll_to_widget(item, animate=False)
        return item

    def finish(self, event: "ToolCallFinished") -> None:
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
        await self.remove_children()
        forget_removed(self)
        self.refresh()
