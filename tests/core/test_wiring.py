"""The real services, built in one place for the app and a2ia-cli (core.wiring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from a2ia_tui.core.config import LoadedSettings, load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.errors import ConfigError
from a2ia_tui.core.session import Session
from a2ia_tui.core.store.history import HistoryStore
from a2ia_tui.core.tools.hub import MCPHub
from a2ia_tui.core.wiring import RealServices
from a2ia_tui.tui.factory import default_services


def loaded(tmp_path: Path, **env: str) -> LoadedSettings:
    return load_settings(env={"A2IA_HOME": str(tmp_path / "home"), **env})


def test_one_engine_manager_per_run_made_on_first_need(tmp_path: Path) -> None:
    services = RealServices(loaded(tmp_path))
    assert services.engines is None
    engines = services.make_engines()
    assert isinstance(engines, EngineManager) and services.make_engines() is engines
    services.make_gpu_sampler()  # labels the engines' processes: the same manager
    assert services.engines is engines


async def test_clients_come_from_the_registry_by_backend_name(tmp_path: Path) -> None:
    services = RealServices(loaded(tmp_path, A2IA_BACKENDS__VLLM__BASE_URL="http://127.0.0.1:9/v1"))
    client = services.make_client("vllm", "m")
    try:
        assert (client.name, client.model, client.base_url) == ("vllm", "m", "http://127.0.0.1:9/v1")
    finally:
        await client.aclose()
    with pytest.raises(ConfigError, match="no backend named 'nope'"):
        services.make_client("nope", None)


async def test_the_hub_is_made_not_started(tmp_path: Path) -> None:
    hub = RealServices(loaded(tmp_path)).make_hub()
    assert isinstance(hub, MCPHub) and not hub.tools()
    await hub.aclose()


def test_the_history_store_opens_or_says_why_not(tmp_path: Path) -> None:
    store, why = RealServices(loaded(tmp_path)).open_store()
    assert isinstance(store, HistoryStore) and why is None
    store.close()
    store, why = RealServices(loaded(tmp_path, A2IA_HISTORY__ENABLED="false")).open_store()
    assert store is None and why is not None and "history.enabled = false" in why


def test_the_app_and_the_cli_take_the_same_factories(tmp_path: Path) -> None:
    settings = loaded(tmp_path)
    app = default_services(settings)
    session = Session.from_loaded(settings)
    for made in (app.make_client, app.make_hub, app.gpu_sampler_factory, app.open_store, session.make_client):
        assert getattr(made, "__self__", None).__class__ is RealServices
    assert isinstance(app.engines, EngineManager)  # the app shows its engines from the first frame
    assert session.engines is None  # the CLI makes them only when the local engine must start
