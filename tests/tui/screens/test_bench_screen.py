"""The bench from the command palette (a panel over the app, the report saved as JSON), and what the
app says about tools on the bundled engine (status bar, a note in the chat)."""

from __future__ import annotations

import json

from a2ia_tui.core.agent import toolsupport
from a2ia_tui.core.llm.scripted import text_reply
from a2ia_tui.core.llm.vllm import VLLMClient
from a2ia_tui.tui.screens.bench import BenchScreen
from a2ia_tui.tui.widgets.messages import NoteMessage
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.helpers.app import MiniHub, build_app, idle, send, wait_for


async def palette(pilot, app, command: str) -> None:
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: app.screen.is_modal)
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")


async def test_bench_from_the_palette_fills_the_table_and_saves_json(tmp_path):
    with FakeLLMServer("vllm", [Reply(text="a b c d e f g h", tokens_per_s=400)]).threaded() as srv:
        app, _clients = build_app()
        app.services.make_client = lambda name, model: VLLMClient(srv.url, name=name, model="fake-model")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: idle(app))
            await palette(pilot, app, "Bench: vllm")
            await wait_for(pilot, lambda: isinstance(app.screen, BenchScreen))
            screen = app.screen
            # the app stays visible under the panel: the status bar and panes keep updating
            assert len(app.screen_stack) == 2
            await wait_for(pilot, lambda: screen.saved_path is not None, timeout=60)
            table = screen.query_one("#bench-table")
            assert table.row_count == 4  # levels 1, 2, 4, 8
            first = table.get_row_at(0)
            assert first[0] == "1" and first[-1] == "0"
            what = str(screen.query_one("#bench-what").render())
            assert "128 tokens per reply, fixed" in what and "ignore_eos=True" in what
            saved = json.loads(screen.saved_path.read_text())
            assert [lv["concurrency"] for lv in saved["levels"]] == [1, 2, 4, 8]
            assert all(lv["tokens"] == 128 * lv["requests"] for lv in saved["levels"])
            assert screen.saved_path.parent == app.services.loaded.paths.data_dir / "bench"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, BenchScreen))
        bodies = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    assert all(b["ignore_eos"] is True for b in bodies[1:])


async def test_escape_stops_a_running_bench(tmp_path):
    with FakeLLMServer("vllm", [Reply(text="a b c d", tokens_per_s=2)]).threaded() as srv:
        app, _clients = build_app()
        app.services.make_client = lambda name, model: VLLMClient(srv.url, name=name, model="fake-model")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: idle(app))
            await app.push_screen(BenchScreen(app.services, "vllm"))
            await wait_for(pilot, lambda: srv.running > 0)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, BenchScreen))
            # the streams in flight were closed, nothing was saved
            await wait_for(pilot, lambda: srv.running == 0)
        assert not list(app.services.loaded.paths.data_dir.glob("bench/*.json"))


async def test_unreachable_backend_is_said_in_the_panel(tmp_path):
    app, _clients = build_app(healthy={"ollama": False})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: idle(app))
        await app.push_screen(BenchScreen(app.services, "ollama"))
        await wait_for(pilot, lambda: isinstance(app.screen, BenchScreen))
        what = app.screen.query_one("#bench-what")
        await wait_for(pilot, lambda: "not reachable" in str(what.render()))


async def test_bundled_engine_status_bar_and_note_say_what_the_model_gets(tmp_path, monkeypatch):
    monkeypatch.setattr(toolsupport, "BUNDLED_MODEL", toolsupport.ToolProtocol("off", "measured {react}/{native}"))
    app, clients = build_app({"local": [text_reply("Here you go.")] * 2}, hub=MiniHub(), backend="local")
    real = app.services.make_client

    def local_kind(name, model):
        c = real(name, model)
        if name == "local":
            c.kind = "local"  # what the registry makes for the bundled engine
        return c

    app.services.make_client = local_kind
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: idle(app))
        await wait_for(pilot, lambda: "tools: off" in app.status.render_text())
        assert "tools: auto" not in app.status.render_text()
        await send(pilot, "list the files here")
        await wait_for(pilot, lambda: idle(app) and clients["local"].calls)
        notes = [str(n.render()) for n in app.query(NoteMessage)]
        assert any("does not pass tools to the model" in n for n in notes), notes
        assert clients["local"].calls[0].tools is None
        # ctrl+r: ReAct for this model, said in the status bar
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "ReAct" in app.status.render_text())
