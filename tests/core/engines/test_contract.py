"""The API the TUI, the monitor and the agent's engine_status tool use; no orphan when the app
exits through an exception or a signal (real subprocesses)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.engines.status import read_engine_status
from tests.helpers.processes import free_port

REPO = Path(__file__).resolve().parents[3]


async def test_engines_map_and_engine_level_api(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    mgr = EngineManager(loaded.settings, loaded.paths)
    engines = mgr.engines()
    assert set(engines) == {"vllm", "local"}
    vllm = engines["vllm"]
    assert vllm.backend_name == "vllm" and engines["local"].backend_name == "local"
    seen = []
    vllm.add_listener(lambda s: seen.append(s.status))
    port = free_port()
    state = await vllm.start({"port": port})  # overrides: e.g. an autotune proposal
    assert state.status == "ready" and state.url == f"http://127.0.0.1:{port}/v1" and state.managed
    assert vllm.root_pids() == {state.pid: "vLLM (managed)"} and mgr.root_pids() == vllm.root_pids()
    assert any("Application startup complete." in ln for ln in vllm.log_tail(20))
    assert vllm.log_path.is_file()
    await vllm.aclose()
    assert vllm.state.status == "stopped" and vllm.root_pids() == {}
    assert seen[0] == "starting" and "ready" in seen and seen[-1] == "stopped"


async def test_read_engine_status_reports_running_and_stopped(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    mgr = EngineManager(loaded.settings, loaded.paths)
    state = await mgr.start("vllm")
    try:
        status = read_engine_status(loaded.settings, loaded.paths)
        json.dumps(status)  # JSON-able
        assert status["vllm"]["status"] == "ready" and status["vllm"]["pid"] == state.pid
        assert status["vllm"]["models"] == ["Qwen/Qwen2.5-7B-Instruct-AWQ"] and status["vllm"]["managed"] is True
        assert status["local"]["status"] in ("stopped", "ready")
    finally:
        await mgr.stop("vllm")
    assert read_engine_status(loaded.settings, loaded.paths)["vllm"]["status"] == "stopped"


def test_read_engine_status_never_raises(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    loaded.paths.run_dir.mkdir(parents=True, exist_ok=True)
    (loaded.paths.run_dir / "vllm.json").write_text("{not json")
    status = read_engine_status(loaded.settings, loaded.paths)
    assert status["vllm"]["status"] == "stopped" and status["vllm"]["managed"] is False


async def test_attached_vllm_is_never_started(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    loaded.settings.engines.vllm.attach_url = "http://10.0.0.5:8000/v1"
    mgr = EngineManager(loaded.settings, loaded.paths)
    assert mgr["vllm"].state.managed is False and mgr.is_attached("vllm")
    from a2ia_tui.core.errors import EngineStartError

    with pytest.raises(EngineStartError, match="attached"):
        await mgr.start("vllm")


async def test_a_missing_executable_says_how_to_install_the_engine(fake_vllm_loaded, tmp_path):
    from a2ia_tui.core.engines.vllm import INSTALL_HINT
    from a2ia_tui.core.errors import EngineStartError

    loaded = fake_vllm_loaded()
    loaded.settings.engines.vllm.executable = str(tmp_path / "no-such-vllm")
    mgr = EngineManager(loaded.settings, loaded.paths)
    with pytest.raises(EngineStartError, match="executable not found") as caught:
        await mgr.start("vllm")
    assert INSTALL_HINT and caught.value.hint == INSTALL_HINT
    assert mgr["vllm"].state.status != "ready"


_APP = """
import asyncio, sys, time
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
loaded = load_settings()
mgr = EngineManager(loaded.settings, loaded.paths)
mgr.install_signal_handlers()
async def main():
    state = await mgr.start("vllm")
    print(state.pid, flush=True)
    if sys.argv[1] == "exception":
        await asyncio.to_thread(sys.stdin.readline)  # the test has seen the engine alive
        raise RuntimeError("the app crashed")
    await asyncio.sleep(60)
asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["exception", "sigterm"])
def test_no_orphan_when_the_app_dies(fake_vllm_loaded, tmp_path, how):
    loaded = fake_vllm_loaded()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.update(_settings_env(loaded), A2IA_HOME=str(tmp_path / "home"))  # the fixture's home
    app = subprocess.Popen(
        [sys.executable, "-c", _APP, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = app.stdout.readline()
        assert line.strip().isdigit(), app.stderr.read()
        engine_pid = int(line)
        assert psutil.pid_exists(engine_pid)
        if how == "sigterm":
            app.send_signal(signal.SIGTERM)
        else:
            app.stdin.write("go\n")
            app.stdin.flush()
        app.wait(30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and psutil.pid_exists(engine_pid):
            time.sleep(0.05)
        assert not psutil.pid_exists(engine_pid)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        for pipe in (app.stdin, app.stdout, app.stderr):
            with contextlib.suppress(OSError):
                pipe.close()


def _settings_env(loaded) -> dict[str, str]:
    v = loaded.settings.engines.vllm
    return {
        "A2IA_ENGINES__VLLM__EXECUTABLE": v.executable,
        "A2IA_ENGINES__VLLM__PORT": str(v.port),
        "A2IA_ENGINES__VLLM__MODEL": v.model,
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(v.extra_args),
    }


async def test_a_second_start_while_starting_waits_for_the_same_process(
    fake_vllm_loaded,
):
    import asyncio

    loaded = fake_vllm_loaded("--fake-delay", "0.1")
    mgr = EngineManager(loaded.settings, loaded.paths)
    try:
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        first, second = await asyncio.gather(mgr.start("vllm"), mgr.start("vllm"))
        assert first.status == second.status == "ready" and first.pid == second.pid
        fakes = [
            p
            for p in psutil.Process().children(recursive=True)
            if p.pid not in before and any("fake_vllm" in a for a in p.cmdline())
        ]
        assert len(fakes) == 1, fakes  # one server, not two
    finally:
        await mgr.stop("vllm")
