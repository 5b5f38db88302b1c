"""The app's backend glue: switching backend or model, what the status bar and the sidebar show of
the current one, and vLLM's /metrics for the status bar.

Switching between turns replaces the orchestrator's client (the session core checks its health
first: an offline backend is only selected after the user has seen why it is offline and
confirmed, or when the sender already asked); during a turn the app asks whether to cancel it.
The conversation carries over and the chat notes the change. :class:`BackendGlue` belongs to
the app (``app.backends``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches

from ..core.errors import A2IAError
from ..core.session import HEALTH_TIMEOUT_S
from .widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from ..core.llm.base import LLMClient
    from .app import A2IAApp


def lists_model(models: list[str], model: str) -> bool:
    """Whether a server's model list has ``model``; Ollama names a model without a tag as
    ``NAME:latest``."""
    return model in models or (":" not in model and f"{model}:latest" in models)


class BackendGlue:
    def __init__(self, app: A2IAApp) -> None:
        self.app = app
        self._missing_models_noted: set[tuple[str, str]] = set()
        self._metrics_task: asyncio.Task[None] | None = None

    def show(self, name: str, client: LLMClient) -> None:
        """The status bar and the sidebar show ``client`` of backend ``name`` as the current one."""
        app = self.app
        app.status.set(
            backend=name,
            model=client.model,
            mode=app.mode_label(),
            tps=None,
            ttft=None,
            tokens_in=None,
            tokens_out=None,
            context_max=None,
        )
        self.sidebar_set(current_backend=name, current_model=client.model)
        app.run_worker(self._context_length(client), group="ctx", exclusive=True, exit_on_error=False)

    async def _context_length(self, client: LLMClient) -> None:
        try:
            n = await asyncio.wait_for(client.context_length(), HEALTH_TIMEOUT_S)
        except (TimeoutError, A2IAError):
            return
        orch = self.app.orchestrator
        if n and orch is not None and orch.client is client:
            self.app.status.set(context_max=n)

    def sidebar_set(self, **attrs: Any) -> None:
        try:
            sidebar = self.app.query_one("#sidebar", Sidebar)
        except NoMatches:  # not mounted (yet, or any more), or another screen is on top
            return
        for k, v in attrs.items():
            setattr(sidebar, k, v)

    def models_listed(self, backend: str, models: list[str]) -> None:
        """A backend chosen while offline has no model yet: as soon as its server lists some (its
        engine has come up), the status bar and the model picker show the one it will use, and
        the status bar its context length, rather than at the first question."""
        app = self.app
        orch = app.orchestrator
        if orch is None or backend != app.backend or app.turn_running:
            return
        client = orch.client
        if not client.model and models:
            client.model = models[0]
            self.show(backend, client)
        elif client.model and not lists_model(models, client.model):
            # a configured model the server does not have (Ollama's default "a2ia-qwen" on a
            # server without it): said now, once, rather than as the first answer's 404
            key = (backend, client.model)
            if key not in self._missing_models_noted:
                self._missing_models_noted.add(key)
                names = ", ".join(models[:5]) + (", …" if len(models) > 5 else "")
                app.chat.add_note(
                    f"{backend} does not list the model {client.model!r} (it has: {names}); "
                    "choose one in the sidebar's model picker.",
                    "warning",
                )

    def _engine_moved(self, name: str) -> bool:
        """The engine behind backend ``name`` runs now, and elsewhere than the current client
        talks to (started meanwhile on another port, by this app or another a2ia process)."""
        from ..core.engines.endpoint import engine_endpoint

        app = self.app
        s = app.services
        where = engine_endpoint(s.settings, name, paths=s.loaded.paths, engines=s.engines)
        orch = app.orchestrator
        if where is None or not where.running or orch is None:
            return False
        return where.url != orch.client.base_url

    async def switch(self, name: str, model: str | None = None, checked: bool = False) -> None:
        app = self.app
        await app.ready.wait()
        orch, session = app.orchestrator, app.session
        if orch is None or session is None:
            return
        if name not in app.services.settings.backends:
            app.notify(f"No backend named {name!r}", severity="error")
            return
        if name == app.backend and (model is None or model == orch.client.model) and not self._engine_moved(name):
            return
        if app.turn_running:
            ok = await app.push_screen_wait(
                app.confirm(f"An answer is streaming from {app.backend}. Stop it and switch to {name}?")
            )
            if not ok:
                return
            await app.cancel_turn()
        client, ok, why = await session.check(name, model)
        if not ok and not checked:
            if not await app.push_screen_wait(app.confirm(f"{name} is offline: {why}. Switch to it anyway?")):
                await client.aclose()
                return
        await session.use(name, client, adopt_model=ok)
        self.show(name, client)
        app.chat.add_note(
            f"Switched to {name}:{client.model or 'default model'}" + ("" if ok else f" (offline: {why})")
        )
        self.start_metrics()

    # -- vLLM's /metrics -----------------------------------------------------------------------

    def start_metrics(self) -> None:
        """Poll vLLM's /metrics for the status bar (KV cache, requests) while the backend is vLLM."""
        self.stop_metrics()
        app = self.app
        client = app.orchestrator.client if app.orchestrator is not None else None
        if client is None or client.kind != "vllm" or app.services.extras.get("no_metrics"):
            app.status.set(kv=None, running=None, waiting=None)
            return
        self._metrics_task = asyncio.create_task(self._poll_metrics(client.kind, client.base_url))

    def stop_metrics(self) -> None:
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            self._metrics_task = None

    async def _poll_metrics(self, kind: str, base_url: str) -> None:
        from ..core.monitor.metrics import MetricsPoller

        poller = MetricsPoller(kind, base_url)
        try:
            while True:
                metrics, _rates, _ = await poller.poll()  # a missing /metrics: None, the fields stay empty
                if metrics is not None:
                    self.app.status.set(
                        kv=metrics.kv_cache_usage,
                        running=None if metrics.running is None else int(metrics.running),
                        waiting=None if metrics.waiting is None else int(metrics.waiting),
                    )
                await asyncio.sleep(self.app.services.settings.monitor.metrics_interval_s)
        finally:
            await poller.aclose()
