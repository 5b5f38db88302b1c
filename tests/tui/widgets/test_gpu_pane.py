"""The GPU pane with the fake NVML (two GPUs, no driver, a lost GPU) and without a sampler."""

from __future__ import annotations

import os

from textual.app import App

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.gpu import GPUPane
from a2ia_tui.tui.widgets.gpu_card import GPUCard, sparkline


def services_for(scenario: str | None, *, interval: float = 0.05) -> AppServices:
    env = {"A2IA_MONITOR__GPU_INTERVAL_S": str(interval), "A2IA_MONITOR__PROCESS_INTERVAL_S": str(interval)}
    if scenario:
        env["A2IA_FAKE_GPU"] = scenario
    loaded = load_settings(env=env)

    def factory():
        return GPUSampler(loaded.settings.monitor, managed=lambda: {os.getpid(): "vLLM (managed)"})

    return AppServices(
        loaded=loaded,
        make_client=lambda n, m: ScriptedClient(name=n, model=m),
        gpu_sampler_factory=factory if scenario else None,
    )


class PaneApp(App):
    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services

    def compose(self):
        yield GPUPane(self.services)


async def wait_for(pilot, cond, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


def card_text(app, index: int) -> str:
    card = app.query_one(f"#gpu-card-{index}", GPUCard)
    return card.render_text(60).plain


async def test_two_gpus_show_cards_with_figures_processes_and_history():
    app = PaneApp(services_for("two_gpus"))
    async with app.run_test(size=(80, 50)) as pilot:
        await wait_for(pilot, lambda: len(app.query(GPUCard)) == 2)
        pane = app.query_one(GPUPane)
        # history grows on a fixed scale: several samples arrive
        await wait_for(pilot, lambda: len(pane.sampler.vram_history(0)) >= 3)
        text0, text1 = card_text(app, 0), card_text(app, 1)
        assert "NVIDIA GeForce RTX 3090" in text0
        assert "/24.0 GiB" in text0
        assert "vLLM (managed)" in text0  # the $SELF process, labelled as the managed engine
        assert "°C" in text0 and " W" in text0
        assert "pid 999999 (not visible)" in text1 or "999999" in text1
        assert not app.query_one("#gpu-reason").display
        # the rendered sparkline reflects high VRAM use (~85 % → a high block), not min..max scaling
        spark_line = text0.split("\n")[2]
        assert spark_line.strip() and set(spark_line.strip()) <= set("▆▇█")


async def test_no_driver_is_a_calm_reason():
    app = PaneApp(services_for("no_driver"))
    async with app.run_test() as pilot:
        reason = app.query_one("#gpu-reason")
        await wait_for(pilot, lambda: "no NVIDIA GPU found" in str(reason.render()))
        assert "(" in str(reason.render())  # the reason is given
        assert not app.query(GPUCard)


async def test_no_sampler_says_monitoring_is_off():
    app = PaneApp(services_for(None))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "off" in str(app.query_one("#gpu-reason").render())


async def test_a_lost_gpu_shows_its_reason():
    app = PaneApp(services_for("gpu_lost"))
    async with app.run_test(size=(80, 50)) as pilot:
        await wait_for(pilot, lambda: any(c.device.failed for c in app.query(GPUCard)))
        failed = next(c for c in app.query(GPUCard) if c.device.failed)
        assert "FAILED" in failed.render_text(60).plain
        assert failed.has_class("-failed")


def test_sparkline_is_fixed_scale():
    assert sparkline([0.8, 0.8, 0.8], 5) == "  ▇▇▇"
    assert sparkline([0.0, 0.5, 1.0], 3) == " ▅█"
    assert sparkline([0.1] * 10, 4) == "▁▁▁▁"
