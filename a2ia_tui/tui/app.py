"""The a2ia-tui application: layout, keys, the turn worker, hot-swap, start-up and quitting.

Layout (left to right): sidebar | chat + prompt | trace over GPU; the status bar and the
footer at the bottom. Below 100 columns the sidebar and the GPU pane are hidden (ctrl+b /
ctrl+g still show them) and only one side of the chat has panes, the side last asked for, so
80x24 stays usable.

Start-up policy: the first frame is drawn before anything slow happens; then a start-up
worker resolves the backend (``default_backend = auto`` probes the configured servers; with
none reachable it starts the bundled local engine when ``engines.autostart_local``), builds
the orchestrator, and starts the MCP hub and the metrics poller in the background. A message
typed meanwhile waits for the orchestrator, and for MCP servers still starting.

Turns: the prompt's ``Sent`` starts ONE exclusive worker (group "turn") that iterates
``orchestrator.run_turn(conversation)`` and maps events to widgets (text → the answer's
Markdown stream, batched at 10 frames/s, fewer in a flood; tool events → trace items; usage →
status bar; an approval request shows the trace if it is hidden, and takes the keyboard only
when no key meant for the prompt can land on it: see :meth:`A2IAApp._offer_approval`).
Escape cancels it; the orchestrator keeps the partial answer marked ``interrupted``. Every
finished message is written to the history store as soon as the orchestrator appends it.

Hot-swap: switching backend between turns replaces the orchestrator's client (a health check
first: an offline backend is only selected after the user has seen why it is offline and
confirmed); during a turn the app asks whether to cancel it. The conversation carries over and
the chat notes the change.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual._compositor import Compositor
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from ..core.errors import A2IAError
from . import css_cache
from .commands import A2IACommands
from .gctune import collect_young
from .messages import ConversationDeleted, ConversationRenamed, OpenConversation, SwitchBackend
from .services import AppServices
from .widgets.chat import AssistantMessage, ChatView
from .widgets.keybar import KeyBar
from .widgets.prompt import Prompt
from .widgets.status import StatusBar
from .widgets.trace import REACH_KEY, KeyQuiet, TraceItem, TracePane

NARROW = 100
WIDE = 140  # from here the side panes have their full widths
HEALTH_TIMEOUT_S = 3.0
#: During a stream, hand the event loop to the UI at least once per this many text deltas.
YIELD_EVERY = 32
#: Seconds after a turn before its garbage is collected (see A2IAApp._idle_gc).
TURN_GC_DELAY_S = 0.3
#: How often messages waiting for a locked history database are retried.
HISTORY_RETRY_S = 2.0


def _lists_model(models: list[str], model: str) -> bool:
    """Whether a server's model list has ``model``; Ollama names a model without a tag as
    ``NAME:latest``."""
    return model in models or (":" not in model and f"{model}:latest" in models)


class _Compositor(Compositor):
    def reflow(self, parent, size):
        """Textual's, leaving the map of every widget it has just built marked valid. Textual
        marks it stale whenever new widgets are painted (the question and the answer of every
        turn) and its reflow does not clear the mark, so the first paint after the layout that
        placed them asked for the map again (the prompt's ``render_line`` looks its width up
        there), and the whole screen was arranged a second time: ~1.5 ms of every such layout."""
        result = super().reflow(parent, size)
        self._full_map_invalidated = False
        return result


class MainScreen(Screen):
    """The app's one main screen (the default screen, which the app composes into)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = _Compositor()

    #: Focus the prompt straight away: the default ("*") would focus the sidebar first and
    #: restyle its whole subtree twice before on_mount moves the focus to the prompt.
    AUTO_FOCUS = "#prompt"
    _resumed = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles the whole screen when it resumes, and the first resume comes just
        # after the app's widgets were mounted, and styled as they mounted, with nothing changed
        # since (the size classes, the theme and the focus are set before). That second pass was
        # half of the style work before the first frame (112 applications at 120x40, 60 now).
        # Later resumes (after a dialog, a theme change) restyle as usual.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False
        super()._on_screen_resume(event)


class A2IAApp(App[int]):
    TITLE = "a2ia-tui"
    COMMANDS = App.COMMANDS | {A2IACommands}
    CSS_PATH = "a2ia.tcss"
    #: Seconds after start-up before the Markdown renderer is warmed up (see :meth:`_warm_up`).
    WARM_UP_AFTER_S = 1.5
    #: True once :meth:`_warm_up` has run.
    warmed = False
    #: Seconds between two looks at the garbage waiting for a young collection (see
    #: :meth:`_idle_gc`).
    IDLE_GC_S = 2.0
    BINDINGS = [
        # first: shown (before the others) only while an approval waits without the keyboard
        Binding(REACH_KEY, "reach_approval", "Tool approval", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("escape", "cancel_turn", "Stop answer"),
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+o", "saved_chats", "History", priority=True),
        Binding("ctrl+b", "toggle_pane('sidebar')", "Sidebar", priority=True),
        Binding("ctrl+t", "toggle_pane('trace')", "Trace", priority=True),
        Binding("ctrl+g", "toggle_pane('gpu')", "GPU", priority=True),
        Binding("ctrl+l", "engine_log", "Engine log", priority=True),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+r", "toggle_react", "ReAct", priority=True),
        # the chat scrolls from the prompt, which keeps the focus (scrolling keys: not in the
        # footer; a focused list or pane scrolls itself first)
        Binding("pageup", "scroll_chat(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_chat(1)", "Scroll down", show=False),
        Binding("ctrl+home", "scroll_chat(-2)", "Chat start", show=False),
        Binding("ctrl+end", "scroll_chat(2)", "Chat end", show=False),
    ]

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.loaded = services.loaded
        self._conversation: Any = None
        self.orchestrator: Any = None
        self.backend: str | None = None
        self.ready = asyncio.Event()
        self.turn_running = False
        self.busy_backend: str | None = None
        self._shown: dict[str, bool] = {}
        #: Below NARROW columns only one side of the chat has panes: "left" (the sidebar) or
        #: "right" (trace, GPU), the side last asked for.
        self._narrow_side = "right"
        self._started_engines: set[str] = set()
        self._missing_models_noted: set[tuple[str, str]] = set()
        #: Conversations deleted from the saved chats in this session: never written again.
        self._deleted: set[str] = set()
        #: Set once the MCP hub's start-up is over (every server ready or failed); None: no hub.
        self._tools_ready: asyncio.Event | None = None
        self._metrics_task: asyncio.Task | None = None
        #: The time of the last key or paste (see _offer_approval); its clock is injectable.
        self.key_quiet = KeyQuiet()
        self._approval_timer: Any = None
        self.theme = (
            services.settings.ui.theme if services.settings.ui.theme in self.available_themes else "textual-dark"
        )
        self._css_cache_dir = services.loaded.paths.state_dir if services.extras.get("css_cache", True) else None
        #: Textual's parsed CSS from the last run (see css_cache): loaded before Textual parses
        #: the app's own CSS; with a theme other than the default, its variables are applied
        #: after this, and compose() loads the cache again for them.
        self._css_known = css_cache.load(self.stylesheet, self._css_cache_dir) if self._css_cache_dir else 0
        self._css_variables = self.stylesheet._variables

    @property
    def conversation(self) -> Any:
        """The current chat (created on first use: importing the conversation model pulls in the
        LLM layer, which the first frame does not need)."""
        if self._conversation is None:
            from ..core.agent.conversation import Conversation

            self._conversation = Conversation()
        return self._conversation

    @conversation.setter
    def conversation(self, value: Any) -> None:
        self._conversation = value

    # -- layout --------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        if self._css_cache_dir is not None and self.stylesheet._variables is not self._css_variables:
            self._css_known = css_cache.load(self.stylesheet, self._css_cache_dir)
            self._css_variables = self.stylesheet._variables
        # The size classes before any widget exists: set later (by the first Resize), they
        # restyled the whole start screen once more (162 style applications to the first frame
        # at 120x40 instead of 112).
        self._set_size_classes(self.size.width)
        with Horizontal(id="main"):
            yield self._make_pane("sidebar")
            with Vertical(id="center"):
                yield ChatView(id="chat")
                yield Prompt(id="prompt")
            with Vertical(id="right"):
                yield TracePane(animate=self.services.extras.get("animate", True), id="trace")
                yield self._make_pane("gpu")
        yield StatusBar(id="status")
        yield KeyBar(id="footer")

    def _make_pane(self, name: str):
        """The other engineer's Sidebar / GPUPane when present; a plain container otherwise."""
        try:
            if name == "sidebar":
                from .widgets.sidebar import Sidebar

                return Sidebar(self.services, id="sidebar")
            from .widgets.gpu import GPUPane

            return GPUPane(self.services, id="gpu")
        except ImportError:
            return Container(Static(f"({name})", classes="placeholder"), id=name)

    @property
    def chat(self) -> ChatView:
        return self.query_one("#chat", ChatView)

    @property
    def trace(self) -> TracePane:
        return self.query_one("#trace", TracePane)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def on_mount(self) -> None:
        ui = self.services.settings.ui
        self._shown = {"sidebar": ui.sidebar, "trace": ui.trace, "gpu": ui.gpu}
        self._apply_panes()
        prompt = self.query_one(Prompt)
        prompt.cursor_blink = self.services.extras.get("cursor_blink", True)  # off in snapshot tests
        prompt.focus()
        if self.services.history_error:
            self.chat.add_note(f"History is off: {self.services.history_error}", "warning")
        self.status.set(mode=self._mode_label())
        self.call_after_refresh(self._startup)
        self.set_timer(self.WARM_UP_AFTER_S, self._warm_up)
        self.set_interval(self.IDLE_GC_S, self._idle_gc)

    def _idle_gc(self) -> None:
        """The young garbage collected while nothing happens (see gctune.collect_young): not
        during a turn, whose frames it would delay."""
        if not self.turn_running:
            collect_young()

    def _warm_up(self) -> None:
        """Load what the first code block of an answer needs (Pygments, its lexers, Rich's syntax
        theme: 50–100 ms) while nothing happens, rather than in that answer's first frame. Not
        during a turn: it waits for the next quiet moment."""
        if self.turn_running:
            self.set_timer(1.0, self._warm_up)
            return
        from .markdown import warm_up

        warm_up()
        self.warmed = True
        self._save_css_cache()

    def _save_css_cache(self) -> None:
        if self._css_cache_dir is None:
            return
        # what was loaded counts only for the variables it was loaded for (not after a change
        # of theme: that theme's file is written whole)
        known = self._css_known if self.stylesheet._variables is self._css_variables else 0
        if css_cache.save(self.stylesheet, self._css_cache_dir, known):
            self._css_known = len(self.stylesheet._parse_cache)
            self._css_variables = self.stylesheet._variables

    def on_resize(self, event: events.Resize) -> None:
        # the event's size: this handler runs before the app's own one stores the new size
        self._apply_panes(event.size.width)

    def _apply_panes(self, width: int | None = None) -> None:
        width = width or self.size.width
        narrow = width < NARROW
        self._set_size_classes(width)
        for name in ("sidebar", "trace", "gpu"):
            try:
                pane = self.query_one(f"#{name}")
            except Exception:  # noqa: BLE001 - the pane is not mounted (yet, or any more)
                continue
            shown = self._shown.get(name, True)
            if narrow and name in ("sidebar", "gpu") and not self._shown.get(f"{name}!", False):
                shown = False
            if narrow and (name == "sidebar") != (self._narrow_side == "left"):
                # one side next to the chat, the one last asked for: with both, an 80-column
                # terminal left the chat 20 columns
                shown = False
            pane.display = shown
        right = self.query_one("#right")
        right.display = self.query_one("#trace").display or self.query_one("#gpu").display

    def _set_size_classes(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")
        self.set_class(NARROW <= width < WIDE, "-medium")

    def action_toggle_pane(self, name: str) -> None:
        self._set_pane(name, not self.query_one(f"#{name}").display)

    def _set_pane(self, name: str, visible: bool) -> None:
        self._shown[name] = visible
        self._shown[f"{name}!"] = visible  # an explicit choice wins over the narrow default
        if visible:
            self._narrow_side = "left" if name == "sidebar" else "right"
        self._apply_panes()

    # -- start-up ------------------------------------------------------------------------------

    def _startup(self) -> None:
        self.run_worker(self._start_core(), group="startup", exclusive=True)

    async def _start_core(self) -> None:
        from .widgets.chat import register_styles

        s = self.services
        register_styles(self.stylesheet)
        if s.store is None and s.open_store is not None:
            s.store, s.history_error = s.open_store()
            s.open_store = None
            if s.history_error:
                self.chat.add_note(f"History is off: {s.history_error}", "warning")
        await self._offer_leftovers()
        try:
            name = s.initial_backend
            if name is None:
                from ..core.llm.registry import resolve_default_backend

                name = await resolve_default_backend(s.settings)
            if s.settings.backends.get(name) and s.settings.backends[name].kind == "local":
                await self._ensure_local(name)
            if s.hub is None and s.make_hub is not None and s.settings.tools.enabled:
                s.hub = s.make_hub()
            client = s.make_client(name, None)
            await self._ensure_model(client)
            from ..core.agent.orchestrator import Orchestrator

            self.orchestrator = Orchestrator(client, s.hub, s.settings)
            self._set_backend(name, client)
        except A2IAError as exc:
            self.chat.add_note(f"Cannot start: {exc}", "error")
            return
        finally:
            self.ready.set()
        if s.hub is not None:
            # set before anything else runs (no await since ready was set): a message waiting
            # for ready sees it, and waits for the tools too
            self._tools_ready = asyncio.Event()
            self.run_worker(self._start_hub(), group="hub")
        self._start_metrics()
        self._idle_gc()  # start-up's garbage (~9,500 objects), before the first question

    async def _offer_leftovers(self) -> None:
        """An engine left running by a crashed session (found through its pid file): adopt it
        (it becomes this app's managed engine again) or stop it."""
        engines = self.services.engines
        if engines is None or not hasattr(engines, "leftovers"):
            return
        try:
            left = engines.leftovers()
        except Exception:  # noqa: BLE001 - unreadable pid files never block start-up
            return
        for note in getattr(engines, "notes", []):  # a malformed pid file: one line, nothing killed
            self.chat.add_note(note)
        from .screens.dialogs import ConfirmScreen

        for name, record in left.items():
            label = {"vllm": "vLLM", "local": "The local engine"}.get(name, name)
            question = (
                f"{label} (pid {record.get('pid')}) was left running by an earlier session at "
                f"{record.get('url', '?')}. Adopt it, or stop it?"
            )
            adopt = await self.push_screen_wait(ConfirmScreen(question, yes="Adopt", no="Stop it"))
            try:
                if adopt:
                    await engines.adopt(name)
                    self._started_engines.add(name)
                    self.chat.add_note(f"Adopted {label} at {record.get('url', '?')}.")
                else:
                    await engines.stop_leftover(name)
                    self.chat.add_note(f"Stopped {label} left by an earlier session.")
            except A2IAError as exc:
                self.chat.add_note(f"{label}: {exc}", "error")

    async def _ensure_local(self, name: str) -> None:
        s = self.services
        from ..core.llm.registry import probe

        ok, _ = await probe(s.settings, name)
        if ok or s.engines is None or not s.settings.engines.autostart_local:
            return
        self.chat.add_note("Nothing else answers: starting the bundled local engine…")
        try:
            await s.engines.start("local")
            self._started_engines.add("local")
            self.chat.add_note("The local engine is ready.")
        except A2IAError as exc:
            self.chat.add_note(f"The local engine did not start: {exc}", "error")

    async def _start_hub(self) -> None:
        from ..core.tools.workspace import settings_root_warning

        warning = settings_root_warning(self.services.settings)
        if warning:
            await self.trace.add_note(warning)
        try:
            await self.services.hub.start()  # every server ready or failed (or its timeout)
        except A2IAError as exc:
            self.chat.add_note(f"MCP tools: {exc}", "warning")
            return
        finally:
            if self._tools_ready is not None:
                self._tools_ready.set()
        for name, st in self.services.hub.states().items():
            if st.status != "ready":
                from ..core.redact import redact_text  # a server URL's user:password@

                self.chat.add_note(redact_text(f"MCP server {name}: {st.status} {st.reason or ''}".rstrip()), "warning")

    def _start_metrics(self) -> None:
        """Poll vLLM's /metrics for the status bar (KV cache, requests) while the backend is vLLM."""
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            self._metrics_task = None
        client = getattr(self.orchestrator, "client", None)
        if client is None or getattr(client, "kind", "") != "vllm" or self.services.extras.get("no_metrics"):
            self.status.set(kv=None, running=None, waiting=None)
            return
        self._metrics_task = asyncio.create_task(self._poll_metrics(client.kind, client.base_url))

    async def _poll_metrics(self, kind: str, base_url: str) -> None:
        from ..core.monitor.metrics import MetricsPoller

        poller = MetricsPoller(kind, base_url)
        try:
            while True:
                try:
                    metrics, _rates, _ = await poller.poll()
                except Exception:  # noqa: BLE001 - a missing /metrics just leaves the fields empty
                    metrics = None
                if metrics is not None:
                    self.status.set(
                        kv=metrics.kv_cache_usage,
                        running=None if metrics.running is None else int(metrics.running),
                        waiting=None if metrics.waiting is None else int(metrics.waiting),
                    )
                await asyncio.sleep(self.services.settings.monitor.metrics_interval_s)
        finally:
            await poller.aclose()

    # -- backends ------------------------------------------------------------------------------

    async def _ensure_model(self, client: Any) -> None:
        """A backend configured without a model uses the first one its server lists."""
        from ..core.llm.registry import adopt_first_model

        await adopt_first_model(client, HEALTH_TIMEOUT_S)

    def _set_backend(self, name: str, client: Any) -> None:
        self.backend = name
        self.status.set(
            backend=name,
            model=getattr(client, "model", None),
            mode=self._mode_label(),
            tps=None,
            ttft=None,
            tokens_in=None,
            tokens_out=None,
            context_max=None,
        )
        self._sidebar_set(current_backend=name, current_model=getattr(client, "model", None))
        self.run_worker(self._context_length(client), group="ctx", exclusive=True)

    async def _context_length(self, client: Any) -> None:
        try:
            n = await asyncio.wait_for(client.context_length(), HEALTH_TIMEOUT_S)
        except (TimeoutError, A2IAError):
            return
        if n and self.orchestrator is not None and self.orchestrator.client is client:
            self.status.set(context_max=n)

    def _sidebar_set(self, **attrs: Any) -> None:
        try:
            sidebar = self.query_one("#sidebar")
        except Exception:  # noqa: BLE001 - the sidebar is not mounted (yet, or any more)
            return
        for k, v in attrs.items():
            try:
                setattr(sidebar, k, v)
            except Exception:  # noqa: BLE001 - a placeholder container has no such reactives
                pass

    @on(SwitchBackend)
    def _on_switch_backend(self, message: SwitchBackend) -> None:
        self.switch_backend(message.backend, message.model)

    def on_sidebar_backend_selected(self, message: Any) -> None:
        # the sidebar has already shown why an offline backend is offline and asked
        self.switch_backend(message.name, checked=True)

    def on_sidebar_model_selected(self, message: Any) -> None:
        self.switch_backend(message.backend, message.model, checked=True)

    def on_sidebar_models_listed(self, message: Any) -> None:
        # A backend chosen while offline has no model yet: as soon as its server lists some (its
        # engine has come up), the status bar and the model picker show the one it will use, and
        # the status bar its context length, rather than at the first question.
        orch = self.orchestrator
        if orch is None or message.backend != self.backend or self.turn_running:
            return
        client = orch.client
        if not client.model and message.models:
            client.model = message.models[0]
            self._set_backend(self.backend, client)
        elif client.model and not _lists_model(message.models, client.model):
            # a configured model the server does not have (Ollama's default "a2ia-qwen" on a
            # server without it): said now, once, rather than as the first answer's 404
            key = (message.backend, client.model)
            if key not in self._missing_models_noted:
                self._missing_models_noted.add(key)
                names = ", ".join(message.models[:5]) + (", …" if len(message.models) > 5 else "")
                self.chat.add_note(
                    f"{message.backend} does not list the model {client.model!r} (it has: {names}); "
                    "choose one in the sidebar's model picker.",
                    "warning",
                )

    @work(group="swap", exclusive=True)
    async def switch_backend(self, name: str, model: str | None = None, checked: bool = False) -> None:
        await self.ready.wait()
        if self.orchestrator is None:
            return
        if name not in self.services.settings.backends:
            self.notify(f"No backend named {name!r}", severity="error")
            return
        cur = self.orchestrator.client
        if name == self.backend and (model is None or model == cur.model):
            return
        if self.turn_running:
            ok = await self.push_screen_wait(
                self._confirm(f"An answer is streaming from {self.backend}. Stop it and switch to {name}?")
            )
            if not ok:
                return
            await self.cancel_turn()
        client = self.services.make_client(name, model)
        try:
            health = await asyncio.wait_for(client.health(), HEALTH_TIMEOUT_S)
            # (a health check's reason starts with "offline: ", which the messages below say)
            ok, why = health.ok, health.detail.removeprefix("offline: ")
        except TimeoutError:
            ok, why = False, f"no answer within {HEALTH_TIMEOUT_S:g} s"
        except A2IAError as exc:
            ok, why = False, str(exc)
        if not ok and not checked:
            if not await self.push_screen_wait(self._confirm(f"{name} is offline: {why}. Switch to it anyway?")):
                await client.aclose()
                return
        if ok:
            await self._ensure_model(client)
        old = cur
        self.orchestrator.set_client(client)
        self._set_backend(name, client)
        self.chat.add_note(
            f"Switched to {name}:{client.model or 'default model'}" + ("" if ok else f" (offline: {why})")
        )
        self._start_metrics()
        if old is not client:
            try:
                await old.aclose()
            except Exception:  # noqa: BLE001
                pass

    def _confirm(self, question: str):
        from .screens.dialogs import ConfirmScreen

        return ConfirmScreen(question)

    # -- the turn ------------------------------------------------------------------------------

    def on_prompt_sent(self, message: Prompt.Sent) -> None:
        if self.turn_running:
            self.notify("An answer is still streaming: press Esc to stop it first.", severity="warning")
            return
        self.conversation.add_user(message.text)
        question: str | None = message.text
        if self.orchestrator is None or not self.ready.is_set():
            # still starting: the question shows now, the answer's widget once a backend is ready
            self.chat.add_user(message.text)
            self.query_one(Prompt).take(message.text)
            question = None
        self._save()
        self.turn_running = True
        self.run_turn(question)

    @work(group="turn", exclusive=True)
    async def run_turn(self, question: str | None = None) -> None:
        """One turn. ``question``: the user's text, if the chat does not show it yet (it is then
        mounted with the answer's widget, in one layout)."""
        from ..core.agent.events import (
            ApprovalNeeded,
            Notice,
            TextDelta,
            ThinkingDelta,
            ToolCallFinished,
            ToolCallRequested,
            TurnFailed,
            TurnFinished,
            Usage,
        )

        await self.ready.wait()
        orch = self.orchestrator
        if orch is None:
            if question is not None:
                self.chat.add_user(question)
                self.query_one(Prompt).take(question)
            self.turn_running = False
            self.chat.add_note("No backend is available.", "error")
            return
        client = orch.client
        if not client.model:
            # the backend was offline when chosen (its engine started since, say): the model its
            # server lists now, rather than a request the server must refuse ("no model chosen")
            await self._ensure_model(client)
            if client.model:
                self._set_backend(self.backend, client)
        self.busy_backend = client.name
        self._sidebar_set(busy_backend=client.name)

        async def show() -> AssistantMessage:
            # The answer's widget (its header names backend:model) shows at once that an answer
            # is coming. Mounted in a task of its own, after the request has gone out: building
            # and laying out the widgets overlaps the server's time to its first token.
            if question is None:
                return await self.chat.add_assistant(client.name, client.model)
            answer = self.chat.add_exchange(question, client.name, client.model)
            await answer.mounted.wait()
            self.query_one(Prompt).take(question)  # cleared in the refresh that shows the question
            return answer

        mounting: asyncio.Future[AssistantMessage] | None = asyncio.ensure_future(show())
        msg: AssistantMessage | None = None
        status = self.status
        started = time.monotonic()
        first: float | None = None
        pieces = 0
        counted = 0  # the pieces the server's usage figures cover (its Usage came after them)
        try:
            await self._wait_for_tools()
            async for ev in orch.run_turn(self.conversation):
                if mounting is not None:  # the first event: the answer's widget is needed now
                    # shielded: Esc now must not stop the mount half-way (it is finished below)
                    msg = await asyncio.shield(mounting)
                    mounting = None
                if isinstance(ev, TextDelta):
                    if msg is None or not msg.streaming:
                        msg = await self._answer(msg, client)
                        status.set(streaming=True)  # (again after a tool call)
                    msg.append(ev.text)
                    pieces += 1
                    if first is None:
                        first = time.monotonic()
                        status.set(ttft=first - started, streaming=True)
                    elif not pieces % YIELD_EVERY:
                        # a fast server fills the socket buffer, and reading buffered data never
                        # suspends: let keys, timers and frames run during a flood
                        await asyncio.sleep(0)
                    elif not pieces % 8:  # the live figure is shown once a second at most
                        if time.monotonic() - first > 0.2:
                            # the meter counts tokens (a merged chunk carries several)
                            status.set(force=False, tps=orch.meter.live_tokens_per_s)
                elif isinstance(ev, ThinkingDelta):
                    if msg is None or not msg.streaming:
                        msg = await self._answer(msg, client)
                        status.set(streaming=True)
                    msg.append_thinking(ev.text)
                elif isinstance(ev, ToolCallRequested):
                    status.set(streaming=False)  # the model's reply is over: tools run, or wait for a yes
                    if msg is not None:
                        if msg.empty:  # the reply was only the call: no answer to show
                            await msg.remove()
                        else:
                            await msg.finish()
                        msg = None
                    self._save()
                    self.chat.add_tool_note(ev.name)
                    await self.trace.add_call(ev)
                elif isinstance(ev, ApprovalNeeded):
                    if not self.trace.display:
                        # the request and its y / n keys live in the trace: hidden, the turn
                        # would wait for an answer nobody can see
                        self._set_pane("trace", True)
                    await self.trace.ask(ev)
                    self._offer_approval()
                    if self._approval_timer is None:
                        self._approval_timer = self.set_interval(0.1, self._offer_approval)
                    self.refresh_bindings()
                elif isinstance(ev, ToolCallFinished):
                    self.trace.finish(ev)
                    self._focus_prompt_if_idle()
                elif isinstance(ev, Usage):
                    counted = pieces
                    self.status.set(
                        tps=ev.tokens_per_s, ttft=ev.ttft_s, tokens_in=ev.prompt_tokens, tokens_out=ev.completion_tokens
                    )
                    self._save()
                elif isinstance(ev, Notice):
                    if msg is not None and msg.empty:  # the note goes before the answer
                        await msg.remove()
                        msg = None
                    self.chat.add_note(ev.text, ev.level)
                elif isinstance(ev, TurnFinished):
                    if msg is not None:
                        await msg.finish("interrupted" if ev.reason == "cancelled" else "complete")
                        msg = None
                elif isinstance(ev, TurnFailed):
                    if msg is not None:
                        await msg.finish("failed", ev.message or str(ev.error))
                        msg = None
                    else:
                        self.chat.add_note(f"✗ {ev.message or ev.error}", "error")
        except asyncio.CancelledError:
            if mounting is not None:  # stopped before the first event
                msg = await mounting
            if msg is not None:
                await msg.finish("interrupted")
            self.trace.cancel_all()
            raise
        finally:
            if pieces > counted:
                # stopped or failed mid-answer: no usage came; what streamed is counted here, and
                # the prompt (so the context) is unknown: "in ? / out N  ctx ?/max", not "ctx 0"
                self.status.set(tokens_in=None, tokens_out=orch.meter.completion_tokens)
            self.turn_running = False
            self.busy_backend = None
            self._sidebar_set(busy_backend=None)
            self.status.set(streaming=False, note=None)
            self._save()
            self._focus_prompt_if_idle()
            self.set_timer(TURN_GC_DELAY_S, self._idle_gc)  # the turn's garbage, once drawn

    async def _wait_for_tools(self) -> None:
        """A message sent while MCP servers are still starting (the first seconds after launch)
        waits for them, up to their start-up timeout: sent at once, it went out with no tools,
        or with some of them. The status bar says what it waits for; Escape stops the wait."""
        hub, started = self.services.hub, self._tools_ready
        if hub is None or started is None or started.is_set():
            return
        try:
            names = [name for name, st in hub.states().items() if st.status not in ("ready", "failed")]
        except Exception:  # noqa: BLE001 - the names are for the status bar only
            names = []
        self.status.set(note="waiting for MCP servers to start" + (f": {', '.join(names)}" if names else ""))
        await started.wait()
        self.status.set(note=None)

    async def _answer(self, msg: AssistantMessage | None, client: Any) -> AssistantMessage:
        """The answer the text goes to (mounted if there is none yet), with its frames started."""
        if msg is None:
            msg = await self.chat.add_assistant(client.name, client.model)
        msg.start_streaming()
        return msg

    def _focus_prompt_if_idle(self) -> None:
        if self.trace.pending_item() is None and isinstance(self.screen, Screen) and not self.screen.is_modal:
            self.query_one(Prompt).focus()

    def on_trace_item_answered(self, message: TraceItem.Answered) -> None:
        self._focus_prompt_if_idle()

    # -- approvals: only a deliberate key answers ------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)):
            self.key_quiet.touch()
        await super().on_event(event)

    def _offer_approval(self) -> None:
        """Give a waiting approval the keyboard when no key meant for the prompt can land on it:
        the prompt is empty and no key was pressed for a second. Given at once, it received the
        rest of a sentence being typed, and a ``y`` or an ``a`` in it answered. Until then the
        item says it waits; ``ctrl+y`` or a click reach it."""
        item = self.trace.pending_item()
        if item is None:
            if self._approval_timer is not None:
                self._approval_timer.stop()
                self._approval_timer = None
            self.refresh_bindings()
            return
        if item.has_focus_within or item.screen is not self.screen:  # answering, or a dialog is up
            return
        if self.query_one(Prompt).value or not self.key_quiet.quiet():
            return
        item.focus()

    def action_reach_approval(self) -> None:
        item = self.trace.pending_item()
        if item is None or item.screen is not self.screen:
            return
        if not self.trace.display:
            self._set_pane("trace", True)
        item.focus()
        self.trace.scroll_to_widget(item, animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reach_approval":  # in the key bar only while an approval waits unanswered
            try:
                item = self.trace.pending_item()
            except Exception:  # noqa: BLE001 - not composed yet, or another screen's query
                return False
            return item is not None and not item.has_focus_within and item.screen is self.screen
        return True

    def _save(self) -> None:
        store = self.services.store
        if store is None or (self._conversation is not None and self._conversation.id in self._deleted):
            return
        try:
            store.sync(self.conversation)
        except A2IAError as exc:
            self.services.store = None
            self.services.history_error = str(exc)
            self.chat.add_note(f"History is off: {exc}", "warning")
            return
        self._watch_history_lock(store)

    _history_retry: Any = None
    #: One line printed on stderr once the app has left the screen (messages history could not save).
    exit_note: str | None = None

    def _watch_history_lock(self, store: Any) -> None:
        """Another program holds the database locked: the messages wait in the store's memory;
        say so once and retry on a timer until they are written."""
        waiting = getattr(store, "waiting", 0)
        if waiting and self._history_retry is None:
            self.chat.add_note(
                f"History: the database is locked by another program; {waiting} message(s) wait "
                "in memory and will be written when it is free.",
                "warning",
            )
            self._history_retry = self.set_interval(HISTORY_RETRY_S, self._retry_history)

    def _retry_history(self) -> None:
        store = self.services.store
        try:
            if store is not None:
                store.flush()
        except A2IAError as exc:
            self.services.store = store = None
            self.services.history_error = str(exc)
            self.chat.add_note(f"History is off: {exc}", "warning")
        if store is None or not store.waiting:
            self._history_retry.stop()
            self._history_retry = None
            if store is not None:
                self.chat.add_note("History: the database is free again; the waiting messages are saved.")

    async def cancel_turn(self) -> None:
        workers = [w for w in self.workers if w.group == "turn" and not w.is_finished]
        self.workers.cancel_group(self, "turn")
        for w in workers:
            try:
                await w.wait()
            except Exception:  # noqa: BLE001 - a cancelled worker reports its cancellation
                pass

    async def action_cancel_turn(self) -> None:
        if self.turn_running:
            await self.cancel_turn()

    # -- chats ---------------------------------------------------------------------------------

    async def action_new_chat(self) -> None:
        if self.turn_running:
            await self.cancel_turn()
        self._save()
        await self._new_chat()

    async def _new_chat(self) -> None:
        from ..core.agent.conversation import Conversation

        self.conversation = Conversation()
        await self.chat.clear()
        await self.trace.clear()
        self.status.set(tps=None, ttft=None, tokens_in=None, tokens_out=None)
        from .widgets.release import give_back_memory

        # once the old chat's widgets are gone (removed on the next turns of the loop)
        self.set_timer(0.2, give_back_memory)

    @on(ConversationRenamed)
    def _conversation_renamed(self, message: ConversationRenamed) -> None:
        """The open chat renamed from the saved chats: its next save must not write the old
        title back."""
        if self._conversation is not None and self._conversation.id == message.conversation_id:
            self._conversation.title = message.title

    @on(ConversationDeleted)
    async def _conversation_deleted(self, message: ConversationDeleted) -> None:
        """The open chat deleted from the saved chats: a new chat replaces it (saved as it was,
        it came back with only the messages sent after the deletion)."""
        self._deleted.add(message.conversation_id)
        if self._conversation is None or self._conversation.id != message.conversation_id:
            return
        if self.turn_running:
            await self.cancel_turn()
        await self._new_chat()
        self.chat.add_note("The chat you were in was deleted: this is a new one.")

    def action_saved_chats(self) -> None:
        if self.services.store is None:
            self.notify(f"History is off: {self.services.history_error or 'no store'}", severity="warning")
            return
        from .screens.history import HistoryScreen

        def opened(cid: str | None) -> None:
            if cid:
                self.post_message(OpenConversation(cid))

        self.push_screen(HistoryScreen(self.services.store), opened)

    @on(OpenConversation)
    async def _open_conversation(self, message: OpenConversation) -> None:
        await self.open_conversation(message.conversation_id)

    async def open_conversation(self, conversation_id: str) -> None:
        if self.turn_running:
            await self.cancel_turn()
        self._save()
        try:
            conv = self.services.store.load(conversation_id)
        except A2IAError as exc:
            self.notify(str(exc), severity="error")
            return
        self.conversation = conv
        await self.chat.show_conversation(conv)
        if conv.load_notes:  # corrupt rows: repaired or skipped, never a crash
            more = f" (+{len(conv.load_notes) - 3} more)" if len(conv.load_notes) > 3 else ""
            self.chat.add_note("Some saved messages were damaged: " + "; ".join(conv.load_notes[:3]) + more, "warning")
        await self.trace.clear()
        await self._restore_trace(conv)
        # the last answer's figures, as saved with it (the chat shown before had its own)
        last = next((e.meta for e in reversed(conv.entries) if e.message.role == "assistant"), None)
        self.status.set(
            tps=last and last.tokens_per_s,
            ttft=last and last.ttft_s,
            tokens_in=last and last.prompt_tokens,
            tokens_out=last and last.completion_tokens,
        )

    async def _restore_trace(self, conv: Any) -> None:
        from ..core.agent.conversation import pair_tool_results
        from ..core.agent.events import ToolCallFinished as Fin
        from ..core.agent.events import ToolCallRequested as Req

        entries = conv.entries[-200:]
        results = pair_tool_results(entries)  # by position: call ids repeat across replies
        hub = self.services.hub
        for n, entry in enumerate(entries):
            for i, call in enumerate(entry.message.tool_calls):
                key = f"restored-{n}-{i}"  # an item's own key, for the same reason
                res = results.get((n, i))
                # the server saved with the result; for a call that has none (stopped before
                # it ran, or saved by an older version), the one that has the tool now
                server = res.meta.extra.get("server") if res is not None else None
                if not server and hub is not None:
                    tool = hub.tool(call.name)
                    server = tool.server if tool is not None else ""
                await self.trace.add_call(
                    Req(
                        key, call.name, call.function.arguments, server or "", raw_arguments=call.function.raw_arguments
                    )
                )
                if res is not None:
                    self.trace.finish(
                        Fin(
                            key,
                            res.meta.full_result or res.message.content,
                            res.meta.is_error,
                            res.meta.duration_s or 0.0,
                            name=call.name,
                        )
                    )

    def export_path(self) -> Path:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.conversation.title).strip("-")[:40] or "chat"
        return self.loaded.paths.data_dir / "exports" / f"{slug}-{self.conversation.id[:8]}.md"

    def action_export(self) -> None:
        from ..core.store.export import to_markdown

        path = self.export_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(to_markdown(self.conversation), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Cannot export: {exc.strerror or exc}", severity="error")
            return
        # The toast names the file and its folder on lines of their own (a whole path wrapped in
        # the toast and lost the file's name); the chat keeps the full path, to copy.
        home, where = str(Path.home()), str(path.parent)
        if where == home or where.startswith(home + "/"):
            where = "~" + where[len(home) :]
        self.notify(f"{path.name}\nin {where}", title="Exported")
        self.chat.add_note(f"Exported to {path}")

    # -- modes, engines, quitting --------------------------------------------------------------

    def _mode_label(self) -> str:
        if not self.services.settings.tools.enabled:
            return "tools: off"
        mode = self.orchestrator.mode if self.orchestrator is not None else self.services.settings.agent.mode
        return {"react": "ReAct", "native": "native tools", "auto": "tools: auto"}.get(mode, mode)

    def action_scroll_chat(self, step: int) -> None:
        """A page up (-1) or down (1), or the start (-2) or end (2) of the chat. Up leaves the
        answer being streamed where it is (the view stops following it); at the end, it follows
        again."""
        chat = self.chat
        if step == -2:
            chat.scroll_home(animate=False)
        elif step == 2:
            chat.scroll_end(animate=False)
        elif step < 0:
            chat.scroll_page_up(animate=False)
        else:
            chat.scroll_page_down(animate=False)

    def action_toggle_react(self) -> None:
        if self.orchestrator is None:
            return
        if not self.services.settings.tools.enabled:
            self.notify("Tools are off (--no-tools, or tools.enabled = false): no tool protocol to switch.")
            return
        default = self.services.settings.agent.mode
        self.orchestrator.mode = (
            ("native" if default == "react" else default) if self.orchestrator.mode == "react" else "react"
        )
        self.status.set(mode=self._mode_label())
        self.notify(f"Tool protocol: {self._mode_label()}")

    def action_engine_log(self) -> None:
        try:
            from .screens.engine_log import EngineLogScreen
        except ImportError:
            self.notify("The engine log viewer is not available.", severity="warning")
            return
        self.push_screen(EngineLogScreen(self.services))

    def engines_running(self) -> list[str]:
        eng = self.services.engines
        if eng is None:
            return []
        try:
            return [n for n in eng.running() if n in self._started_engines or eng.states()[n].managed]
        except Exception:  # noqa: BLE001
            return []

    def open_engine_start(self, name: str) -> None:
        """The start screen of an engine (autotune estimate, editable, then the progress), as the
        sidebar's Start opens it."""
        from .screens.engine_start import EngineStartScreen

        self.push_screen(EngineStartScreen(self.services, name))

    @work(group="engine")
    async def start_engine(self, name: str) -> None:
        eng = self.services.engines
        if eng is None:
            self.notify("Engines are not available.", severity="error")
            return
        self.chat.add_note(f"Starting the {name} engine…")
        try:
            await eng.start(name)
        except A2IAError as exc:
            self.chat.add_note(f"The {name} engine failed: {exc}", "error")
            return
        self._started_engines.add(name)
        self.chat.add_note(f"The {name} engine is ready.")

    @work(group="engine")
    async def stop_engine(self, name: str) -> None:
        eng = self.services.engines
        if eng is None:
            return
        if self.turn_running and self.busy_backend == name:
            if not await self.push_screen_wait(
                self._confirm(f"An answer is streaming from {name}. Stop it and the engine?")
            ):
                return
            await self.cancel_turn()
        try:
            await eng.stop(name)
        except A2IAError as exc:
            self.chat.add_note(f"Stopping {name}: {exc}", "error")
            return
        self._started_engines.discard(name)
        self.chat.add_note(f"The {name} engine is stopped.")

    @work(group="quit", exclusive=True)
    async def action_quit(self) -> None:
        running = self.engines_running()
        if running:
            from .screens.dialogs import QuitScreen

            choice = await self.push_screen_wait(QuitScreen(running))
            if choice is None:
                return
            if choice == "leave":
                try:
                    self.services.engines.detach()
                except Exception:  # noqa: BLE001
                    pass
        await self.shutdown()
        self.exit(0)

    async def shutdown(self) -> None:
        """Cancel the turn, save, and close what the app opened (engines still attached are stopped)."""
        if self.turn_running:
            await self.cancel_turn()
        self._save()
        if self._metrics_task is not None:
            self._metrics_task.cancel()
        s = self.services
        for closer in (getattr(self.orchestrator, "client", None), s.hub, s.engines):
            if closer is None:
                continue
            try:
                await asyncio.wait_for(closer.aclose(), 30)
            except Exception:  # noqa: BLE001 - closing must not stop quitting
                pass
        if s.store is not None:
            try:
                s.store.close()
            except A2IAError as exc:  # still locked after a last try: the terminal is told on exit
                self.exit_note = str(exc)
        self._save_css_cache()  # what this session's screens and widgets parsed

    # -- palette -------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.action in ("quit",):
                continue
            yield SystemCommand(
                f"{binding.description} ({binding.key})",
                f"Same as {binding.key}",
                lambda a=binding.action: self.run_action(a),
            )
