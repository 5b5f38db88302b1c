"""Side-pane costs: what the GPU pane and the sidebar add to the app, against baselines measured
in the same run.

  card        ``GPUCard.render_text`` for one device (the per-sample drawing work, 60 columns,
              600-sample histories) vs ``GPUSampler.sample()`` of the same fake device table.
              Goal: under 1 ms per card (it runs once per sample, i.e. once a second).
  pane CPU    process CPU time / wall time of a headless app showing the GPU pane sampling the
              fake ``two_gpus`` at ``--hz`` (default 1 Hz, the product's rate; try --hz 10 for a
              stress figure) for ``--duration`` seconds vs the same app with an empty pane.
              Goal: under 1 % of one core at 1 Hz.
  sidebar     the same, for the Sidebar health-checking 3 scripted backends every
              ``--health-interval`` seconds (default 1 s, 15x the product's rate) vs the empty app.

Run: .venv/bin/python tests/benchmarks/bench_panes.py [--duration 10] [--hz 1] [--health-interval 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.app import App
from textual.widgets import Static

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.gpu import GPUPane
from a2ia_tui.tui.widgets.gpu_card import GPUCard
from a2ia_tui.tui.widgets.sidebar import Sidebar


def per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def bench_card(n: int) -> None:
    loaded = load_settings(env={"A2IA_FAKE_GPU": "two_gpus", "A2IA_MONITOR__PROCESS_INTERVAL_S": "3600"})
    sampler = GPUSampler(loaded.settings.monitor)
    for _ in range(600):
        snap = sampler.sample()
    dev = snap.devices[0]
    card = GPUCard(dev, sampler.vram_history(0), sampler.util_history(0))
    sample_s = per_call(sampler.sample, n)
    draw_s = per_call(lambda: card.render_text(60), n)
    print(
        f"card    sample() {sample_s * 1e6:8.1f} µs   render_text(60) {draw_s * 1e6:8.1f} µs   "
        f"ratio draw/sample {draw_s / sample_s:5.2f}"
    )


class PaneApp(App):
    def __init__(self, widget_factory) -> None:
        super().__init__()
        self.widget_factory = widget_factory

    def compose(self):
        yield self.widget_factory()


async def cpu_share(widget_factory, duration: float) -> float:
    app = PaneApp(widget_factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)  # start-up is not the steady state
        c0, w0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(duration)
        c1, w1 = time.process_time(), time.perf_counter()
    return (c1 - c0) / (w1 - w0)


def ratio(x: float, base: float) -> str:
    return f"ratio {x / base:.1f}x" if base >= 0.0005 else "baseline ~0: ratio not meaningful"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--hz", type=float, default=1.0)
    ap.add_argument("--health-interval", type=float, default=1.0)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("A2IA_HOME", "/tmp/a2ia-bench-panes")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, duration {args.duration:.0f} s per run")
    bench_card(args.calls)

    interval = 1.0 / args.hz
    gpu_loaded = load_settings(
        env={
            "A2IA_FAKE_GPU": "two_gpus",
            "A2IA_MONITOR__GPU_INTERVAL_S": str(interval),
            "A2IA_MONITOR__PROCESS_INTERVAL_S": str(max(interval, 2.0)),
        }
    )
    gpu_services = AppServices(
        loaded=gpu_loaded,
        make_client=lambda n, m: ScriptedClient(name=n, model=m),
        gpu_sampler_factory=lambda: GPUSampler(gpu_loaded.settings.monitor),
    )
    loaded = load_settings(env={})

    def make_client(name, model):
        return ScriptedClient(name=name, model=model, healthy=name != "local")

    side_services = AppServices(loaded=loaded, make_client=make_client)
    Sidebar.HEALTH_INTERVAL_S = args.health_interval

    base = asyncio.run(cpu_share(lambda: Static("empty"), args.duration))
    pane = asyncio.run(cpu_share(lambda: GPUPane(gpu_services), args.duration))
    side = asyncio.run(cpu_share(lambda: Sidebar(side_services), args.duration))
    print(f"baseline (empty app)          {base * 100:6.2f} % of a core")
    print(
        f"GPU pane @ {args.hz:g} Hz (2 GPUs)     {pane * 100:6.2f} % of a core   "
        f"(+{(pane - base) * 100:.2f} points, {ratio(pane, base)})"
    )
    print(
        f"sidebar, health every {args.health_interval:g} s  {side * 100:6.2f} % of a core   "
        f"(+{(side - base) * 100:.2f} points, {ratio(side, base)})"
    )


if __name__ == "__main__":
    main()
