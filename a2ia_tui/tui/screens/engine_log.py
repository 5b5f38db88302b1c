"""The engine log viewer: a screen that follows a managed engine's log file (``tail -f``).

``EngineLogScreen(services, engine_name=None)``; the app binds ctrl+l to push it.

Policy:

- It follows the log FILE (``engines[name].log_path``), not the in-memory tail, so it also shows
  an engine started by ``a2ia-tui engine start`` in another process, and it never misses a line:
  new bytes are read every :data:`POLL_S` from the last offset; a partial last line waits for
  its newline; a file that shrinks (a restart truncated it) is read again from the start.
- On open it shows the last :data:`INITIAL_BYTES` of the file. The view follows the end unless
  the user scrolled up (Textual's ``Log`` auto-scroll).
- ``engine_name`` None = the first engine that is not stopped, else the first whose log exists,
  else "vllm". ``tab`` shows the next engine's log. A failed engine's cause and hint are shown in
  the header line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Log, Static

from ...core.textsafe import printable
from ..services import AppServices
from ..widgets.keybar import KeyBar

if TYPE_CHECKING:
    from ...core.protocols import EngineControl

POLL_S = 0.2
INITIAL_BYTES = 64 * 1024


class EngineLogScreen(Screen[None]):
    DEFAULT_CSS = """
    EngineLogScreen #el-header { height: auto; padding: 0 1; background: $panel; text-style: bold; }
    EngineLogScreen #el-cause { height: auto; padding: 0 1; color: $error; }
    EngineLogScreen Log { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+l", "app.pop_screen", "Back", show=False),
        Binding("tab", "next_engine", "Next engine"),
    ]

    def __init__(self, services: AppServices | None, engine_name: str | None = None) -> None:
        super().__init__()
        self.services = services
        self.engine_name = engine_name or self._default_engine()
        self._offset = 0
        self._partial = ""
        self._unsubscribe: Any = None

    @property
    def engines(self) -> EngineControl | None:
        return self.services.engines if self.services else None

    def _default_engine(self) -> str:
        engines = self.engines
        if engines is None:
            return "vllm"
        states = engines.states()
        for name, state in states.items():
            if state.status != "stopped":
                return name
        for name in states:
            engine = engines.engines().get(name)
            if engine is not None and engine.log_path.exists():
                return name
        return next(iter(states), "vllm")

    @property
    def log_path(self) -> Path | None:
        engine = self.engines.engines().get(self.engine_name) if self.engines is not None else None
        return engine.log_path if engine is not None else None

    def compose(self):
        yield Static("", id="el-header", markup=False)
        yield Static("", id="el-cause", markup=False)
        yield Log(id="el-log", max_lines=10_000)
        yield KeyBar()

    def on_mount(self) -> None:
        if self.engines is not None:
            self._unsubscribe = self.engines.add_listener(lambda name, state: self._header())
        self._open()
        self.set_interval(POLL_S, self.poll)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _header(self) -> None:
        if not self.is_attached:
            return
        path = self.log_path
        state = self.engines.states().get(self.engine_name) if self.engines is not None else None
        status = state.status if state is not None else "unavailable"
        where = str(path) if path is not None else "no log"
        self.query_one("#el-header", Static).update(f"{self.engine_name} log — {status} — {where}")
        cause = self.query_one("#el-cause", Static)
        if state is not None and state.status == "failed" and (state.cause or state.hint):
            cause.update(printable(f"cause: {state.cause}" + (f"\nhint: {state.hint}" if state.hint else "")))
            cause.display = True
        else:
            cause.display = False

    def _open(self) -> None:
        log = self.query_one(Log)
        log.clear()
        self._offset, self._partial = 0, ""
        self._header()
        path = self.log_path
        if path is None:
            log.write_line("engines are not available" if self.engines is None else f"no engine {self.engine_name!r}")
            return
        try:
            size = path.stat().st_size
        except OSError:
            # (the header above names the file; the log does not wrap: the reason comes first)
            log.write_line("no log yet: the engine has not been started")
            return
        self._offset = max(0, size - INITIAL_BYTES)
        self.poll(skip_partial_first=self._offset > 0)

    def poll(self, skip_partial_first: bool = False) -> None:
        """Read what the log file gained since the last call."""
        path = self.log_path
        if path is None:
            return
        try:
            size = path.stat().st_size
            if size < self._offset:  # truncated: a new run of the engine
                self._offset, self._partial = 0, ""
                self.query_one(Log).write_line("── log restarted ──")
            if size == self._offset:
                return
            with path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        self._offset += len(data)
        text = self._partial + data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        if skip_partial_first and lines:
            lines = lines[1:]
        if lines:
            # an engine's log holds what its libraries and the model's files printed: shown, not obeyed
            self.query_one(Log).write_lines([printable(line.rstrip("\r")) for line in lines])

    def action_next_engine(self) -> None:
        engines = self.engines
        if engines is None:
            return
        names = list(engines.states())
        if not names:
            return
        i = names.index(self.engine_name) if self.engine_name in names else -1
        self.engine_name = names[(i + 1) % len(names)]
        self._open()
