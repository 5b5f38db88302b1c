"""Building the app for Pilot tests (scripted backends, a small in-process tool hub, a tmp store; or
a sidebar alone with the fake vLLM engine) and driving it: waiting, typing, clicking."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.store import HistoryStore
from a2ia_tui.core.tools.hub import HubTool, ServerState, ToolResult
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.messages import SelectBackend
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.engine_row import EngineRow
from a2ia_tui.tui.widgets.sidebar import Sidebar
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port

#: The app without its side panes (the chat alone).
FLAGS = {"ui.sidebar": False, "ui.gpu": False}


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


class StaticHub(MiniHub):
    """Two servers in fixed states (the sidebar's snapshot)."""

    def states(self):
        return {
            "a2ia": ServerState("a2ia", "ready", tool_count=9),
            "time": ServerState("time", "failed", reason="uvx: command not found"),
        }


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


async def wait_for(pilot, predicate, timeout: float = 20.0) -> None:
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


async def settle(pilot) -> None:
    """Let late mounts, scroll anchoring and animations finish (the machine may be loaded)."""
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)


def ready(app):
    return app.orchestrator is not None and "ctx" in app.query_one("#status").render_text()


# -- the sidebar alone, with the fake vLLM as its managed engine ------------------------------


def engine_services(tmp_path: Path, *fake_args: str, env: dict[str, str] | None = None) -> AppServices:
    """Services whose vLLM engine is the fake (``fake_args`` passed to it) on a free port, on a
    fake GPU, with scripted backends."""
    exe = write_wrapper(tmp_path)
    settings_env = {
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
        "A2IA_ENGINES__VLLM__MODEL": "Qwen/Qwen2.5-7B-Instruct-AWQ",
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(list(fake_args)),
        "A2IA_ENGINES__STOP_GRACE_S": "3",
        "A2IA_ENGINES__START_TIMEOUT_S": "60",
        "A2IA_FAKE_GPU": "one_gpu",
        "A2IA_HOME": str(tmp_path / "home"),
        **(env or {}),
    }
    loaded = load_settings(env=settings_env)
    return AppServices(
        loaded=loaded,
        make_client=lambda n, m: ScriptedClient(name=n, model=m),
        engines=EngineManager(loaded.settings, loaded.paths),
    )


class EngineApp(App):
    """The sidebar and a prompt; records the backends it is asked to select."""

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.selected: list[str] = []

    def compose(self):
        sb = Sidebar(self.services)
        sb.current_backend = "ollama"
        yield sb
        yield Input(id="prompt")  # where the app's chat prompt is

    def on_select_backend(self, message: SelectBackend) -> None:
        self.selected.append(message.backend)

    async def on_unmount(self) -> None:
        assert self.services.engines is not None
        await self.services.engines.aclose()


async def click(pilot, selector: str, timeout: float = 10.0) -> None:
    """Click once the layout has settled (a click during a relayout can land on the old spot);
    clicks are spaced past the double-click interval so each one counts on its own."""
    for _ in range(int(timeout / 0.6)):
        await pilot.pause(0.6)
        if await pilot.click(selector):
            return
    raise AssertionError(f"could not click {selector}")


async def click_button(pilot, app, engine: str, action: str, timeout: float = 10.0) -> None:
    """Click the button ``action`` (start, stop, log) of an engine's row, as :func:`click` does."""
    row = app.query_one(f"#engine-{engine}", EngineRow)
    for _ in range(int(timeout / 0.6)):
        await pilot.pause(0.6)
        if await pilot.click(row, offset=row.button_offset(action)):
            return
    raise AssertionError(f"could not click {action} of {engine}")
