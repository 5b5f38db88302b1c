"""Fakes of the core's seams (a2ia_tui/core/protocols.py) for tests that need no processes.

Each is checked against its Protocol by mypy (tests/core/test_session.py assigns them to
Protocol-typed names) and records what was asked of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from a2ia_tui.core.engines.state import EngineState
from a2ia_tui.core.errors import EngineStartError
from a2ia_tui.core.tools.hub import HubTool, ServerState, ToolResult

if TYPE_CHECKING:
    from a2ia_tui.core.engines.autotune import Proposal
    from a2ia_tui.core.engines.process import Engine
    from a2ia_tui.core.llm.types import ToolSpec


class FakeEngines:
    """An engine manager whose engines start at once (or fail with ``fail``), no process."""

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.notes: list[str] = []
        self.started: list[str] = []
        self.closed = False
        self._states: dict[str, EngineState] = {"local": EngineState(), "vllm": EngineState()}
        self._listeners: list[Callable[[str, EngineState], None]] = []

    def engines(self) -> dict[str, Engine]:
        return {}

    def add_listener(self, callback: Callable[[str, EngineState], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def states(self) -> dict[str, EngineState]:
        return dict(self._states)

    def running(self) -> list[str]:
        return [n for n, s in self._states.items() if s.status == "ready"]

    def root_pids(self) -> dict[int, str]:
        return {}

    def command(self, name: str, overrides: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
        return [name], []

    def proposal(self, name: str = "vllm") -> Proposal:
        raise OSError("no GPUs here")

    async def start(self, name: str, overrides: dict[str, Any] | None = None) -> EngineState:
        self.started.append(name)
        await asyncio.sleep(0)
        if self.fail:
            raise EngineStartError(self.fail)
        self._states[name] = EngineState(status="ready", url="http://127.0.0.1:1", managed=True)
        return self._states[name]

    async def stop(self, name: str) -> EngineState:
        self._states[name] = EngineState()
        return self._states[name]

    def leftovers(self) -> dict[str, dict[str, Any]]:
        return {}

    async def adopt(self, name: str) -> EngineState:
        return self._states[name]

    async def stop_leftover(self, name: str) -> EngineState:
        return self._states[name]

    async def aclose(self) -> None:
        self.closed = True

    def detach(self) -> None:
        pass


class FakeHub:
    """A tool hub with one read-only tool, ``echo``, and servers in the given states."""

    def __init__(self, states: dict[str, ServerState] | None = None) -> None:
        self._states = states or {"toy": ServerState("toy", "ready", tool_count=1)}
        schema = {"type": "object", "properties": {"text": {"type": "string"}}}
        self._tools = {"toy__echo": HubTool("toy__echo", "toy", "echo", "Echo the text", schema, read_only=True)}
        self.started = False
        self.closed = False

    async def start(self, wait: bool = True) -> None:
        self.started = True

    def states(self) -> dict[str, ServerState]:
        return dict(self._states)

    def add_listener(self, callback: Callable[[dict[str, ServerState]], None]) -> Callable[[], None]:
        return lambda: None

    def tools(self) -> list[HubTool]:
        return list(self._tools.values())

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self._tools.values()]

    def tool(self, name: str) -> HubTool | None:
        return self._tools.get(name)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(str(arguments.get("text", "")), False, 0.0)

    async def aclose(self) -> None:
        self.closed = True
