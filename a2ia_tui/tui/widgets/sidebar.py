"""The sidebar: backends with live status dots, the model picker, the engines, the MCP servers.

Attributes down (the app sets them): ``current_backend``, ``current_model``, ``busy_backend``.
Messages up: :class:`~..messages.SelectBackend` (a backend, or a model of the current one, with
``checked=True``), :class:`Sidebar.ModelsListed`.

Policy:

- Self-driving. It starts its workers: "health" (right after its first frame, then every :attr:`Sidebar.HEALTH_INTERVAL_S`
  seconds, each configured backend's ``health()`` through a fresh ``services.make_client(name,
  None)``, all at once, each bounded by :data:`HEALTH_TIMEOUT_S`; also re-run when an engine
  becomes ready or stops) and "models" (``list_models()`` of the current backend, whenever it
  changes, and again when a health check finds it up after its models could not be read).
  Engines and MCP servers are listener-driven (``engines.add_listener``,
  ``hub.add_listener``); the hub is created by the app after the first frame, so the sidebar
  looks for it once a second until it appears.
- A status dot is ● ready, ✗ offline + the reason the health check gave, ◐ starting with the
  engine's phase and progress, ○ not checked yet.
- Selecting a backend: a ready one posts ``SelectBackend`` at once. An offline one only after a
  health check said why (a check runs first when none has), and the user confirms, seeing the
  reason. Selecting a model posts ``SelectBackend(backend, model)``.
- Engines: Start opens :class:`~..screens.engine_start.EngineStartScreen` (autotune estimate,
  editable, then the phases); Stop asks nothing unless ``busy_backend`` is that engine's backend
  (a turn is running on it); Log opens the log screen. A failed engine shows its cause and hint.
- Every service may be None: the section says so instead of failing. Nothing here raises into
  the app: errors become one-line reasons.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from ...core.errors import A2IAError, BackendUnreachable
from ...core.redact import redact_text
from ...core.textsafe import printable
from ..messages import SelectBackend
from ..services import AppServices
from .engine_row import EngineRow, engine_backend

if TYPE_CHECKING:
    from ...core.config import Settings
    from ...core.protocols import EngineControl, ToolHub

#: One backend's health() may take this long before it counts as offline.
HEALTH_TIMEOUT_S = 5.0


def short_model_name(model: str) -> str:
    """``Qwen/Qwen2.5-7B-Instruct-AWQ`` → ``Qwen2.5-7B-Instruct-AWQ``; ``hf.co/org/x:Q4_K_M`` →
    ``x:Q4_K_M``; ``/models/x.gguf`` → ``x.gguf``; a plain name as it is."""
    return model.rstrip("/").rsplit("/", 1)[-1] or model


class Sidebar(VerticalScroll):
    """Backends, models, engines and MCP servers."""

    DEFAULT_CSS = """
    Sidebar { padding: 0 1; }
    Sidebar > .sidebar-heading { color: $text-muted; text-style: bold; margin-top: 1; }
    Sidebar > OptionList { height: auto; max-height: 12; border: none; padding: 0; background: transparent; }
    Sidebar > OptionList:focus { border: none; }
    Sidebar > #models { text-wrap: nowrap; text-overflow: ellipsis; }
    Sidebar > #models-note, Sidebar > #engines-note, Sidebar > #mcp { color: $text-muted; height: auto; }
    Sidebar > #manage-models { color: $text-muted; width: auto; min-width: 0; }
    """

    #: Seconds between health checks of every backend.
    HEALTH_INTERVAL_S: float = 15.0

    current_backend: reactive[str] = reactive("")
    """The backend the chat uses now (set by the app)."""
    current_model: reactive[str | None] = reactive(None)
    """The model the chat uses now (set by the app)."""
    busy_backend: reactive[str | None] = reactive(None, repaint=False)
    """The backend a turn is running on, or None (Stop of its engine asks first). Nothing shown
    depends on it: setting it at each turn's start and end repaints nothing."""

    class ModelsListed(Message):
        """The current backend listed its models (the app adopts the first one when its client
        has none: a backend that was offline at start, an engine that has just come up)."""

        def __init__(self, backend: str, models: list[str]) -> None:
            super().__init__()
            self.backend = backend
            self.models = models

    def __init__(self, services: AppServices | None, *, id: str | None = "sidebar", **kwargs: Any) -> None:
        super().__init__(id=id, **kwargs)
        self.services = services
        #: name -> (ok, detail); absent = not checked yet.
        self.health: dict[str, tuple[bool, str]] = {}
        self.models: list[str] = []
        #: the current backend's models could not be read: read them again once it is healthy
        self._models_failed = False
        self._hub: ToolHub | None = None
        self._mcp_shown: Text | None = None
        self._unsubscribe: list[Any] = []
        self._health_wakeup = asyncio.Event()

    # -- structure -------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings | None:
        return self.services.settings if self.services else None

    @property
    def backend_names(self) -> list[str]:
        return list(self.settings.backends) if self.settings else []

    @property
    def engines(self) -> EngineControl | None:
        return self.services.engines if self.services else None

    def compose(self):
        yield Static("Backends", classes="sidebar-heading")
        yield OptionList(*[Option(self._backend_prompt(n), id=n) for n in self.backend_names], id="backends")
        yield Static("Model", classes="sidebar-heading")
        yield OptionList(id="models")
        yield Static("", id="models-note", markup=False)
        if self.services is not None:  # pull, delete, details: screens/models.py
            yield Button("Manage models…", id="manage-models", compact=True)
        yield Static("Engines", classes="sidebar-heading")
        if self.engines is None:
            yield Static("engines are not available", id="engines-note")
        else:
            for name, state in self.engines.states().items():
                yield EngineRow(name, state, id=f"engine-{name}")
        yield Static("MCP servers", classes="sidebar-heading")
        yield Static("", id="mcp")

    def on_mount(self) -> None:
        if self.engines is not None:
            self._unsubscribe.append(self.engines.add_listener(self._on_engine_state))
        self._refresh_mcp()
        self.set_interval(1.0, self._refresh_mcp)
        # The health checks build HTTP clients (httpx, TLS contexts): after the first frame.
        self.call_after_refresh(self._start_health)
        if self.current_backend:
            self.load_models(self.current_backend)

    def _start_health(self) -> None:
        if self.is_attached:
            self.run_health()

    def on_unmount(self) -> None:
        for off in self._unsubscribe:
            off()
        self._unsubscribe.clear()

    # -- backends --------------------------------------------------------------------------------

    def _engine_for_backend(self, backend: str) -> tuple[str, Any] | None:
        from ...core.engines.kinds import kind_for_backend

        kind = kind_for_backend(backend)
        if self.engines is None or kind is None:
            return None
        state = self.engines.states().get(kind.name)
        return (kind.name, state) if state is not None else None

    def _backend_prompt(self, name: str) -> Text:
        text = Text()
        eng = self._engine_for_backend(name)
        state = eng[1] if eng else None
        if state is not None and state.status in ("starting", "stopping"):
            text.append("◐ ", style="yellow")
            text.append(name, style="bold" if name == self.current_backend else "")
            pct = f" {round(state.progress * 100)}%" if state.status == "starting" else ""
            text.append(f"  {state.status}{pct}", style="yellow")
            if state.phase:
                text.append(f"\n  {state.phase}", style="dim")
            return text
        health = self.health.get(name)
        if health is None:
            text.append("○ ", style="grey50")
        elif health[0]:
            text.append("● ", style="green")
        else:
            text.append("✗ ", style="red")
        marker = "▶ " if name == self.current_backend else ""
        text.append(marker + name, style="bold" if marker else "")
        if health is None:
            text.append("  checking…", style="dim")
        elif health[0]:
            text.append("  ready", style="green")
        else:
            text.append("  offline", style="red")
            # the reason, without the "offline: " the line above already says
            # a server's own words (an error body): shown, never obeyed by the terminal
            text.append(printable(f"\n  {health[1].removeprefix('offline: ')}"), style="dim")
        return text

    def refresh_backends(self) -> None:
        try:
            ol = self.query_one("#backends", OptionList)
        except NoMatches:  # not composed yet
            return
        for name in self.backend_names:
            ol.replace_option_prompt(name, self._backend_prompt(name))

    async def check_backend(self, name: str) -> tuple[bool, str]:
        """One health check; never raises (a failure is a reason). The backend an answer is
        streaming from is not asked: the stream says it is up, and llama.cpp's server serves one
        request at a time (a check would wait for the whole answer and time out)."""
        if name == self.busy_backend and name in self.health:
            return self.health[name]
        if self.services is None:
            return (False, "no services")
        client = None
        try:
            client = self.services.make_client(name, None)
            h = await asyncio.wait_for(client.health(), HEALTH_TIMEOUT_S)
            result = (bool(h.ok), h.detail or ("ready" if h.ok else "offline"))
        except TimeoutError:
            result = (False, f"no answer within {HEALTH_TIMEOUT_S:.0f} s")
        except A2IAError as exc:  # e.g. a misconfigured backend
            result = (False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            if client is not None:
                await client.aclose()
        if not result[0] and name == self.busy_backend and name in self.health:
            return self.health[name]  # an answer began meanwhile: a check it held up says nothing
        self.health[name] = result
        self.refresh_backends()
        if result[0] and name == self.current_backend and self._models_failed:
            self._models_failed = False
            self.load_models(name)  # it was down when asked (an engine starting): ask again
        return result

    @work(group="health", exclusive=True)
    async def run_health(self) -> None:
        while True:
            if self.services is not None:
                await asyncio.gather(*(self.check_backend(n) for n in self.backend_names))
            self._health_wakeup.clear()
            try:
                await asyncio.wait_for(self._health_wakeup.wait(), self.HEALTH_INTERVAL_S)
            except TimeoutError:
                pass

    def recheck(self) -> None:
        """Run the health checks now."""
        self._health_wakeup.set()

    @on(OptionList.OptionSelected, "#backends")
    def _backend_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.select_backend(event.option.id)

    @work(group="select", exclusive=True)
    async def select_backend(self, name: str) -> None:
        """Post SelectBackend; an offline backend only after a check said why and the user agrees."""
        health = self.health.get(name)
        eng = self._engine_for_backend(name)
        if eng and eng[1].status == "starting":
            self.notify(f"{name} is still starting ({eng[1].phase or 'starting'}).", severity="warning")
            return
        if health is None or not health[0]:
            health = await self.check_backend(name)
        if not health[0]:
            from ..screens.dialogs import ConfirmScreen

            question = f"{name} is offline: {health[1].removeprefix('offline: ')}\nSelect it anyway?"
            if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Select anyway", no="Cancel")):
                return
        self.post_message(SelectBackend(name, checked=True))

    def watch_current_backend(self, old: str, new: str) -> None:
        self.refresh_backends()
        if new and self.is_mounted:
            self.load_models(new)

    # -- models ----------------------------------------------------------------------------------

    @work(group="models", exclusive=True)
    async def load_models(self, backend: str) -> None:
        note = self.query_one("#models-note", Static)
        ol = self.query_one("#models", OptionList)
        if self.services is None:
            return
        note.update(f"asking {backend} for its models…")
        note.display = True
        client = None
        try:
            client = self.services.make_client(backend, None)
            infos = await asyncio.wait_for(client.list_models(), HEALTH_TIMEOUT_S)
            models = [m.name for m in infos]
        except TimeoutError:
            models, error = [], f"no answer within {HEALTH_TIMEOUT_S:.0f} s"
        except BackendUnreachable:
            # why is on the backend's line above (its health check): not the URL and reason again
            models, error = [], f"{backend} is offline"
        except A2IAError as exc:
            models, error = [], (str(exc).splitlines() or [type(exc).__name__])[0]
        else:
            error = ""
        finally:
            if client is not None:
                await client.aclose()
        if backend != self.current_backend:
            return
        self.models = models
        self._models_failed = bool(error)
        ol.clear_options()
        ol.add_options([Option(self._model_prompt(m), id=m) for m in models])
        if error:
            note.update(f"models unavailable: {error}")
        elif not models:
            note.update(f"{backend} lists no models")
        else:
            note.update("")
        note.display = bool(error or not models)
        self._highlight_model()
        if models:
            self.post_message(self.ModelsListed(backend, models))

    def _model_prompt(self, model: str) -> Text:
        """One line: the name without its organisation or folder (``Qwen/Qwen2.5-7B-Instruct-AWQ``
        wrapped over three lines of the sidebar, the marker alone on the first), cut with "…"
        if it is still too long. The option's id stays the full name."""
        current = model == self.current_model
        return Text(printable(("▶ " if current else "  ") + short_model_name(model)), style="bold" if current else "")

    def _highlight_model(self) -> None:
        ol = self.query_one("#models", OptionList)
        for m in self.models:
            ol.replace_option_prompt(m, self._model_prompt(m))
        if self.current_model in self.models:
            ol.highlighted = self.models.index(self.current_model)

    def watch_current_model(self, old: str | None, new: str | None) -> None:
        if self.is_mounted and self.models:
            self._highlight_model()

    @on(Button.Pressed, "#manage-models")
    def open_models(self) -> None:
        from ..screens.models import ModelsScreen

        def closed(changed: bool | None) -> None:
            if changed and self.current_backend:
                self.load_models(self.current_backend)

        self.app.push_screen(ModelsScreen(self.services, backend=self.current_backend), closed)

    @on(OptionList.OptionSelected, "#models")
    def _model_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and self.current_backend:
            self.post_message(SelectBackend(self.current_backend, event.option.id, checked=True))

    # -- engines ---------------------------------------------------------------------------------

    def _on_engine_state(self, name: str, state: Any) -> None:
        try:
            self.query_one(f"#engine-{name}", EngineRow).show(state)
        except NoMatches:  # not mounted (yet / any more)
            return
        self.refresh_backends()
        if state.status in ("ready", "stopped", "failed"):
            self.recheck()

    @on(EngineRow.Action)
    def _engine_action(self, event: EngineRow.Action) -> None:
        event.stop()
        if event.action == "start":
            from ..screens.engine_start import EngineStartScreen

            self.app.push_screen(EngineStartScreen(self.services, event.engine))
        elif event.action == "stop":
            self.stop_engine(event.engine)
        elif event.action == "log":
            from ..screens.engine_log import EngineLogScreen

            self.app.push_screen(EngineLogScreen(self.services, event.engine))

    @work(group="engine", exclusive=False)
    async def stop_engine(self, name: str) -> None:
        """Stop an engine; asks first only when a turn is running on its backend."""
        engines = self.engines
        if engines is None:
            return
        backend = engine_backend(name)
        if self.busy_backend and self.busy_backend == backend:
            from ..screens.dialogs import ConfirmScreen

            question = f"An answer is streaming from {backend}. Stop the {name} engine anyway?"
            if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Stop it", no="Keep running")):
                return
        try:
            await engines.stop(name)
        except A2IAError as exc:
            self.notify(f"Could not stop {name}: {exc}", severity="error")

    # -- MCP servers -----------------------------------------------------------------------------

    def _refresh_mcp(self) -> None:
        hub = self.services.hub if self.services else None
        if hub is not self._hub:
            self._hub = hub
            if hub is not None:
                self._unsubscribe.append(hub.add_listener(lambda _states: self._draw_mcp()))
        self._draw_mcp()

    def _draw_mcp(self) -> None:
        try:
            widget = self.query_one("#mcp", Static)
        except NoMatches:  # not composed yet
            return
        text = self._mcp_text()
        if text != self._mcp_shown:  # redrawn every second: re-lay the screen only on a change
            self._mcp_shown = text
            widget.update(text)

    def _mcp_text(self) -> Text:
        hub = self._hub
        if hub is None:
            off = self.settings is not None and not self.settings.tools.enabled
            return Text("tools are off" if off else "starting…", style="dim")
        states = hub.states()
        if not states:
            return Text("none configured", style="dim")
        text = Text()
        for i, (name, st) in enumerate(states.items()):
            dot, color = {"ready": ("●", "green"), "failed": ("✗", "red"), "stopped": ("○", "grey50")}.get(
                st.status, ("◐", "yellow")
            )
            if i:
                text.append("\n")
            text.append(f"{dot} ", style=color)
            text.append(printable(name))
            if st.status == "ready":
                text.append(f"  {st.tool_count} tool{'s' if st.tool_count != 1 else ''}", style="dim")
            else:
                text.append(f"  {st.status}", style=color)
            if st.reason and st.status != "ready":
                # an MCP server's stderr or its URL's error: no control sequences, no credentials
                text.append(printable(redact_text(f"\n  {st.reason}")), style="dim")
            elif st.status == "ready" and st.note:
                text.append(printable(f"\n  {st.note}"), style="yellow")
        return text
