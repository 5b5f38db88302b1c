"""Building the app for Pilot tests: scripted backends, a small in-process tool hub, a tmp store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.store import HistoryStore
from a2ia_tui.core.tools.hub import HubTool, ServerState, ToolResult
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.services import AppServices


class MiniHub:
    """Duck-types the MCPHub surface the orchestrator and the app use, with two tools:
    ``notes__read`` (read-only) and ``notes__delete`` (destructive: needs approval)."""

    def __init__(self) -> None:
        schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
        self._tools = {
            "notes__read": HubTool("notes__read", "notes", "read", "Read a note", schema, read_only=True),
            "notes__delete": HubTool("notes__delete", "notes", "delete", "Delete a note", schema, destructive=True),
        }
        self.called: list[tuple[str, dict[str, Any]]] = []
        self.started = False
        self.closed = False

    async def start(self, wait: bool = True) -> None:
        self.started = True

    def states(self) -> dict[str, ServerState]:
        return {"notes": ServerState("notes", "ready", tool_count=2)}

    def add_listener(self, cb):
        return lambda: None

    def tools(self):
        return list(self._tools.values())

    def specs(self):
        return [t.spec() for t in self._tools.values()]

    def tool(self, name: str):
        return self._tools.get(name)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        self.called.append((name, arguments))
        await asyncio.sleep(0)
        if name == "notes__read":
            return ToolResult("line one\nline two\nline three\nline four\nline five", False, 0.01)
        return ToolResult(f"deleted {arguments['path']}", False, 0.01)

    async def aclose(self) -> None:
        self.closed = True


def build_app(
    scripts: dict[str, list] | None = None,
    *,
    store: HistoryStore | bool | None = True,
    hub: Any = None,
    tmp_path=None,
    backend: str = "vllm",
    flags: dict[str, Any] | None = None,
    healthy: dict[str, bool] | None = None,
) -> tuple[A2IAApp, dict[str, ScriptedClient]]:
    """An app whose backends are ScriptedClients, created on demand (the sidebar's health checks
    make their own); the returned dict holds the latest per backend name, and all clients of one
    name share its script and its ``calls`` log."""
    loaded = load_settings(None, flags={"tools.approval": "destructive", **(flags or {})})
    scripts = scripts or {}
    clients: dict[str, ScriptedClient] = {}

    def make_client(name: str, model: str | None) -> ScriptedClient:
        c = ScriptedClient(
            scripts.get(name, []),
            name=name,
            model=model or f"{name}-model",
            models=(f"{name}-model", f"{name}-big"),
            healthy=(healthy or {}).get(name, True),
        )
        old = clients.get(name)
        if old is not None:  # one script and one call log per backend, whichever client plays it
            c._replies = old._replies
            c.calls = old.calls
        clients[name] = c
        return c

    if store is True:
        store = HistoryStore(loaded.paths.history_db)
    services = AppServices(
        loaded=loaded,
        make_client=make_client,
        hub=hub,
        store=store or None,
        initial_backend=backend,
        extras={"animate": False, "no_metrics": True, "cursor_blink": False},
    )
    return A2IAApp(services), clients


async def wait_for(pilot, predicate, timeout: float = 10.0) -> None:
    """Let the app run until ``predicate()`` is true (generous bound; never a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached within the timeout")
        await pilot.pause(0.02)


async def send(pilot, text: str) -> None:
    pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")


def idle(app: A2IAApp) -> bool:
    return not app.turn_running and app.orchestrator is not None


class LayoutCounter:
    """``with LayoutCounter() as layouts:`` counts the screen layouts Textual does inside the
    block (``layouts.n``; set it to 0 to start again)."""

    def __init__(self) -> None:
        self.n = 0

    def __enter__(self) -> LayoutCounter:
        from textual.screen import Screen

        real = Screen._refresh_layout
        counter = self

        def counting(screen, *args, **kwargs):
            counter.n += 1
            return real(screen, *args, **kwargs)

        self._patch = pytest.MonkeyPatch()
        self._patch.setattr(Screen, "_refresh_layout", counting)
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch.undo()


async def approval_with_keys(pilot, timeout: float = 10.0):
    """The waiting approval once it has the keyboard: it takes it only when the prompt is empty
    and no key was pressed for a second (the Enter that sent the question counts)."""
    app = pilot.app

    def ready() -> bool:
        item = app.trace.pending_item()
        return item is not None and app.focused is item

    await wait_for(pilot, ready, timeout)
    return app.trace.pending_item()
