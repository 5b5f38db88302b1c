"""The GPU monitor against a real NVIDIA GPU (marker ``gpu``; skipped where NVML finds none, as
on CI). Everything else about the monitor is tested with the scripted fake NVML; these check that
the real library says what ``nvidia-smi`` says, that real work shows up (VRAM, utilisation, the
process and its managed-engine label), and that the pane draws a real card.

Run on a GPU machine: ``pytest -m gpu tests/core/monitor/test_real_gpu.py`` (the work needs PyTorch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.monitor.gpu import GPUSampler

pytestmark = pytest.mark.gpu

GPU_LOAD = Path(__file__).resolve().parents[2] / "fakes" / "gpu_load.py"
GIB = 1024**3


def _real_sampler(**env: str) -> GPUSampler:
    loaded = load_settings(env={"A2IA_MONITOR__PROCESS_INTERVAL_S": "0.01", **env})
    return GPUSampler(loaded.settings.monitor)


@pytest.fixture(scope="module")
def real_gpu():
    try:
        import pynvml  # noqa: F401
    except ImportError:
        pytest.skip("nvidia-ml-py is not installed")
    sampler = _real_sampler()
    snap = sampler.sample()
    sampler.close()
    if not snap.available or not snap.devices:
        pytest.skip(snap.reason or "NVML sees no GPU")
    return snap


def _smi(*fields: str) -> list[list[str]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        pytest.skip("nvidia-smi is not on PATH")
    out = subprocess.run(
        [exe, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [[c.strip() for c in line.split(",")] for line in out.strip().splitlines()]


def test_the_real_sample_says_what_nvidia_smi_says(real_gpu):
    rows = _smi("index", "name", "memory.total", "driver_version", "uuid")
    assert len(real_gpu.devices) == len(rows)
    assert real_gpu.driver == rows[0][3]
    for dev, (index, name, total_mib, _drv, uuid) in zip(real_gpu.devices, rows, strict=True):
        assert not dev.failed, dev.reason
        assert dev.index == int(index) and dev.name == name and dev.uuid == uuid
        assert dev.memory_total is not None
        print(f"GPU{index} {name}: NVML total {dev.memory_total // 2**20} MiB, nvidia-smi {total_mib} MiB")
        assert abs(dev.memory_total // 2**20 - int(total_mib)) <= 0.02 * int(total_mib)
        assert 0 < (dev.memory_used or 0) <= dev.memory_total
        assert dev.util_gpu is not None and 0 <= dev.util_gpu <= 100
        assert dev.temperature_c is not None and 0 < dev.temperature_c < 110
        assert dev.power_w is None or 0 < dev.power_w <= (dev.power_limit_w or 10_000) * 1.5
    assert not real_gpu.fake


def _start_load(gib: float, *, via_child: bool) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, str(GPU_LOAD), "--gib", str(gib), "--seconds", "120"]
    if via_child:
        cmd.append("--via-child")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("ready"):
        proc.wait(30)
        pytest.skip(f"no GPU work possible here ({line.strip() or proc.returncode})")
    return proc, int(line.split()[1])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_real_work_shows_as_vram_and_utilisation(real_gpu):
    sampler = _real_sampler()
    try:
        before = sampler.sample().devices[0].memory_used or 0
        proc, _pid = _start_load(4, via_child=False)
        try:
            busy = []
            for _ in range(30):  # NVML's utilisation is an average over its last sample period
                time.sleep(0.2)
                dev = sampler.sample().devices[0]
                busy.append(dev.util_gpu or 0)
            assert (dev.memory_used or 0) - before >= 4 * GIB
            assert max(busy) >= 20, busy
            hist = sampler.vram_history(0)
            assert hist[-1] > hist[0] and all(0 <= v <= 1 for v in hist)
        finally:
            _stop(proc)
    finally:
        sampler.close()


def test_the_process_holding_vram_is_listed_and_labelled_through_its_parent(real_gpu):
    proc, worker = _start_load(2, via_child=True)
    try:
        loaded = load_settings(env={"A2IA_MONITOR__PROCESS_INTERVAL_S": "0.01"})
        sampler = GPUSampler(loaded.settings.monitor, managed=lambda: {proc.pid: "vLLM (managed)"})
        try:
            procs = sampler.sample().devices[0].processes
        finally:
            sampler.close()
        if not procs:
            pytest.skip("NVML lists no processes in this machine (a VM or container hides them)")
        mine = [p for p in procs if p.pid == worker]
        if not mine:
            pytest.skip(f"NVML lists pids of another namespace ({[p.pid for p in procs]}), not {worker}")
        p = mine[0]
        assert p.visible and p.label == "vLLM (managed)" and p.display_name == "vLLM (managed)"
        assert p.used_bytes is not None and p.used_bytes >= 2 * GIB
        assert "compute" in p.kind
    finally:
        _stop(proc)
    # the worker went with its parent (nothing left holding the GPU)
    for _ in range(100):
        if not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the GPU worker {worker} outlived its parent")


async def test_the_gpu_pane_draws_the_real_card(real_gpu):
    from textual.app import App

    from a2ia_tui.tui.services import AppServices
    from a2ia_tui.tui.widgets.gpu import GPUPane
    from a2ia_tui.tui.widgets.gpu_card import GPUCard

    loaded = load_settings(env={"A2IA_MONITOR__GPU_INTERVAL_S": "0.1"})
    services = AppServices(
        loaded=loaded, make_client=lambda n, m: None, gpu_sampler_factory=lambda: GPUSampler(loaded.settings.monitor)
    )

    class PaneApp(App):
        def compose(self):
            yield GPUPane(services)

    app = PaneApp()
    async with app.run_test(size=(60, 30)) as pilot:
        for _ in range(200):
            if app.query(GPUCard):
                break
            await pilot.pause(0.05)
        cards = list(app.query(GPUCard))
        assert len(cards) == len(real_gpu.devices)
        text = cards[0].render_text(44).plain
        dev = real_gpu.devices[0]
        assert dev.name in text
        assert f"/{dev.memory_total / GIB:.1f} GiB" in text
        assert "°C" in text
        assert not app.query_one("#gpu-reason").display
