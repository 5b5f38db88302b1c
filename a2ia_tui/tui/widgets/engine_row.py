"""One managed engine in the sidebar: status line, phase, cause + hint, progress bar, buttons.

The row only draws an ``EngineState`` (the core's frozen dataclass) and posts nested messages
for its buttons; the Sidebar decides what Start / Stop / Log do (attributes down, messages up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ...core.engines.kinds import engine_kinds

if TYPE_CHECKING:
    from ...core.engines.state import EngineState

DOTS = {
    "ready": ("●", "ansi_green"),
    "starting": ("◐", "ansi_yellow"),
    "stopping": ("◑", "ansi_yellow"),
    "failed": ("✗", "ansi_red"),
    "stopped": ("○", "#808080"),
}
#: The buttons on the row's last line, left to right: (action, label).
BUTTONS = (("start", "Start"), ("stop", "Stop"), ("log", "Log"))
#: A button's width (its label centred) and the gap after it.
BUTTON_WIDTH, BUTTON_GAP = 7, 1


class EngineRow(Widget, can_focus=True):
    """ONE widget: the status line and, below it, the phase or URL, the cause and the hint; a
    progress bar while the engine starts; then the buttons Start, Stop and Log, drawn on the last
    line. (Each widget on the first screen costs start-up time: as a Static, a container and
    three button widgets, the two rows were 12 widgets and ~15 ms of the first frame.)

    A click presses the button under the pointer. Focused (Tab), ←/→ choose a button and
    Enter/Space press it. A disabled button is dimmed, cannot be chosen, and does nothing."""

    DEFAULT_CSS = """
    EngineRow { height: auto; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("left", "choose(-1)", "Previous button", show=False),
        Binding("right", "choose(1)", "Next button", show=False),
        Binding("enter,space", "press", "Press", show=False),
    ]

    chosen: reactive[int] = reactive(0)
    """The button Enter presses (an index into :data:`BUTTONS`), shown when the row has focus."""
    hovered: reactive[int | None] = reactive(None)
    """The button under the mouse pointer."""

    class Action(Message):
        """A button of the row: ``action`` is "start", "stop" or "log"."""

        def __init__(self, engine: str, action: str) -> None:
            super().__init__()
            self.engine = engine
            self.action = action

    def __init__(self, engine: str, state: EngineState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine
        self.state = state
        self._view = _view(engine, state)

    # -- what it shows ---------------------------------------------------------------------------

    @property
    def info(self) -> str:
        """What the row says, as plain text (the status line, then phase, cause and hint)."""
        return _info(self._view).plain

    @property
    def progress(self) -> int | None:
        """The progress bar's percentage, or None when no bar is shown (not starting)."""
        return self._view.progress if self._view.bar else None

    def enabled(self, action: str) -> bool:
        """Whether the button ``action`` ("start", "stop", "log") can be pressed now."""
        return action not in self._view.disabled

    def button_offset(self, action: str) -> Offset:
        """Where the button ``action`` is, relative to the row (for a click)."""
        index = [a for a, _ in BUTTONS].index(action)
        return Offset(index * (BUTTON_WIDTH + BUTTON_GAP) + BUTTON_WIDTH // 2, self._buttons_line())

    def show(self, state: EngineState) -> None:
        """Draw one EngineState."""
        self.state = state
        old = self._view
        self._view = _view(self.engine, state)
        if not self.enabled(BUTTONS[self.chosen][0]):
            self.chosen = self._next_enabled(self.chosen, 1)
        # the text (which may wrap) or the bar changed: the row's height may have
        self.refresh(layout=_info(old).plain != self.info or old.bar != self._view.bar)

    def render(self) -> Content:
        parts: list[Any] = [_info(self._view)]
        width = self.size.width
        if self._view.bar:
            parts.append("\n")
            parts.append(_bar(self._view.progress, max(10, width)))
        parts.append("\n")
        focused = self.has_focus
        for i, (action, label) in enumerate(BUTTONS):
            if not self.enabled(action):
                style = "$foreground 40% on $surface"
            elif focused and i == self.chosen:
                style = "bold reverse $button-foreground on $surface"
            elif i == self.hovered:
                style = "bold $button-foreground on $surface-darken-1"
            else:
                style = "bold $button-foreground on $surface"
            left = (BUTTON_WIDTH - len(label)) // 2
            parts.append((" " * left + label + " " * (BUTTON_WIDTH - len(label) - left), style))
            if i < len(BUTTONS) - 1:
                parts.append(" " * BUTTON_GAP)
        return Content.assemble(*parts)

    def _buttons_line(self) -> int:
        """The row's last line (the info above it wraps in a narrow sidebar)."""
        if self.size.height:
            return self.size.height - 1
        return len(self.info.splitlines()) + (1 if self._view.bar else 0)

    # -- input -----------------------------------------------------------------------------------

    def _button_at(self, offset: Offset | None) -> int | None:
        if offset is None or offset.y != self._buttons_line():
            return None
        index, within = divmod(offset.x, BUTTON_WIDTH + BUTTON_GAP)
        return index if index < len(BUTTONS) and within < BUTTON_WIDTH else None

    def _next_enabled(self, start: int, step: int) -> int:
        for k in range(len(BUTTONS)):
            i = (start + k * step) % len(BUTTONS)
            if self.enabled(BUTTONS[i][0]):
                return i
        return start

    def watch_chosen(self) -> None:
        self.refresh()

    def watch_hovered(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.chosen = self._next_enabled(self.chosen, 1)
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_choose(self, step: int) -> None:
        self.chosen = self._next_enabled((self.chosen + step) % len(BUTTONS), step)

    def action_press(self) -> None:
        self._press(self.chosen)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self.hovered = self._button_at(event.get_content_offset(self))

    def on_leave(self) -> None:
        self.hovered = None

    def on_click(self, event: events.Click) -> None:
        index = self._button_at(event.get_content_offset(self))
        if index is not None:
            event.stop()
            self.chosen = index if self.enabled(BUTTONS[index][0]) else self.chosen
            self._press(index)

    def _press(self, index: int) -> None:
        action = BUTTONS[index][0]
        if self.enabled(action):
            self.post_message(self.Action(self.engine, action))


def _bar(percent: int, width: int) -> Content:
    """A progress bar as text: the done part, the rest, then the percentage."""
    room = max(4, width - 5)
    done = room * percent / 100
    full = int(done)
    half = "╸" if done - full >= 0.5 and full < room else ""
    rest = room - full - len(half)
    return Content.assemble(("━" * full + half, "$primary"), ("━" * rest, "$surface"), f"{percent:>4}%")


@dataclass(frozen=True)
class _RowView:
    """What the row shows for one EngineState."""

    title: Content
    detail: str
    bar: bool  # the progress bar (while starting)
    progress: int  # percent
    cause: str
    hint: str
    disabled: frozenset[str]  # the buttons that cannot act now: "start", "stop"


def _info(v: _RowView) -> Content:
    """The status line, then one line each for the detail, the cause and the hint (when set)."""
    parts: list[Any] = [v.title]
    for text, style in ((v.detail, "$foreground-muted"), (v.cause, "$error"), (v.hint, "$warning")):
        if text:
            parts.append(("\n" + text, style))
    return Content.assemble(*parts)


def _view(engine: str, state: EngineState) -> _RowView:
    """What the row shows for one EngineState."""
    status, phase, url, progress = state.status, state.phase, state.url, state.progress
    cause_text, hint_text = state.cause, state.hint
    dot, color = DOTS.get(status, ("?", "#808080"))
    title = Content.assemble((dot + " ", color), (engine_label(engine), "bold"), f"  {status}")
    detail = phase
    if status == "starting" and phase == "downloading" and state.detail:
        detail = f"downloading {state.detail}"  # the bytes and percent (core/models/hfcache.py)
    elif status == "ready" and url:
        detail = url
    elif status == "failed" and phase:
        detail = f"while {phase}"
    failed = status == "failed"
    managed = state.managed
    disabled = set()
    if not managed or status in ("starting", "ready", "stopping"):
        disabled.add("start")
    if not managed or status not in ("starting", "ready"):
        disabled.add("stop")
    return _RowView(
        title=title,
        detail=detail,
        bar=status == "starting",
        progress=round(max(0.0, min(1.0, progress)) * 100),
        cause=f"cause: {cause_text}" if failed and cause_text else "",
        hint=f"hint: {hint_text}" if failed and hint_text else "",
        disabled=frozenset(disabled),
    )


def engine_label(name: str) -> str:
    """An engine's name for people ("vLLM"), from the engine registry."""
    kind = engine_kinds().get(name)
    return kind.label if kind is not None else name


def engine_backend(name: str) -> str:
    """The settings backend named after an engine ("vllm" / "local"), from the engine registry."""
    kind = engine_kinds().get(name)
    return kind.backend if kind is not None else name
