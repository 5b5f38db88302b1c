"""Snapshot tests of the side panes (pytest-textual-snapshot): an engine starting with progress,
a failed engine, the GPU pane with two GPUs. Update with ``--snapshot-update`` and look at the
SVGs under ``__snapshots__/test_panes_snapshots``.

Deterministic by construction: the engine states come from the core's own phase parser and
failure explainer fed with vLLM's real log lines (no process, no clock, no free port: the port is
fixed and nothing listens); the fake GPU is frozen at one tick (``A2IA_FAKE_GPU_TICK``) and sampled
once (a long interval); the one visible process is this test process, labelled as the managed
engine."""

from __future__ import annotations

import os

import pytest
from textual.app import App

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.gpu import GPUPane
from a2ia_tui.tui.widgets.gpu_card import GPUCard
from a2ia_tui.tui.widgets.sidebar import Sidebar
from tests.helpers.app import StaticHub

pytestmark = pytest.mark.timeout(120)

STARTING_LINES = [
    "(APIServer pid=4242) INFO 11-25 08:00:00 [api_server.py:1] vLLM API server version 0.33.0",
    "(EngineCore pid=4243) INFO 11-25 08:00:01 [core.py:1] Starting to load model Qwen/Qwen2.5-7B-Instruct-AWQ...",
    "Loading safetensors checkpoint shards: 50% Completed | 1/2 [00:01<00:01]",
]
OOM_LINES = [
    *STARTING_LINES[:2],
    "(EngineCore pid=4243) ERROR torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. "
    "GPU 0 has a total capacity of 11.66 GiB of which 98.56 MiB is free.",
    "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
]


def sidebar_services(tmp_path) -> AppServices:
    loaded = load_settings(
        env={
            "A2IA_HOME": str(tmp_path / "home"),
            "A2IA_ENGINES__VLLM__PORT": "8000",
            "A2IA_ENGINES__VLLM__MODEL": "Qwen/Qwen2.5-7B-Instruct-AWQ",
        }
    )
    healthy = {"ollama": True}

    def make_client(name, model):
        return ScriptedClient(
            name=name, model=model, healthy=healthy.get(name, False), models=("qwen2.5:7b", "llama3.2:3b")
        )

    return AppServices(
        loaded=loaded, make_client=make_client, hub=StaticHub(), engines=EngineManager(loaded.settings, loaded.paths)
    )


class SidebarApp(App):
    CSS = "Sidebar { width: 30; border-right: vkey $panel-lighten-2; }"

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services

    def compose(self):
        sb = Sidebar(self.services)
        sb.current_backend = "ollama"
        sb.current_model = "qwen2.5:7b"
        yield sb


async def settle(pilot, app) -> None:
    sb = app.query_one(Sidebar)
    for _ in range(200):
        if set(sb.backend_names) <= set(sb.health) and sb.models:
            break
        await pilot.pause(0.05)
    sb.workers.cancel_group(sb, "health")  # no later re-check can change the picture
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)


def feed(engine, lines, status="starting") -> None:
    """Drive the real Engine's state machine with vLLM's real log lines (its own phase parser)."""
    engine._set(status="starting", progress=0.0, phase="launching")
    for line in lines:
        engine._log.feed(line)
    if status == "failed":
        cause, hint = engine.spec.explain(list(lines), 1)
        engine._set(status="failed", cause=cause, hint=hint, exit_code=1, last_lines=tuple(lines))


def test_engine_starting_with_progress(snap_compare, tmp_path) -> None:
    """You should see the backends (ollama ● ready and selected, vllm ◐ starting with its
    percentage and the phase "loading weights…"-style line, local ✗ offline with its reason), the
    model picker with qwen2.5:7b marked, the vLLM engine row "◐ vLLM starting" with its phase and a
    progress bar near half, Start disabled and Stop enabled, and two MCP servers (a2ia with 9
    tools, time failed with its reason)."""
    services = sidebar_services(tmp_path)
    app = SidebarApp(services)

    async def run_before(pilot):
        feed(services.engines["vllm"], STARTING_LINES)
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(30, 48), run_before=run_before)


def test_failed_engine(snap_compare, tmp_path) -> None:
    """You should see the vLLM engine row "✗ vLLM failed" with the cause (CUDA out of memory ...)
    in red and the hint (lower gpu_memory_utilization / max_model_len, or a smaller model) in
    yellow, no progress bar, Start enabled again, and the vllm backend ✗ offline."""
    services = sidebar_services(tmp_path)
    app = SidebarApp(services)

    async def run_before(pilot):
        feed(services.engines["vllm"], OOM_LINES, status="failed")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(30, 48), run_before=run_before)


class GPUApp(App):
    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services

    def compose(self):
        yield GPUPane(self.services)


def test_gpu_pane_two_gpus(snap_compare, monkeypatch) -> None:
    """You should see two cards: GPU0 NVIDIA GeForce RTX 3090 with a red VRAM bar near 20/24 GiB, a
    red utilisation bar in the 90s, one-sample sparklines, °C and W/limit W figures, "vLLM
    (managed)" holding ~19.5 GiB and the unattributed rest; GPU1 with its own figures and
    "pid 999999 (not visible)" holding memory."""
    monkeypatch.setenv("A2IA_FAKE_GPU_TICK", "2")
    loaded = load_settings(env={"A2IA_FAKE_GPU": "two_gpus", "A2IA_MONITOR__GPU_INTERVAL_S": "3600"})

    def factory():
        return GPUSampler(loaded.settings.monitor, managed=lambda: {os.getpid(): "vLLM (managed)"})

    app = GPUApp(
        AppServices(
            loaded=loaded, make_client=lambda n, m: ScriptedClient(name=n, model=m), gpu_sampler_factory=factory
        )
    )

    async def run_before(pilot):
        for _ in range(200):
            if len(app.query(GPUCard)) == 2:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(48, 30), run_before=run_before)
