"""``make_app``: the one way to build the app, shared by the entry point and the tests.

``make_app(loaded)`` builds the real services (registry clients, an MCP hub created after the
first frame, the engine manager, the GPU sampler factory, the history store); tests pass their
own :class:`AppServices` (a ScriptedClient factory, an in-memory or tmp store, no engines).
Nothing slow happens here: heavy modules are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.config import LoadedSettings
from .gctune import GC_THRESHOLDS, tune_gc  # noqa: F401 - the start path's, re-exported
from .services import AppServices

if TYPE_CHECKING:
    from ..core.llm.base import LLMClient
    from ..core.protocols import GPUMonitor, History, ToolHub


def default_services(loaded: LoadedSettings) -> AppServices:
    settings = loaded.settings

    def make_client(name: str, model: str | None) -> LLMClient:
        from ..core.llm.registry import make_client as real

        # the backend named after a managed engine follows it (this app's, or another's pid file)
        return real(settings, name, model=model, paths=loaded.paths, engines=engines)

    def make_hub() -> ToolHub:
        from ..core.tools.hub import MCPHub

        # The built-in server's status tools read the same settings file as this process (--config).
        return MCPHub(loaded.mcp_servers(), settings, config_file=loaded.config_file_used)

    def gpu_sampler_factory() -> GPUMonitor:
        from ..core.monitor.gpu import GPUSampler

        return GPUSampler(settings.monitor, managed=engines.root_pids)

    from ..core.engines.manager import EngineManager

    engines = EngineManager(settings, loaded.paths)

    def store_opener() -> tuple[History | None, str | None]:
        from ..core.store import open_store

        return open_store(loaded)

    return AppServices(
        loaded=loaded,
        make_client=make_client,
        make_hub=make_hub if settings.tools.enabled else None,
        engines=engines,
        gpu_sampler_factory=gpu_sampler_factory,
        open_store=store_opener,
        initial_backend=None if settings.default_backend == "auto" else settings.default_backend,
    )


def make_app(loaded: LoadedSettings, services: AppServices | None = None):
    from .app import A2IAApp

    tune_gc()
    return A2IAApp(services or default_services(loaded))
