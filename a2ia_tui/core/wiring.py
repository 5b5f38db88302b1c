"""The real services of one run, built in one place for the app and ``a2ia-cli``.

Registry clients, the engine manager, the MCP hub, the GPU sampler and the history store, each
made on first need: building :class:`RealServices` imports nothing heavy.
:meth:`.session.Session.from_loaded` (the CLI) and ``tui.factory.default_services`` (the app)
take their factories from here; tests pass fakes instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import LoadedSettings
    from .llm.base import LLMClient
    from .protocols import EngineControl, GPUMonitor, History, ToolHub


class RealServices:
    """Factories for the real services, from the loaded settings."""

    def __init__(self, loaded: LoadedSettings) -> None:
        self.loaded = loaded
        self.settings = loaded.settings
        #: The engine manager, once :meth:`make_engines` made it.
        self.engines: EngineControl | None = None

    def make_engines(self) -> EngineControl:
        """The engine manager (one per run: later calls return the same)."""
        if self.engines is None:
            from .engines.manager import EngineManager

            self.engines = EngineManager(self.settings, self.loaded.paths)
        return self.engines

    def make_client(self, name: str, model: str | None) -> LLMClient:
        """A client for backend ``name``. The backend named after a managed engine follows it:
        this run's engines once made, or another a2ia process's pid file."""
        from .llm.registry import make_client

        return make_client(self.settings, name, model=model, paths=self.loaded.paths, engines=self.engines)

    def make_hub(self) -> ToolHub:
        """The MCP hub of the configured servers (not started)."""
        from .tools.hub import MCPHub

        # The built-in server's status tools read the same settings file as this process (--config).
        return MCPHub(self.loaded.mcp_servers(), self.settings, config_file=self.loaded.config_file_used)

    def make_gpu_sampler(self) -> GPUMonitor:
        """The GPU sampler; it labels the managed engines' processes."""
        from .monitor.gpu import GPUSampler

        return GPUSampler(self.settings.monitor, managed=self.make_engines().root_pids)

    def open_store(self) -> tuple[History | None, str | None]:
        """``(history store, None)``, or ``(None, why history is off)``."""
        from .store import open_store

        return open_store(self.loaded)
