"""The core objects the app's widgets use, built once by :func:`a2ia_tui.tui.factory.make_app`.

Widgets receive this object (attributes down) and never build core objects themselves, so tests
can hand the app fakes: a ScriptedClient factory, a fake-NVML sampler, an engine manager pointed
at the fake vllm executable, an in-memory history store.

Each service is typed with its seam in :mod:`a2ia_tui.core.protocols` (the fakes implement the
same Protocols). A service that is off or could not be built is ``None``; every widget copes
with that (shows why, never crashes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.config import LoadedSettings

if TYPE_CHECKING:  # imported lazily at run time to keep start-up fast
    from ..core.agent.chat_settings import ChatSettings
    from ..core.config import Settings
    from ..core.llm.base import LLMClient
    from ..core.protocols import EngineControl, GPUMonitor, History, ToolHub


@dataclass
class AppServices:
    loaded: LoadedSettings
    #: (backend name, model or None) -> a new LLMClient. Default: core.llm.registry.make_client.
    make_client: Callable[[str, str | None], LLMClient]
    #: The MCP hub (core.tools); started by the app after the first frame. None = tools off.
    hub: ToolHub | None = None
    #: () -> a new MCP hub, called by the app after the first frame when ``hub`` is None.
    make_hub: Callable[[], ToolHub] | None = None
    #: The engine manager (core.engines); None when engines are unavailable.
    engines: EngineControl | None = None
    #: () -> a GPU sampler (core.monitor.gpu); None = no GPU monitoring.
    gpu_sampler_factory: Callable[[], GPUMonitor] | None = None
    #: The history store (core.store); None = history off (with ``history_error`` saying why).
    store: History | None = None
    history_error: str | None = None
    #: () -> (store, error): opens the history store after the first frame when ``store`` is None.
    open_store: Callable[[], tuple[History | None, str | None]] | None = None
    #: Backend name chosen at start (``default_backend`` resolved), or None = resolve after first frame.
    initial_backend: str | None = None
    #: ``a2ia-tui "question"``: sent once the app has opened (see :mod:`a2ia_tui.tui.startwith`).
    start_question: str | None = None
    #: ``a2ia-tui --continue``: the last saved chat is reopened at start.
    continue_last: bool = False
    #: This run's chat settings from the command line (--system, --temperature...): over every chat's.
    chat_overrides: ChatSettings | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings
