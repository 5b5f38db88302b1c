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

    def compose(self):
        yield Static("", classes="engine-title", markup=False)
        yield Static("", classes="engine-detail", markup=False)
        yield ProgressBar(total=100, show_eta=False, show_percentage=True)
        yield Static("", classes="engine-cause", markup=False)
        yield Static("", classes="engine-hint", markup=False)
        with Horizontal():
            yield Button("Start", id=f"engine-start-{self.engine}", classes="start", compact=True)
            yield Button("Stop", id=f"engine-stop-{self.engine}", classes="stop", compact=True)
            yield Button("Log", id=f"engine-log-{self.engine}", classes="log", compact=True)

    def on_mount(self) -> None:
        self.show(self.state)

    def show(self, state: Any) -> None:
        """Draw one EngineState."""
        self.state = state
        if not self.children:  # not composed yet: on_mount draws it
            return
        from rich.text import Text

        status = getattr(state, "status", "stopped")
        phase, url, progress = getattr(state, "phase", ""), getattr(state, "url", ""), getattr(state, "progress", 0.0)
        cause_text, hint_text = getattr(state, "cause", ""), getattr(state, "hint", "")
        dot, color = DOTS.get(status, ("?", "grey50"))
        title = Text()
        title.append(dot + " ", style=color)
        title.append(LABELS.get(self.engine, self.engine), style="bold")
        title.append(f"  {status}")
        self.query_one(".engine-title", Static).update(title)
        detail = phase or ""
        if status == "ready" and url:
            detail = url
        elif status == "failed" and phase:
            detail = f"while {phase}"
        self.query_one(".engine-detail", Static).update(detail)
        self.query_one(".engine-detail", Static).display = bool(detail)
        bar = self.query_one(ProgressBar)
        bar.display = status == "starting"
        bar.update(progress=round(max(0.0, min(1.0, progress or 0.0)) * 100))
        failed = status == "failed"
        cause = self.query_one(".engine-cause", Static)
        hint = self.query_one(".engine-hint", Static)
        cause.update(f"cause: {cause_text}" if failed and cause_text else "")
        hint.update(f"hint: {hint_text}" if failed and hint_text else "")
        cause.display = failed and bool(cause_text)
        hint.display = failed and bool(hint_text)
        managed = getattr(state, "managed", True)
        self.query_one(".start", Button).disabled = not managed or status in ("starting", "ready", "stopping")
        self.query_one(".stop", Button).disabled = not managed or status not in ("starting", "ready")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        for action in ("start", "stop", "log"):
            if event.button.has_class(action):
                self.post_message(self.Action(self.engine, action))


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
