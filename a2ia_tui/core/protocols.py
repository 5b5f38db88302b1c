"""The seams between the UI and the core: what the app and its widgets use of each core service.

The app (``tui/``) holds these, never the concrete classes, so a test can hand it a fake that
implements exactly this and nothing more; mypy checks the real classes and the fakes against
them (``tests/core/test_protocols.py``). Each one names its real implementation:

- :class:`ToolHub`: :class:`~.tools.hub.MCPHub` (the orchestrator uses the same surface).
- :class:`EngineControl`: :class:`~.engines.manager.EngineManager`.
- :class:`History`: :class:`~.store.history.HistoryStore`.
- :class:`GPUMonitor`: :class:`~.monitor.gpu.GPUSampler`.

Errors cross these seams as :class:`~.errors.A2IAError` subclasses only (see ``errors.py``);
anything else is a bug, reported once by the app's top-level boundary.

Nothing is imported at run time: the types named here load with the modules that use them.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .agent.conversation import Conversation
    from .engines.autotune import Proposal
    from .engines.process import Engine
    from .engines.state import EngineState
    from .llm.types import ToolSpec
    from .monitor.gpu import GPUSnapshot
    from .store.history import ConversationInfo, SearchHit
    from .tools.hub import HubTool, ServerState, ToolResult


class ToolHub(Protocol):
    """The MCP servers' tools under one namespace."""

    async def start(self, wait: bool = True) -> None:
        """Start every configured server; with ``wait``, return once each is ready or failed."""

    def states(self) -> Mapping[str, ServerState]:
        """Each server's state, by name."""
        ...

    def add_listener(self, callback: Callable[[dict[str, ServerState]], None]) -> Callable[[], None]:
        """Call ``callback`` on every change of state; returns the function that stops it."""
        ...

    def tools(self) -> list[HubTool]: ...

    def specs(self) -> list[ToolSpec]:
        """The tools as offered to the model."""
        ...

    def tool(self, name: str) -> HubTool | None: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Run a tool; a failure is a result with ``is_error``, never an exception."""
        ...

    async def aclose(self) -> None: ...


class EngineControl(Protocol):
    """The managed local servers (vLLM, the bundled llama.cpp engine)."""

    #: One-line notes about pid files that were malformed or named another process.
    notes: builtins.list[str]

    def engines(self) -> dict[str, Engine]: ...

    def add_listener(self, callback: Callable[[str, EngineState], None]) -> Callable[[], None]:
        """Call ``callback(name, state)`` on every change, on the event loop; returns the
        function that stops it."""
        ...

    def states(self) -> dict[str, EngineState]: ...

    def running(self) -> builtins.list[str]:
        """Engines this process started (or adopted) that are up."""
        ...

    def root_pids(self) -> dict[int, str]:
        """The managed servers' root processes, for the GPU pane: ``{pid: label}``."""
        ...

    def command(
        self, name: str, overrides: dict[str, Any] | None = None
    ) -> tuple[builtins.list[str], builtins.list[str]]:
        """``(argv, notes)`` exactly as :meth:`start` would run it."""
        ...

    def proposal(self, name: str = "vllm") -> Proposal:
        """The autotune estimate for the GPUs (blocking: reads NVML; run it in a thread). Raises
        OSError when the machine cannot be read."""
        ...

    async def start(self, name: str, overrides: dict[str, Any] | None = None) -> EngineState:
        """Start an engine and return once it is ready (raises EngineStartError)."""
        ...

    async def stop(self, name: str) -> EngineState: ...

    def leftovers(self) -> dict[str, dict[str, Any]]:
        """Servers left running by a crashed session (from their pid files), by engine name."""
        ...

    async def adopt(self, name: str) -> EngineState: ...

    async def stop_leftover(self, name: str) -> EngineState: ...

    async def aclose(self) -> None:
        """Stop what this process started."""

    def detach(self) -> None:
        """Leave the engines running after this process exits."""


class History(Protocol):
    """The saved conversations. Every method may raise StoreError (one line: the database's
    reason)."""

    def sync(self, conversation: Conversation) -> int:
        """Write what is not written yet; a locked database keeps it waiting (see waiting)."""
        ...

    @property
    def waiting(self) -> int:
        """Messages kept in memory because the database was locked."""
        ...

    def flush(self) -> int: ...

    def list(self, limit: int | None = None) -> builtins.list[ConversationInfo]: ...

    def load(self, conversation_id: str) -> Conversation: ...

    def rename(self, conversation_id: str, title: str) -> None: ...

    def delete(self, conversation_id: str) -> None: ...

    def delete_all(self) -> int:
        """Delete every saved conversation; returns how many."""
        ...

    def search(self, text: str, limit: int = 50) -> builtins.list[SearchHit]:
        """Conversations whose messages (or title) contain the text, best match first."""
        ...

    def close(self) -> None: ...


class GPUMonitor(Protocol):
    """The GPUs' samples (NVML or the scripted fake), with fixed-size histories per device."""

    def samples(self) -> AsyncIterator[GPUSnapshot]:
        """Snapshots, forever, at the configured interval (NVML runs in a thread)."""
        ...

    def vram_history(self, index: int) -> builtins.list[float]: ...

    def util_history(self, index: int) -> builtins.list[float]: ...

    def close(self) -> None: ...
