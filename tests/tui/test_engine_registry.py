"""One engine registry: a kind registered in ONE place (``core.engines.kinds.register``) is an
engine everywhere: the ``engine`` command, ``engine status``, the manager, the sidebar's rows,
the palette and the start form (with its own fields), and "select when ready" picks the backend
named after it. The kind here exists only in this test: a real subprocess (the loopback fake
LLM server) on a port of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.widgets import Input, Static

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.kinds import EngineKind, FormField, register
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.engines.spec import EngineSpec
from a2ia_tui.core.engines.status import read_engine_status
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.entry import main
from a2ia_tui.tui.screens.engine_start import EngineStartScreen
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.engine_row import EngineRow
from tests.helpers.app import EngineApp, click_button, wait_for
from tests.helpers.processes import free_port

LLM_SERVER = Path(__file__).resolve().parents[1] / "fakes" / "llm_server.py"


class ToySettings(msgspec.Struct, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 0
    model: str = "toy-model"
    tokens_per_s: int = 50


class ToySpec(EngineSpec):
    name = "toy"
    label = "Toy engine"
    backend_name = "toy"
    port_for_test = 0

    @property
    def config(self) -> ToySettings:
        return msgspec.structs.replace(ToySettings(port=self.port_for_test), **self.overrides)

    @property
    def model(self) -> str:
        return self.config.model

    def argv(self) -> list[str]:
        c = self.config
        return [sys.executable, "-I", str(LLM_SERVER), "--port", str(c.port), "--model", c.model]

    async def probe(self, http: Any) -> bool:
        return bool((await http.get(self.url + "/models")).status_code == 200)


@pytest.fixture
def toy_kind():
    ToySpec.port_for_test = free_port()
    undo = register(
        EngineKind(
            ToySpec,
            form_fields=(FormField("tokens_per_s", "tokens per second", int, lambda v: v > 0, "a positive number"),),
        )
    )
    yield ToySpec
    undo()


def test_the_command_line_knows_a_registered_kind(toy_kind, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("A2IA_HOME", str(tmp_path / "home"))
    assert main(["engine", "command", "toy", "--json", "-m", "other-model"]) == 0
    argv = json.loads(capsys.readouterr().out)["argv"]
    assert argv[-4:] == ["--port", str(toy_kind.port_for_test), "--model", "other-model"]
    assert main(["engine", "autotune", "toy"]) == 2
    assert "toy has nothing to tune" in capsys.readouterr().err
    loaded = load_settings(env={"A2IA_HOME": str(tmp_path / "home")})
    status = read_engine_status(loaded.settings, loaded.paths)
    assert status["toy"]["status"] == "stopped"
    assert status["toy"]["url"] == f"http://127.0.0.1:{toy_kind.port_for_test}/v1"


async def test_sidebar_palette_and_start_form_show_it_and_it_starts(toy_kind, tmp_path):
    loaded = load_settings(env={"A2IA_HOME": str(tmp_path / "home"), "A2IA_ENGINES__STOP_GRACE_S": "3"})
    services = AppServices(
        loaded=loaded,
        make_client=lambda n, m: ScriptedClient(name=n, model=m),
        engines=EngineManager(loaded.settings, loaded.paths),
    )
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        row = app.query_one("#engine-toy", EngineRow)
        assert row.info.startswith("○ Toy engine  stopped")
        await click_button(pilot, app, "toy", "start")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
        screen = app.screen
        assert "Start Toy engine" in str(screen.query_one("#es-title", Static).render())
        field = screen.query_one("#es-tokens_per_s", Input)
        await wait_for(pilot, lambda: field.value == "50")  # from the kind's settings
        field.value = "0"
        screen.start()
        assert "tokens per second: '0' is not a positive number" in str(screen.query_one("#es-error").render())
        field.value = "80"
        assert "--port" in str(screen.query_one("#es-command").render())
        screen.start()
        await wait_for(pilot, lambda: services.engines.states()["toy"].status == "ready", timeout=60)
        await wait_for(pilot, lambda: app.selected == ["toy"])  # the backend named after the engine
        await wait_for(pilot, lambda: "ready" in row.info)
        assert services.engines.states()["toy"].url == f"http://127.0.0.1:{toy_kind.port_for_test}/v1"
        await services.engines.stop("toy")
        assert services.engines.states()["toy"].status == "stopped"


async def test_the_palette_offers_it(toy_kind, tmp_path):
    from a2ia_tui.tui.app import A2IAApp
    from a2ia_tui.tui.commands import A2IACommands
    from tests.helpers.app import engine_services

    services = engine_services(tmp_path)
    services.extras = {"animate": False, "no_metrics": True, "cursor_blink": False}
    app = A2IAApp(services)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.2)
        commands = A2IACommands(app.screen)
        await commands.startup()
        names = [str(item[0]) for item in commands._items]
        assert "Engine: start toy" in names and "Engine: stop toy" in names
        await app.shutdown()
