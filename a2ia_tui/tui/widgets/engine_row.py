"""One managed engine in the sidebar: status line, phase, progress bar, cause + hint, buttons.

The row only draws an ``EngineState`` (the core's frozen dataclass) and posts nested messages
for its buttons; the Sidebar decides what Start / Stop / Log do (attributes down, messages up).
"""

from __future__ import annotations

from typing import Any

from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

LABELS = {"vllm": "vLLM", "local": "local llama.cpp"}
DOTS = {"ready": ("●", "green"), "starting": ("◐", "yellow"), "stopping": ("◑", "yellow"),
        "failed": ("✗", "red"), "stopped": ("○", "grey50")}


class EngineRow(Vertical):
    DEFAULT_CSS = """
    EngineRow { height: auto; margin-bottom: 1; }
    EngineRow > .engine-title { height: 1; }
    EngineRow > .engine-detail { color: $text-muted; height: auto; }
    EngineRow > .engine-cause { color: $error; height: auto; }
    EngineRow > .engine-hint { color: $warning; height: auto; }
    EngineRow > ProgressBar { height: 1; }
    EngineRow > ProgressBar Bar { width: 1fr; }
    EngineRow > Horizontal { height: auto; }
    EngineRow Button { min-width: 7; width: auto; margin-right: 1; }
    """

    class Action(Message):
        """A button of the row: ``action`` is "start", "stop" or "log"."""

        def __init__(self, engine: str, action: str) -> None:
            super().__init__()
            self.engine = engine
            self.action = action

    def __init__(self, engine: str, state: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine
        self.state = state
        self._drawn: Any = None

    def compose(self):
        # Built already showing the state: drawing it on mount instead restyled the buttons and
        # re-laid the sidebar out once more before the first frame.
        v = _view(self.engine, self.state)
        # a bar with progress is drawn by show() on mount (ProgressBar.update keeps the ETA)
        self._drawn = None if v["progress"] else self.state
        yield Static(v["title"], classes="engine-title", markup=False)
        detail = Static(v["detail"], classes="engine-detail", markup=False)
        detail.display = bool(v["detail"])
        yield detail
        bar = ProgressBar(total=100, show_eta=False, show_percentage=True)
        bar.display = v["bar"]
        yield bar
        for name in ("cause", "hint"):
            line = Static(v[name], classes=f"engine-{name}", markup=False)
            line.display = bool(v[name])
            yield line
        with Horizontal():
            yield Button("Start", id=f"engine-start-{self.engine}", classes="start", compact=True,
                         disabled=v["start_disabled"])
            yield Button("Stop", id=f"engine-stop-{self.engine}", classes="stop", compact=True,
                         disabled=v["stop_disabled"])
            yield Button("Log", id=f"engine-log-{self.engine}", classes="log", compact=True)

    def on_mount(self) -> None:
        if self.state is not self._drawn:  # changed between compose and mount
            self.show(self.state)

    def show(self, state: Any) -> None:
        """Draw one EngineState."""
        self.state = state
        if not self.children:  # not composed yet: compose draws it
            return
        v = _view(self.engine, state)
        self._drawn = state
        self.query_one(".engine-title", Static).update(v["title"])
        self.query_one(".engine-detail", Static).update(v["detail"])
        self.query_one(".engine-detail", Static).display = bool(v["detail"])
        bar = self.query_one(ProgressBar)
        bar.display = v["bar"]
        bar.update(progress=v["progress"])
        cause = self.query_one(".engine-cause", Static)
        hint = self.query_one(".engine-hint", Static)
        cause.update(v["cause"])
        hint.update(v["hint"])
        cause.display = bool(v["cause"])
        hint.display = bool(v["hint"])
        self.query_one(".start", Button).disabled = v["start_disabled"]
        self.query_one(".stop", Button).disabled = v["stop_disabled"]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        for action in ("start", "stop", "log"):
            if event.button.has_class(action):
                self.post_message(self.Action(self.engine, action))


def _view(engine: str, state: Any) -> dict[str, Any]:
    """What the row shows for one EngineState."""
    from rich.text import Text

    status = getattr(state, "status", "stopped")
    phase, url, progress = getattr(state, "phase", ""), getattr(state, "url", ""), getattr(state, "progress", 0.0)
    cause_text, hint_text = getattr(state, "cause", ""), getattr(state, "hint", "")
    dot, color = DOTS.get(status, ("?", "grey50"))
    title = Text()
    title.append(dot + " ", style=color)
    title.append(LABELS.get(engine, engine), style="bold")
    title.append(f"  {status}")
    detail = phase or ""
    if status == "ready" and url:
        detail = url
    elif status == "failed" and phase:
        detail = f"while {phase}"
    failed = status == "failed"
    managed = getattr(state, "managed", True)
    return {
        "title": title,
        "detail": detail,
        "bar": status == "starting",
        "progress": round(max(0.0, min(1.0, progress or 0.0)) * 100),
        "cause": f"cause: {cause_text}" if failed and cause_text else "",
        "hint": f"hint: {hint_text}" if failed and hint_text else "",
        "start_disabled": not managed or status in ("starting", "ready", "stopping"),
        "stop_disabled": not managed or status not in ("starting", "ready"),
    }


def engine_map(manager: Any) -> dict[str, Any]:
    """The manager's ``{name: Engine}`` (``engines()`` in the core; tolerant of partial fakes)."""
    found = getattr(manager, "engines", None) if manager is not None else None
    try:
        found = found() if callable(found) else found
        return dict(found or {})
    except Exception:  # noqa: BLE001
        return {}


def engine_backend(engine: Any, default: str = "") -> str:
    """The settings backend that talks to an engine ("vllm" / "local")."""
    name = getattr(engine, "backend_name", None) or getattr(getattr(engine, "spec", None), "backend_name", "")
    return name or default
