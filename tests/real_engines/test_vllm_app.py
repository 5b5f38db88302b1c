"""The real vLLM (CPU build) from the app, driven by Textual's Pilot as a user would: Start in the
sidebar's vLLM row, the start form (whose estimate knows a CPU build), progress through the
phases, ready and selected, a streamed answer with tok/s and KV% in the status bar, an answer
stopped with Escape that the server aborts, then Stop in the row, leaving no process."""

from __future__ import annotations

from pathlib import Path

import pytest

from a2ia_tui.core.llm.registry import make_client
from a2ia_tui.core.monitor.metrics import MetricsPoller
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.screens.engine_start import EngineStartScreen
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.engine_row import EngineRow
from tests.helpers.app import click, click_button, idle, send, wait_for
from tests.helpers.processes import alive, free_port, process_tree
from tests.helpers.real_vllm import SERVED, START_TIMEOUT_S, manager_for, vllm_settings

pytestmark = [pytest.mark.real_vllm, pytest.mark.timeout(int(START_TIMEOUT_S) + 300)]


def status_text(app: A2IAApp) -> str:
    return app.status.render_text()


async def running_on_server(url: str) -> float | None:
    poller = MetricsPoller("vllm", url)
    try:
        metrics, _rates, _ = await poller.poll()
    finally:
        await poller.aclose()
    return None if metrics is None else metrics.running


async def test_start_chat_stop_from_the_app(real_vllm: tuple[Path, Path], tmp_path: Path) -> None:
    python, model = real_vllm
    loaded = vllm_settings(
        tmp_path / "home",
        python,
        model,
        # nothing answers there: the app starts on a backend that is down, until vLLM is ready
        A2IA_BACKENDS__OLLAMA__BASE_URL=f"http://127.0.0.1:{free_port()}",
        A2IA_ENGINES__AUTOSTART_LOCAL="false",
        A2IA_MONITOR__METRICS_INTERVAL_S="0.5",
    )
    manager = manager_for(loaded)
    services = AppServices(
        loaded=loaded,
        make_client=lambda name, m: make_client(loaded.settings, name, model=m),
        engines=manager,
        initial_backend="ollama",
        extras={"animate": False, "cursor_blink": False},
    )
    app = A2IAApp(services)
    url = loaded.settings.backends["vllm"].base_url or ""
    tree = []
    try:
        async with app.run_test(size=(140, 50)) as pilot:
            row = app.query_one("#engine-vllm", EngineRow)
            await click_button(pilot, app, "vllm", "start")
            await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen), 30)
            screen = app.screen
            summary = screen.query_one("#es-summary")
            await wait_for(pilot, lambda: "estimating" not in str(summary.render()), 60)
            # the estimate knows this is vLLM's CPU build: RAM and its KV cache space, not VRAM
            estimate = str(summary.render())
            assert "does NOT fit" not in estimate and "NVIDIA" not in estimate, estimate
            assert "CPU" in estimate, estimate
            await click(pilot, "#es-start")
            phases: list[str] = []

            def progress() -> bool:
                st = manager.states()["vllm"]
                if st.status == "starting" and (not phases or phases[-1] != st.phase):
                    phases.append(st.phase)
                if st.status == "failed":
                    raise AssertionError(f"vLLM failed to start: {st.cause} / {st.last_lines[-5:]}")
                return st.status == "ready"

            await wait_for(pilot, progress, START_TIMEOUT_S)
            assert len(phases) >= 3, phases  # the row and the form went through vLLM's phases
            phase_text = screen.query_one("#es-phase")
            await wait_for(pilot, lambda: "ready" in str(phase_text.render()), 30)
            await pilot.press("escape")
            # "select when ready": the chat now talks to the engine
            await wait_for(pilot, lambda: app.backend == "vllm", 60)
            assert row.info.splitlines()[0] == "● vLLM  ready"
            tree = process_tree(manager.states()["vllm"].pid or 0)

            await wait_for(pilot, lambda: idle(app), 60)
            # back to the prompt, as a user clicks it (the focus is still on the row's buttons)
            await click(pilot, "#prompt")
            await send(pilot, "Name three fruits.")
            await wait_for(pilot, lambda: app.turn_running, 30)
            await wait_for(pilot, lambda: idle(app), 300)
            await wait_for(pilot, lambda: "tok/s" in status_text(app) and "KV " in status_text(app), 60)
            bar = status_text(app)
            assert SERVED in bar, bar

            # Escape stops a long answer, and the server aborts the request
            await send(pilot, "Write a very long story about a lighthouse keeper.")
            await wait_for(pilot, lambda: app.turn_running, 30)
            await wait_for(pilot, lambda: "▶" in status_text(app), 120)  # tokens are streaming
            await pilot.press("escape")
            await wait_for(pilot, lambda: idle(app), 60)
            for _ in range(240):
                if await running_on_server(url) == 0:
                    break
                await pilot.pause(0.5)
            assert await running_on_server(url) == 0, "the stopped answer still runs on the server"

            await click_button(pilot, app, "vllm", "stop")
            await wait_for(pilot, lambda: manager.states()["vllm"].status == "stopped", 120)
            assert row.info.splitlines()[0].startswith("○ vLLM  stopped")
    finally:
        await manager.aclose()
    for _ in range(120):
        if not alive(tree):
            break
        import asyncio

        await asyncio.sleep(0.5)
    assert tree and not alive(tree), alive(tree)
