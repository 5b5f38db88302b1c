"""The a2ia-tui application: the layout, the keys, start-up and quitting.

Layout (left to right): sidebar | chat + prompt | trace over GPU; the status bar and the
footer at the bottom. Below 100 columns the sidebar and the GPU pane are hidden (ctrl+b /
ctrl+g still show them) and only one side of the chat has panes, the side last asked for, so
80x24 stays usable.

Start-up policy: the first frame is drawn before anything slow happens; then a start-up
worker opens the session core (``core/session.py``, shared with a2ia-cli: resolve the backend,
start the bundled local engine when nothing answers, choose the model, build the
orchestrator) and starts the MCP hub and the metrics poller in the background. A message
typed meanwhile waits for the orchestrator, and for MCP servers still starting.

The rest lives beside this module, one job each, and the app's keys and messages call it:

- ``turn.py``: a turn's events mapped to widgets (the prompt's ``Sent`` starts ONE exclusive
  worker, group "turn"; Escape cancels it and the orchestrator keeps the partial answer
  marked ``interrupted``);
- ``chat_actions.py``: the chat's actions (:class:`ChatActions`, which the app inherits): sending
  a question with its attachments, new / saved / export chats, chat settings, tools on or off,
  ReAct, copying, scrolling; a new chat-level action goes there, its key here;
- ``appstate.py``: what widgets read of the app (:class:`AppState`, the base of both): whether
  a turn runs, the open conversation;
- ``chats.py``: saving as it goes, new, open, export, renamed and deleted chats;
- ``backends.py``: switching backend or model, the status bar's backend fields, vLLM's /metrics;
- ``engines.py``: engines left by a crashed session, Start / Stop / Log, engines at quitting.

Errors: expected failures are A2IAErrors, handled where they happen; anything else a worker
raises reaches :meth:`A2IAApp.on_worker_state_changed`, the one boundary, which says it in one
line and keeps the app running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from ..core.errors import A2IAError
from ..core.redact import redact_text
from ..core.session import Session
from ..core.textsafe import printable
from . import startwith
from .backends import BackendGlue
from .branches import Branches
from .chat_actions import ChatActions
from .chats import Chats
from .commands import A2IACommands
from .engines import EngineGlue
from .gctune import collect_young
from .messages import SelectBackend
from .services import AppServices
from .widgets.chat import ChatView
from .widgets.gpu import GPUPane
from .widgets.keybar import KeyBar
from .widgets.prompt import Prompt
from .widgets.sidebar import Sidebar
from .widgets.status import StatusBar
from .widgets.trace import REACH_KEY, KeyQuiet, TraceItem, TracePane

if TYPE_CHECKING:
    from ..core.agent.events import ApprovalNeeded
    from ..core.agent.orchestrator import Orchestrator
    from ..core.llm.base import LLMClient
    from ..core.protocols import EngineControl, ToolHub
    from .screens.dialogs import ConfirmScreen

NARROW = 100
WIDE = 140  # from here the side panes have their full widths
#: Seconds after a turn before its garbage is collected (see A2IAApp._idle_gc).
TURN_GC_DELAY_S = 0.3
#: The lines the app's boundary showed (see A2IAApp.on_worker_state_changed): the tests assert it
#: stays empty, so a bug a worker hit never passes unnoticed.
reported_errors: list[str] = []


class MainScreen(Screen):
    """The app's one main screen (the default screen, which the app composes into)."""

    #: Focus the prompt straight away: the default ("*") would focus the sidebar first and
    #: restyle its whole subtree twice before on_mount moves the focus to the prompt.
    AUTO_FOCUS = "#prompt"
    _resumed = False

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles the whole screen when it resumes, and the first resume comes just
        # after the app's widgets were mounted, and styled as they mounted, with nothing changed
        # since (the size classes, the theme and the focus are set before): half of the style
        # work before the first frame. Handlers run from the subclass up, so Screen's own reads
        # this. Later resumes (after a dialog, a theme change) restyle as usual.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False


class A2IAApp(ChatActions):
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
        Binding("f2", "chat_settings", "Chat settings", priority=True),
        Binding("f3", "attach", "Attach file", show=False, priority=True),
        Binding("f4", "edit_question", "Edit question", show=False, priority=True),
        Binding("f5", "regenerate", "Regenerate", show=False, priority=True),
        Binding("alt+left", "alternative(-1)", "Earlier alternative", show=False),
        Binding("alt+right", "alternative(1)", "Later alternative", show=False),
        Binding("shift+f3", "drop_attachments", "Drop attachments", show=False, priority=True),
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
        #: The backend, engine, hub and orchestrator, wired as for a2ia-cli (core/session.py):
        #: made by the start-up worker, from the services as they are then.
        self.session: Session | None = None
        self.chats = Chats(self)
        self.branches = Branches(self)
        self.backends = BackendGlue(self)
        self.engine_glue = EngineGlue(self)
        self.ready = asyncio.Event()
        self.turn_running = False
        self.busy_backend: str | None = None
        self._shown: dict[str, bool] = {}
        #: Below NARROW columns only one side of the chat has panes: "left" (the sidebar) or
        #: "right" (trace, GPU), the side last asked for.
        self._narrow_side = "right"
        #: Set once the MCP hub's start-up is over (every server ready or failed); None: no hub.
        self._tools_ready: asyncio.Event | None = None
        #: The time of the last key or paste (see _offer_approval); its clock is injectable.
        self.key_quiet = KeyQuiet()
        self._approval_timer: Timer | None = None
        self.theme = (
            services.settings.ui.theme if services.settings.ui.theme in self.available_themes else "textual-dark"
        )

    @property
    def orchestrator(self) -> Orchestrator | None:
        return self.session.orchestrator if self.session is not None else None

    @property
    def backend(self) -> str | None:
        """The backend the chat uses (None until one is chosen)."""
        return (self.session.backend or None) if self.session is not None else None

    # -- layout --------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        # The size classes before any widget exists: set later (by the first Resize), they
        # restyled the whole start screen once more (162 style applications to the first frame
        # at 120x40 instead of 112).
        self._set_size_classes(self.size.width)
        with Horizontal(id="main"):
            yield Sidebar(self.services, id="sidebar")
            with Vertical(id="center"):
                yield ChatView(id="chat")
                yield Prompt(id="prompt")
            with Vertical(id="right"):
                yield TracePane(animate=self.services.extras.get("animate", True), id="trace")
                yield GPUPane(self.services, id="gpu")
        yield StatusBar(id="status")
        yield KeyBar(id="footer")

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
        self.status.set(mode=self.mode_label())
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
            except NoMatches:  # the pane is not mounted (yet, or any more)
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

    # -- the one boundary for the unexpected ----------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An error nothing below could handle (a bug, or a library's surprise) in one of the
        app's workers: said in one line, the app goes on. Expected failures are A2IAErrors,
        handled where they happen; the traceback is for Textual's devtools log only."""
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        error = event.worker.error
        self.log.error(f"worker {event.worker.group or event.worker.name!r} failed", error)
        what = printable(redact_text(f"{type(error).__name__}: {error}".splitlines()[0]))
        line = f"Internal error ({event.worker.group}): {what}"
        reported_errors.append(line)
        self.notify(line, severity="error", timeout=10, markup=False)

    # -- start-up ------------------------------------------------------------------------------

    def _startup(self) -> None:
        self.run_worker(self._start_core(), group="startup", exclusive=True, exit_on_error=False)

    async def _start_core(self) -> None:
        s = self.services
        if s.store is None and s.open_store is not None:
            s.store, s.history_error = s.open_store()
            s.open_store = None
            if s.history_error:
                self.chat.add_note(f"History is off: {s.history_error}", "warning")
        self.session = session = Session(
            s.settings,
            make_client=s.make_client,
            engines=s.engines,
            hub=s.hub,
            make_hub=s.make_hub,
            note=self._note,
            overrides=s.chat_overrides,
        )
        await startwith.begin(self)  # --continue, a question from the command line
        await self.engine_glue.offer_leftovers()
        try:
            orchestrator = await session.open(s.initial_backend)
            s.hub = session.hub  # made by the session: the sidebar shows its servers
            self.backends.show(session.backend, orchestrator.client)
        except A2IAError as exc:
            self.chat.add_note(f"Cannot start: {exc}", "error")
            return
        finally:
            self.ready.set()
        if s.hub is not None:
            # set before anything else runs (no await since ready was set): a message waiting
            # for ready sees it, and waits for the tools too
            self._tools_ready = asyncio.Event()
            self.run_worker(self._start_hub(session), group="hub", exit_on_error=False)
        self.backends.start_metrics()
        self._idle_gc()  # start-up's garbage (~9,500 objects), before the first question

    def _note(self, text: str, level: str) -> None:
        self.chat.add_note(text, level)

    async def _start_hub(self, session: Session) -> None:
        from ..core.tools.workspace import settings_root_warning

        warning = settings_root_warning(self.services.settings)
        if warning:
            await self.trace.add_note(warning)
        try:
            await session.start_hub()  # every server ready or failed (or its timeout); notes
        except A2IAError as exc:
            self.chat.add_note(f"MCP tools: {exc}", "warning")
        finally:
            if self._tools_ready is not None:
                self._tools_ready.set()

    # -- backends (backends.py) ------------------------------------------------------------------

    @on(SelectBackend)
    def _on_select_backend(self, message: SelectBackend) -> None:
        self.switch_backend(message.backend, message.model, checked=message.checked)

    def on_sidebar_models_listed(self, message: Sidebar.ModelsListed) -> None:
        self.backends.models_listed(message.backend, message.models)

    @work(group="swap", exclusive=True, exit_on_error=False)
    async def switch_backend(self, name: str, model: str | None = None, checked: bool = False) -> None:
        await self.backends.switch(name, model, checked)

    def confirm(self, question: str) -> ConfirmScreen:
        from .screens.dialogs import ConfirmScreen

        return ConfirmScreen(question)

    # -- the turn (turn.py) ----------------------------------------------------------------------

    @work(group="turn", exclusive=True, exit_on_error=False)
    async def run_turn(self, question: str | None = None, typed: str | None = None) -> None:
        """One turn. ``question``: the user's text, if the chat does not show it yet (it is then
        mounted with the answer's widget, in one layout); ``typed``: the prompt's text, when
        the question shown differs (attachments are listed under it)."""
        from .turn import TurnView  # the agent's events: not before the first frame

        await self.ready.wait()
        orch, session = self.orchestrator, self.session
        if orch is None or session is None:
            if question is not None:
                self.chat.add_user(question)
                self.query_one(Prompt).take(typed if typed is not None else question)
            self.turn_running = False
            self.chat.add_note("No backend is available.", "error")
            return
        client = orch.client
        if not client.model:
            # the backend was offline when chosen (its engine started since, say): the model its
            # server lists now, rather than a request the server must refuse ("no model chosen")
            await session.adopt_first_model(client)
            if client.model:
                self.backends.show(session.backend, client)
        self.busy_backend = client.name
        self.backends.sidebar_set(busy_backend=client.name)
        # mounts the answer's widget after the request has gone out (see TurnView)
        view = TurnView(self, client, orch.meter, question, typed)
        try:
            await self._wait_for_tools()
            async for ev in orch.run_turn(self.conversation):
                await view.show(ev)
        except asyncio.CancelledError:
            await view.cancelled()
            raise
        finally:
            view.end()
            self.turn_running = False
            self.busy_backend = None
            self.backends.sidebar_set(busy_backend=None)
            self.chats.save()
            self.focus_prompt_if_idle()
            self.set_timer(TURN_GC_DELAY_S, self._idle_gc)  # the turn's garbage, once drawn

    async def _wait_for_tools(self) -> None:
        """A message sent while MCP servers are still starting (the first seconds after launch)
        waits for them, up to their start-up timeout: sent at once, it went out with no tools,
        or with some of them. The status bar says what it waits for; Escape stops the wait."""
        hub, started = self.services.hub, self._tools_ready
        if hub is None or started is None or started.is_set():
            return
        names = [name for name, st in hub.states().items() if st.status not in ("ready", "failed")]
        self.status.set(note="waiting for MCP servers to start" + (f": {', '.join(names)}" if names else ""))
        await started.wait()
        self.status.set(note=None)

    async def cancel_turn(self) -> None:
        workers = [w for w in self.workers if w.group == "turn" and not w.is_finished]
        self.workers.cancel_group(self, "turn")
        for w in workers:
            try:
                await w.wait()
            except (WorkerCancelled, WorkerFailed):  # what it was stopped for
                pass

    async def action_cancel_turn(self) -> None:
        if self.turn_running:
            await self.cancel_turn()

    def focus_prompt_if_idle(self) -> None:
        if self.trace.pending_item() is None and isinstance(self.screen, Screen) and not self.screen.is_modal:
            self.query_one(Prompt).focus()

    def on_trace_item_answered(self, message: TraceItem.Answered) -> None:
        self.focus_prompt_if_idle()

    # -- approvals: only a deliberate key answers ------------------------------------------------

    async def show_approval(self, request: ApprovalNeeded) -> None:
        """A tool call waits for a yes: its question in the trace, offered the keyboard when safe."""
        if not self.trace.display:
            # the request and its y / n keys live in the trace: hidden, the turn would wait for
            # an answer nobody can see
            self._set_pane("trace", True)
        await self.trace.ask(request)
        self._offer_approval()
        if self._approval_timer is None:
            self._approval_timer = self.set_interval(0.1, self._offer_approval)
        self.refresh_bindings()

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
            except NoMatches:  # not composed yet, or another screen is on top
                return False
            return item is not None and not item.has_focus_within and item.screen is self.screen
        if action in ("regenerate", "edit_question", "alternative"):  # the chat must be in view
            return isinstance(self.screen, MainScreen)
        return True

    # -- engines (engines.py) ------------------------------------------------------------------

    def action_engine_log(self) -> None:
        self.engine_glue.open_log()

    def engines_running(self) -> list[str]:
        return self.engine_glue.running()

    def open_engine_start(self, name: str) -> None:
        self.engine_glue.open_start(name)

    @work(group="engine", exit_on_error=False)
    async def start_engine(self, name: str) -> None:
        await self.engine_glue.start(name)

    @work(group="engine", exit_on_error=False)
    async def stop_engine(self, name: str) -> None:
        await self.engine_glue.stop(name)

    # -- quitting ------------------------------------------------------------------------------

    #: One line printed on stderr once the app has left the screen (messages history could not save).
    exit_note: str | None = None

    @work(group="quit", exclusive=True)
    async def action_quit(self) -> None:  # type: ignore[override]  # a worker: it may ask first
        running = self.engines_running()
        if running:
            from .screens.dialogs import QuitScreen

            choice = await self.push_screen_wait(QuitScreen(running))
            if choice is None:
                return
            if choice == "leave" and self.services.engines is not None:
                self.services.engines.detach()
        await self.shutdown()
        self.exit(0)

    async def shutdown(self) -> None:
        """Cancel the turn, save, and close what the app opened (engines still attached are stopped)."""
        if self.turn_running:
            await self.cancel_turn()
        self.chats.save()
        self.backends.stop_metrics()
        s = self.services
        client = self.orchestrator.client if self.orchestrator is not None else None
        closers: list[ToolHub | EngineControl | LLMClient | None] = [client, s.hub, s.engines]
        for closer in closers:
            if closer is None:
                continue
            try:
                await asyncio.wait_for(closer.aclose(), 30)
            except Exception as exc:  # noqa: BLE001 - closing must not stop quitting
                self.log.warning(f"closing {type(closer).__name__}: {exc!r}")
        if s.store is not None:
            try:
                s.store.close()
            except A2IAError as exc:  # still locked after a last try: the terminal is told on exit
                self.exit_note = str(exc)

    # -- palette -------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.action in ("quit",):
                continue
            yield SystemCommand(
                f"{binding.description} ({binding.key})",
                f"Same as {binding.key}",
                lambda a=binding.action: self.run_action(a),
            )
