"""One managed engine in the sidebar: status line, phase, cause + hint, progress bar, buttons.

The row only draws an ``EngineState`` (the core's frozen dataclass) and posts nested messages
for its buttons; the Sidebar decides what Start / Stop / Log do (attributes down, messages up).
"""

from __future__ import annotations

from typing import Any

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import ProgressBar, Static

from .row_button import RowButton

LABELS = {"vllm": "vLLM", "local": "local llama.cpp"}
DOTS = {"ready": ("●", "ansi_green"), "starting": ("◐", "ansi_yellow"), "stopping": ("◑", "ansi_yellow"),
        "failed": ("✗", "ansi_red"), "stopped": ("○", "#808080")}


class EngineRow(Vertical):
    """A few widgets only (they are on the first screen, and each widget costs start-up time):
    one ``Static`` holds the status line and, below it, the phase or URL, the cause and the hint;
    the progress bar is mounted the first time the engine starts; then the buttons."""

    DEFAULT_CSS = """
    EngineRow { height: auto; margin-bottom: 1; }
    EngineRow > .engine-info { height: auto; }
    EngineRow > ProgressBar { height: 1; }
    EngineRow > ProgressBar Bar { width: 1fr; }
    EngineRow > Horizontal { height: auto; }
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
        self._drawn = None if v["bar"] else self.state
        yield Static(_info(v), classes="engine-info")
        with Horizontal():
            yield RowButton("Start", id=f"engine-start-{self.engine}", classes="start", disabled=v["start_disabled"])
            yield RowButton("Stop", id=f"engine-stop-{self.engine}", classes="stop", disabled=v["stop_disabled"])
            yield RowButton("Log", id=f"engine-log-{self.engine}", classes="log")

    def on_mount(self) -> None:
        if self.state is not self._drawn:  # changed between compose and mount, or starting
            self.show(self.state)

    @property
    def info(self) -> str:
        """What the row says, as plain text (the status line, then phase, cause and hint)."""
        return self.query_one(".engine-info", Static).visual.plain if self.children else ""

    def show(self, state: Any) -> None:
        """Draw one EngineState."""
        self.state = state
        if not self.children:  # not composed yet: compose draws it
            return
        v = _view(self.engine, state)
        self._drawn = state
        self.query_one(".engine-info", Static).update(_info(v))
        bars = self.query(ProgressBar)
        if v["bar"] and not bars:
            bar = ProgressBar(total=100, show_eta=False, show_percentage=True)
            self.mount(bar, before=self.query_one(Horizontal))
            bar.update(progress=v["progress"])
        for bar in bars:
            bar.display = v["bar"]
            bar.update(progress=v["progress"])
        self.query_one(".start", RowButton).disabled = v["start_disabled"]
        self.query_one(".stop", RowButton).disabled = v["stop_disabled"]

    def on_row_button_pressed(self, event: RowButton.Pressed) -> None:
        event.stop()
        for action in ("start", "stop", "log"):
            if event.button.has_class(action):
                self.post_message(self.Action(self.engine, action))


def _info(v: dict[str, Any]) -> Content:
    """The status line, then one line each for the detail, the cause and the hint (when set)."""
    parts: list[Any] = [v["title"]]
    for key, style in (("detail", "$foreground-muted"), ("cause", "$error"), ("hint", "$warning")):
        if v[key]:
            parts.append(("\n" + v[key], style))
    return Content.assemble(*parts)


def _view(engine: str, state: Any) -> dict[str, Any]:
    """What the row shows for one EngineState."""
    status = getattr(state, "status", "stopped")
    phase, url, progress = getattr(state, "phase", ""), getattr(state, "url", ""), getattr(state, "progress", 0.0)
    cause_text, hint_text = getattr(state, "cause", ""), getattr(state, "hint", "")
    dot, color = DOTS.get(status, ("?", "#808080"))
    title = Content.assemble((dot + " ", color), (LABELS.get(engine, engine), "bold"), f"  {status}")
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
