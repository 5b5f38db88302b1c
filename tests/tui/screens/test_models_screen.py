"""The models screen at 80x24: Ollama pull/delete/details and the hub cache, from the sidebar and the
palette, against the loopback Ollama fake and the fake hub (real wire formats, real child process)."""

from __future__ import annotations

import threading

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, ProgressBar, Static, TabbedContent

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.models import hfcache
from a2ia_tui.tui.screens.dialogs import ConfirmScreen
from a2ia_tui.tui.screens.models import ModelsScreen
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.sidebar import Sidebar
from tests.fakes.fake_hub import TINY, FakeHub
from tests.fakes.llm_server import FakeLLMServer, PullPlan
from tests.tui.app_helpers import build_app, wait_for


def services_for(ollama_url: str) -> AppServices:
    loaded = load_settings(env={"A2IA_BACKENDS__OLLAMA__BASE_URL": ollama_url})

    def make_client(name: str, model: str | None) -> ScriptedClient:
        return ScriptedClient(name=name, model=model, models=(f"{name}-model",))

    return AppServices(loaded=loaded, make_client=make_client)


class SidebarApp(App):
    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services

    def compose(self):
        sb = Sidebar(self.services)
        sb.current_backend = "ollama"
        yield sb


def text(screen, widget_id: str) -> str:
    return str(screen.query_one(f"#{widget_id}", Static).render())


def rows(screen, table_id: str) -> list[str]:
    table = screen.query_one(f"#{table_id}", DataTable)
    return [str(k.value) for k in table.rows]


async def open_from_sidebar(pilot) -> ModelsScreen:
    await pilot.click("#manage-models")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModelsScreen))
    return pilot.app.screen


async def test_ollama_details_pull_with_progress_failure_and_delete():
    """You should see Ollama's models with details, a pull's progress bar, a failed pull's reason
    with nothing registered, and a delete after confirming."""
    with FakeLLMServer("ollama", models=["qwen2.5:7b", "llama3.2:3b"], max_model_len=32768).threaded() as srv:
        srv.catalog["smollm2:135m"] = PullPlan(layers=[4_000_000, 1_000], pace_s=0.05)
        srv.catalog["big:70b"] = PullPlan(layers=[9_000_000], fail_after=3)
        app = SidebarApp(services_for(srv.root))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_from_sidebar(pilot)
            await wait_for(pilot, lambda: rows(screen, "ollama-table") == ["qwen2.5:7b", "llama3.2:3b"])
            await wait_for(pilot, lambda: "VRAM" in text(screen, "ollama-details"))
            details = text(screen, "ollama-details")
            assert "7.6B" in details and "Q4_K_M" in details and "context 32,768" in details
            assert "5.0 GB VRAM" in details and "83% in VRAM" in details

            # pull: the progress bar shows while the layers stream, then the model is listed
            screen.query_one("#ollama-name", Input).value = "smollm2:135m"
            screen.query_one("#ollama-name", Input).focus()
            await pilot.press("enter")
            bar = screen.query_one("#ollama-progress", ProgressBar)
            await wait_for(pilot, lambda: bar.display and (bar.percentage or 0) > 0)
            await wait_for(pilot, lambda: "pulled smollm2:135m" in text(screen, "ollama-status"))
            await wait_for(pilot, lambda: "smollm2:135m" in rows(screen, "ollama-table"))
            assert not bar.display

            # a pull that fails half way: the reason, and nothing registered
            screen.query_one("#ollama-name", Input).value = "big:70b"
            await pilot.click("#ollama-pull")
            await wait_for(pilot, lambda: "unexpected EOF" in text(screen, "ollama-status"))
            assert "big:70b" in text(screen, "ollama-status")
            assert "big:70b" not in srv.models and "big:70b" not in rows(screen, "ollama-table")

            # delete the highlighted model, after the question
            table = screen.query_one("#ollama-table", DataTable)
            table.move_cursor(row=1)
            await pilot.click("#ollama-delete")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "deleted llama3.2:3b" in text(screen, "ollama-status"))
            await wait_for(pilot, lambda: "llama3.2:3b" not in rows(screen, "ollama-table"))
            assert srv.models == ["qwen2.5:7b", "smollm2:135m"]
            deletes = [r for r in srv.requests if r.method == "DELETE"]
            assert [r.body for r in deletes] == [{"model": "llama3.2:3b"}]
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ModelsScreen))


async def test_unreachable_ollama_is_one_line():
    app = SidebarApp(services_for("http://127.0.0.1:9"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_from_sidebar(pilot)
        await wait_for(pilot, lambda: "cannot reach Ollama" in text(screen, "ollama-note"))
        assert "\n" not in text(screen, "ollama-note")


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    cache = tmp_path / "hf-cache"
    hold = threading.Event()
    with FakeHub({"org/tiny": TINY, "org/gated": TINY}, gated={"org/gated"}, hold=hold).threaded() as hub:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        yield hub, cache, hold
        hold.set()


async def test_hub_cache_pull_progress_gated_and_delete(fake_hub):
    """You should see the hub cache's models with sizes, a pull's progress, a gated model's reason,
    and a delete after confirming."""
    _hub, cache, hold = fake_hub
    app = SidebarApp(services_for("http://127.0.0.1:9"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_from_sidebar(pilot)
        screen.query_one("#models-tabs", TabbedContent).active = "tab-hub"
        await wait_for(pilot, lambda: "0 models" in text(screen, "hub-note"))
        await pilot.pause()
        screen.query_one("#hub-name", Input).value = "org/tiny"
        await pilot.click("#hub-pull")
        bar = screen.query_one("#hub-progress", ProgressBar)
        # the first chunk of each file arrives, then the fake holds: the bar shows a part
        await wait_for(pilot, lambda: bar.display and 0 < (bar.percentage or 0) < 1, timeout=60)
        hold.set()
        await wait_for(pilot, lambda: "pulled org/tiny" in text(screen, "hub-status"), timeout=60)
        await wait_for(pilot, lambda: rows(screen, "hub-table") == ["org/tiny"])
        assert "1 models" in text(screen, "hub-note")

        screen.query_one("#hub-name", Input).value = "org/gated"
        await pilot.click("#hub-pull")
        await wait_for(pilot, lambda: "is gated" in text(screen, "hub-status"), timeout=60)
        assert rows(screen, "hub-table") == ["org/tiny"]

        await pilot.click("#hub-delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "deleted org/tiny" in text(screen, "hub-status"))
        await wait_for(pilot, lambda: rows(screen, "hub-table") == [])
        assert hfcache.list_cached(cache) == []


async def test_palette_opens_the_models_screen():
    app, _clients = build_app(backend="ollama")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*"Models: manage")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelsScreen))


async def test_engine_row_shows_the_download_then_ready(fake_hub, tmp_path):
    """You should see the vLLM row say "downloading 12.3 kB / 205.5 kB (5%)" with its bar while the
    model's weights arrive from the (fake) hub, then ready."""
    from a2ia_tui.core.engines.manager import EngineManager
    from a2ia_tui.tui.widgets.engine_row import EngineRow
    from tests.core.engines.conftest import free_port, write_wrapper

    _hub, cache, hold = fake_hub
    env = {
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(write_wrapper(tmp_path)),
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
        "A2IA_ENGINES__VLLM__MODEL": "org/tiny",
        "A2IA_ENGINES__STOP_GRACE_S": "3",
        "A2IA_HOME": str(tmp_path / "home"),
    }
    loaded = load_settings(env=env)
    mgr = EngineManager(loaded.settings, loaded.paths)
    services = AppServices(loaded=loaded, make_client=lambda n, m: ScriptedClient(name=n, model=m), engines=mgr)
    app = SidebarApp(services)
    async with app.run_test(size=(80, 24)) as pilot:
        row = app.query_one("#engine-vllm", EngineRow)
        start = app.run_worker(mgr.start("vllm"), exit_on_error=False)
        await wait_for(pilot, lambda: "downloading" in row.info and "%" in row.info, timeout=60)
        assert row.progress is not None and row.progress < 100
        hold.set()
        await wait_for(pilot, lambda: mgr["vllm"].state.status == "ready", timeout=60)
        await wait_for(pilot, lambda: "downloading" not in row.info)
        assert hfcache.is_complete("org/tiny", cache_dir=cache)
        await start.wait()
        await mgr.stop("vllm")
    await mgr.aclose()
