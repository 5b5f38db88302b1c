"""One chat session's wiring, shared by the app and ``a2ia-cli``: backend, engine, model, hub, orchestrator.

::

    session = Session.from_loaded(loaded, note=print_note)     # or Session(settings, make_client=..., ...)
    await session.open()                 # resolve the backend, start the bundled engine when nothing
                                         # answers, choose the model, create the hub, build the orchestrator
    await session.start_hub()            # the MCP servers (the app runs this in the background)
    client, ok, why = await session.check("ollama")            # a health check before switching
    await session.use("ollama", client, adopt_model=ok)        # switch: the conversation carries over
    await session.aclose()               # the client, the hub, and the engines this session started

Policy:

- ``default_backend = "auto"`` probes every configured non-local backend at once (short
  timeout); the first reachable in configuration order wins, else the ``local`` backend.
- A ``local`` backend is served by the bundled engine: when nothing answers at its address and
  ``engines.autostart_local`` is on, the session starts it (``engines`` given, or made on first
  need by ``make_engines``). With ``require_engine`` (the CLI: nothing else could answer) a
  missing or failed engine is an error; otherwise (the app) a note, and the app still opens.
- A backend configured without a model uses the first one its server lists.
- Progress and problems are notes, ``note(text, level)`` with level ``info``, ``warning`` or
  ``error``: the CLI prints them, the app shows them in the chat. Expected failures are
  :class:`~.errors.A2IAError`; nothing here catches anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import A2IAError
from .redact import redact_text
from .wiring import RealServices

if TYPE_CHECKING:
    from .agent.chat_settings import ChatSettings
    from .agent.orchestrator import Orchestrator
    from .config import LoadedSettings, Settings
    from .llm.base import LLMClient
    from .protocols import EngineControl, ToolHub

#: How long a health check (or a model list) may take before the backend counts as offline.
HEALTH_TIMEOUT_S = 3.0
#: How long ``auto`` waits for each backend's probe.
AUTO_PROBE_TIMEOUT_S = 1.5

Note = Callable[[str, str], None]


def _silent(text: str, level: str) -> None:
    """The default ``note``: say nothing."""


class Session:
    """Backend, engine, hub and orchestrator for one run of the app or the CLI."""

    def __init__(
        self,
        settings: Settings,
        *,
        make_client: Callable[[str, str | None], LLMClient],
        engines: EngineControl | None = None,
        make_engines: Callable[[], EngineControl] | None = None,
        hub: ToolHub | None = None,
        make_hub: Callable[[], ToolHub] | None = None,
        note: Note = _silent,
        overrides: ChatSettings | None = None,
    ) -> None:
        self.settings = settings
        #: This run's chat settings from the command line: over every chat's own.
        if overrides is None:
            # imported here: the app imports this module before its first frame, which loads
            # no part of the agent (tests/tui/test_app_start.py)
            from .agent.chat_settings import ChatSettings

            overrides = ChatSettings()
        self.overrides = overrides
        self.make_client = make_client
        self.engines = engines
        self._make_engines = make_engines
        self.hub = hub
        self._make_hub = make_hub
        self.note = note
        #: The backend the orchestrator's client talks to ("" until :meth:`open`).
        self.backend = ""
        self.orchestrator: Orchestrator | None = None
        #: Engines this session started (or the app adopted): stopped on quit unless left running.
        self.started_engines: set[str] = set()

    @classmethod
    def from_loaded(
        cls, loaded: LoadedSettings, *, note: Note = _silent, overrides: ChatSettings | None = None
    ) -> Session:
        """The real services (:class:`.wiring.RealServices`), made on first need: registry
        clients, the engine manager, the MCP hub."""
        services = RealServices(loaded)
        return cls(
            loaded.settings,
            make_client=services.make_client,
            make_engines=services.make_engines,
            make_hub=services.make_hub,
            note=note,
            overrides=overrides,
        )

    # -- opening -------------------------------------------------------------------------------

    async def open(
        self, backend: str | None = None, *, require_engine: bool = False, require_reachable: bool = False
    ) -> Orchestrator:
        """Choose the backend (``backend``, or the settings' ``default_backend``), start its
        engine when needed, create the hub (not started: see :meth:`start_hub`), choose the
        model and build the orchestrator. Raises A2IAError (a bad backend name, or with
        ``require_engine`` an engine that could not start)."""
        from .agent.orchestrator import Orchestrator

        name = backend or await self.resolve_backend()
        config = self.settings.backends.get(name)
        if config is not None and config.kind == "local":
            await self.ensure_engine(name, required=require_engine)
        if self.hub is None and self._make_hub is not None and self.settings.tools.enabled:
            self.hub = self._make_hub()
        client = self.make_client(name, None)
        await self.adopt_first_model(client)
        if require_reachable and not client.model:  # nothing answered: say where, not "no model chosen"
            health = await client.health()
            if not health.ok:
                from .llm.registry import unreachable

                await client.aclose()
                raise A2IAError(unreachable(self.settings, name, client.base_url, health.detail))
        self.orchestrator = Orchestrator(client, self.hub, self.settings)
        self.orchestrator.overrides = self.overrides
        self.backend = name
        return self.orchestrator

    async def probe(self, name: str, timeout_s: float = AUTO_PROBE_TIMEOUT_S) -> tuple[bool, str]:
        """``(reachable, one-line detail)`` for one backend; never raises."""
        client = self.make_client(name, None)
        try:
            health = await asyncio.wait_for(client.health(), timeout_s)
            return health.ok, health.detail
        except TimeoutError:
            return False, f"no answer within {timeout_s:g} s"
        except A2IAError as exc:
            return False, str(exc)
        finally:
            await client.aclose()

    async def resolve_backend(self) -> str:
        """``default_backend``, or for ``auto`` the first reachable configured backend (config
        order, probed at once), else the ``local`` one."""
        settings = self.settings
        if settings.default_backend != "auto":
            return settings.default_backend
        names = [n for n, b in settings.backends.items() if b.kind != "local"]
        results = await asyncio.gather(*(self.probe(n) for n in names))
        for name, (ok, _detail) in zip(names, results, strict=True):
            if ok:
                return name
        return next((n for n, b in settings.backends.items() if b.kind == "local"), "local")

    async def ensure_engine(self, name: str, *, required: bool = False) -> None:
        """The bundled engine backs the ``local`` backend ``name``: start it unless something
        already answers there."""
        ok, _ = await self.probe(name)
        if ok:
            return
        if not self.settings.engines.autostart_local:
            if required:
                raise A2IAError(f"nothing answers at the {name} backend and engines.autostart_local is off")
            return
        if self.engines is None and self._make_engines is not None:
            self.engines = self._make_engines()
        if self.engines is None:
            if required:
                raise A2IAError("no backend is reachable and the local engine is not available")
            return
        self.note("Nothing else answers: starting the bundled local engine (its first start loads the model)…", "info")
        try:
            await self.engines.start("local")
        except A2IAError as exc:
            if required:
                raise
            self.note(f"The local engine did not start: {exc}", "error")
            return
        self.started_engines.add("local")
        self.note("The local engine is ready.", "info")

    async def adopt_first_model(self, client: LLMClient) -> None:
        """A backend configured without a model uses the first one its server lists (a vLLM
        server serves one). A server that cannot say leaves it unset: the request then says so."""
        if client.model:
            return
        try:
            models = await asyncio.wait_for(client.list_models(), HEALTH_TIMEOUT_S)
        except (A2IAError, TimeoutError):
            return
        if models:
            client.model = models[0].name

    async def start_hub(self) -> None:
        """Start the MCP servers (each ready, failed or timed out); a server that is not ready
        is one warning note. Raises A2IAError when the hub itself cannot start."""
        if self.hub is None:
            return
        await self.hub.start()
        for name, state in self.hub.states().items():
            if state.status != "ready":
                # a server URL's user:password@ never reaches the screen
                self.note(redact_text(f"MCP server {name}: {state.status} {state.reason or ''}".rstrip()), "warning")
            elif state.note:  # e.g. a disabledTools name the server has no tool of
                self.note(redact_text(f"MCP server {name}: {state.note}"), "warning")

    # -- switching -----------------------------------------------------------------------------

    async def check(
        self, name: str, model: str | None = None, timeout_s: float | None = HEALTH_TIMEOUT_S
    ) -> tuple[LLMClient, bool, str]:
        """A new client for ``name`` (and ``model``) and its health: ``(client, ok, why)``, why
        without the "offline: " its caller says. The caller closes the client it does not use.
        Raises ConfigError for a backend that is not configured."""
        if name not in self.settings.backends:
            from .errors import ConfigError

            raise ConfigError(
                "settings", "backends", f"no backend named {name!r} (have: {', '.join(self.settings.backends)})"
            )
        client = self.make_client(name, model)
        try:
            health = await (client.health() if timeout_s is None else asyncio.wait_for(client.health(), timeout_s))
            return client, health.ok, health.detail.removeprefix("offline: ")
        except TimeoutError:
            return client, False, f"no answer within {timeout_s:g} s"
        except A2IAError as exc:
            return client, False, str(exc)

    async def use(self, name: str, client: LLMClient, *, adopt_model: bool = True) -> None:
        """Make ``client`` (of backend ``name``) the orchestrator's, and close the one it
        replaces; with ``adopt_model``, a client without a model first takes its server's."""
        if self.orchestrator is None:
            raise A2IAError("the session is not open")
        if adopt_model:
            await self.adopt_first_model(client)
        old = self.orchestrator.client
        self.orchestrator.set_client(client)
        self.backend = name
        if old is not client:
            await old.aclose()

    # -- closing -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client and the hub, and stop the engines this session started."""
        if self.orchestrator is not None:
            await self.orchestrator.client.aclose()
        if self.hub is not None:
            await self.hub.aclose()
        if self.engines is not None:
            await self.engines.aclose()
