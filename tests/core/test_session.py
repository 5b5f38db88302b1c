"""The session core shared by the app and a2ia-cli: backend, engine, model, hub, orchestrator, switching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from a2ia_tui.core.config import Settings, load_settings
from a2ia_tui.core.errors import A2IAError, EngineStartError
from a2ia_tui.core.llm.scripted import OFFLINE, ScriptedClient
from a2ia_tui.core.protocols import EngineControl, ToolHub
from a2ia_tui.core.session import Session
from a2ia_tui.core.tools.hub import ServerState
from tests.fakes.services import FakeEngines, FakeHub


class Backends:
    """Scripted clients by backend name; ``healthy`` says which answer (all, unless listed)."""

    def __init__(self, healthy: dict[str, bool] | None = None, models: tuple[str, ...] = ("first", "second")) -> None:
        self.healthy = healthy or {}
        self.models = models
        self.made: list[ScriptedClient] = []

    def __call__(self, name: str, model: str | None) -> ScriptedClient:
        client = ScriptedClient(name=name, model=model, models=self.models, healthy=self.healthy.get(name, True))
        self.made.append(client)
        return client


def settings(tmp_path: Path, **flags: Any) -> Settings:
    return load_settings(env={"A2IA_HOME": str(tmp_path / "home")}, flags=flags).settings


def make(tmp_path: Path, backends: Backends, **kwargs: Any) -> tuple[Session, list[tuple[str, str]]]:
    notes: list[tuple[str, str]] = []
    flags = kwargs.pop("flags", {})
    session = Session(
        settings(tmp_path, **flags),
        make_client=backends,
        note=lambda text, level: notes.append((level, text)),
        **kwargs,
    )
    return session, notes


async def test_open_builds_the_orchestrator_on_the_configured_backend_with_the_servers_model(tmp_path: Path) -> None:
    hub = FakeHub()
    session, notes = make(tmp_path, Backends(), hub=hub, flags={"default_backend": "vllm"})
    orch = await session.open()
    assert session.backend == "vllm" and orch is session.orchestrator
    assert orch.client.name == "vllm" and orch.client.model == "first"  # none configured: the server's
    assert orch.hub is hub and not hub.started  # started by start_hub (the app: in the background)
    assert notes == []


async def test_auto_takes_the_first_reachable_backend_in_configuration_order(tmp_path: Path) -> None:
    backends = Backends(healthy={"ollama": False})
    session, _ = make(tmp_path, backends)
    assert session.settings.default_backend == "auto"
    assert await session.resolve_backend() == "vllm"
    assert all(c.closed for c in backends.made)  # the probes' clients
    backends.healthy["vllm"] = False
    assert await session.resolve_backend() == "local"


async def test_a_local_backend_with_nothing_answering_starts_the_bundled_engine(tmp_path: Path) -> None:
    engines = FakeEngines()
    session, notes = make(tmp_path, Backends(healthy={"local": False}), engines=engines)
    await session.open("local")
    assert engines.started == ["local"] and session.started_engines == {"local"}
    assert [level for level, _ in notes] == ["info", "info"] and "local engine is ready" in notes[-1][1]


async def test_a_local_backend_that_answers_starts_nothing(tmp_path: Path) -> None:
    engines = FakeEngines()
    session, _ = make(tmp_path, Backends(), engines=engines)
    await session.open("local")
    assert engines.started == []


async def test_the_engine_is_made_on_first_need(tmp_path: Path) -> None:
    made: list[FakeEngines] = []

    def make_engines() -> EngineControl:
        made.append(FakeEngines())
        return made[-1]

    session, _ = make(tmp_path, Backends(healthy={"local": False}), make_engines=make_engines)
    await session.open("vllm")
    assert made == []
    await session.open("local")
    assert len(made) == 1 and made[0].started == ["local"]


async def test_a_failed_engine_is_a_note_for_the_app_and_an_error_for_the_cli(tmp_path: Path) -> None:
    session, notes = make(tmp_path, Backends(healthy={"local": False}), engines=FakeEngines(fail="port in use"))
    await session.open("local")  # the app opens all the same: the first question says why
    assert notes[-1] == ("error", "The local engine did not start: port in use")
    session, _ = make(tmp_path, Backends(healthy={"local": False}), engines=FakeEngines(fail="port in use"))
    with pytest.raises(EngineStartError, match="port in use"):
        await session.open("local", require_engine=True)


async def test_without_engines_or_autostart_the_cli_says_why(tmp_path: Path) -> None:
    session, _ = make(tmp_path, Backends(healthy={"local": False}))
    with pytest.raises(A2IAError, match="local engine is not available"):
        await session.open("local", require_engine=True)
    engines = FakeEngines()
    session, _ = make(
        tmp_path, Backends(healthy={"local": False}), engines=engines, flags={"engines.autostart_local": False}
    )
    await session.open("local")
    assert engines.started == []
    with pytest.raises(A2IAError, match="autostart_local is off"):
        await session.open("local", require_engine=True)


async def test_start_hub_notes_each_server_that_is_not_ready_without_its_credentials(tmp_path: Path) -> None:
    hub = FakeHub(
        {
            "toy": ServerState("toy", "ready", tool_count=1),
            "web": ServerState("web", "failed", reason="cannot reach https://me:hunter2@example.org/mcp"),
        }
    )
    session, notes = make(tmp_path, Backends(), hub=hub)
    await session.open("vllm")
    await session.start_hub()
    assert hub.started
    assert (
        len(notes) == 1 and notes[0][0] == "warning" and notes[0][1].startswith("MCP server web: failed cannot reach")
    )
    assert "hunter2" not in notes[0][1]


async def test_the_hub_is_made_only_when_tools_are_on(tmp_path: Path) -> None:
    made: list[ToolHub] = []

    def make_hub() -> ToolHub:
        made.append(FakeHub())
        return made[-1]

    session, _ = make(tmp_path, Backends(), make_hub=make_hub, flags={"tools.enabled": False})
    assert (await session.open("vllm")).hub is None and made == []
    session, _ = make(tmp_path, Backends(), make_hub=make_hub)
    assert (await session.open("vllm")).hub is made[0]


async def test_switching_checks_health_then_swaps_the_client_and_closes_the_old_one(tmp_path: Path) -> None:
    backends = Backends(healthy={"ollama": False})
    session, _ = make(tmp_path, backends)
    orch = await session.open("vllm")
    first = backends.made[-1]
    assert orch.client is first
    client, ok, why = await session.check("ollama")
    assert (ok, why) == (False, OFFLINE.removeprefix("offline: "))
    await client.aclose()
    client, ok, why = await session.check("vllm", "second")
    assert ok and client.model == "second"
    await session.use("vllm", client)
    assert orch.client is client and first.closed and session.backend == "vllm"
    with pytest.raises(A2IAError, match="no backend named 'nosuch'"):
        await session.check("nosuch")


async def test_aclose_closes_the_client_the_hub_and_the_engines(tmp_path: Path) -> None:
    hub, engines = FakeHub(), FakeEngines()
    session, _ = make(tmp_path, Backends(), hub=hub, engines=engines)
    orch = await session.open("vllm")
    await session.aclose()
    assert isinstance(orch.client, ScriptedClient) and orch.client.closed and hub.closed and engines.closed


def test_the_fakes_implement_the_protocols() -> None:
    hub: ToolHub = FakeHub()
    engines: EngineControl = FakeEngines()
    assert hub.tools() and engines.running() == []
