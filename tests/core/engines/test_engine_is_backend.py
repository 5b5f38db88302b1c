"""The managed engine is the backend: whatever host, port and served model name an engine runs
with (settings, ``engine start --port``, the start form's overrides, an engine adopted from
another a2ia process), the ``vllm`` backend, ``engine status``, ``monitor``, ``a2ia-cli
--backend vllm`` and the in-process clients use exactly that. Real subprocesses: the fake
``vllm`` executable (the loopback fake server in vLLM's flavour) on a port that is not 8000."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.endpoint import engine_endpoint
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.llm.registry import backend_url, make_client
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port


def run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )


@pytest.fixture
def engine_env(tmp_path):
    return {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(write_wrapper(tmp_path)),
        "A2IA_ENGINES__STOP_GRACE_S": "3",
        "A2IA_FAKE_GPU": "no_driver",
        # the default port is the settings' port, and nothing must be found there by accident
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
    }


def test_started_on_another_port_every_part_follows_it(engine_env):
    port = free_port()
    start = run("a2ia_tui", "engine", "start", "vllm", "--port", str(port), "-m", "org/served-7b", env=engine_env)
    assert start.returncode == 0, start.stderr
    url = f"http://127.0.0.1:{port}/v1"
    try:
        status = json.loads(run("a2ia_tui", "engine", "status", "--json", env=engine_env).stdout)
        assert status["vllm"]["status"] == "ready" and status["vllm"]["url"] == url
        assert status["vllm"]["model"] == "org/served-7b"

        snap = json.loads(run("a2ia_tui", "monitor", "--once", "--json", env=engine_env).stdout)
        assert snap["backends"]["vllm"]["url"] == url and snap["backends"]["vllm"]["ok"], snap["backends"]["vllm"]

        cli = run("a2ia_tui.cli", "--backend", "vllm", "--no-tools", "-p", "hello", env=engine_env)
        assert cli.returncode == 0, cli.stderr
        assert "Hello from fake vLLM." in cli.stdout

        # in another process: the pid file says where it runs, and which model it serves
        loaded = load_settings(env=engine_env)
        assert backend_url(loaded.settings, "vllm", paths=loaded.paths) == url
        client = make_client(loaded.settings, "vllm", paths=loaded.paths)
        assert (client.base_url, client.model) == (url, "org/served-7b")

        elsewhere = run("a2ia_tui", "engine", "start", "vllm", "--port", str(free_port()), env=engine_env)
        assert elsewhere.returncode == 1
        assert f"already runs at {url}" in elsewhere.stderr and "engine stop vllm" in elsewhere.stderr
    finally:
        stop = run("a2ia_tui", "engine", "stop", "vllm", env=engine_env)
    assert stop.returncode == 0, stop.stderr
    loaded = load_settings(env=engine_env)
    # stopped: back to where Start would run it (the settings), not the port it last ran on
    assert backend_url(loaded.settings, "vllm", paths=loaded.paths) == (
        f"http://127.0.0.1:{engine_env['A2IA_ENGINES__VLLM__PORT']}/v1"
    )


def test_cli_with_nothing_running_says_it_cannot_reach_the_engine(engine_env):
    port = engine_env["A2IA_ENGINES__VLLM__PORT"]
    cli = run("a2ia_tui.cli", "--backend", "vllm", "--no-tools", "-p", "hello", env=engine_env)
    assert cli.returncode == 1
    line = cli.stderr.strip().splitlines()[-1]
    assert f"cannot reach the vllm backend at http://127.0.0.1:{port}/v1" in line, cli.stderr
    assert "a2ia-tui engine start vllm" in line and "no model" not in cli.stderr


async def test_in_process_the_running_engine_wins_over_settings_and_base_url(engine_env, tmp_path):
    """The start form's overrides (another port, a served name) and even a configured base_url:
    while the engine runs, the vllm backend is the engine; a server the app does not manage
    keeps a backend of its own."""
    env = {
        **engine_env,
        "A2IA_BACKENDS__VLLM__BASE_URL": "http://127.0.0.1:9/v1",
        "A2IA_BACKENDS__REMOTE__KIND": "vllm",
        "A2IA_BACKENDS__REMOTE__BASE_URL": "http://127.0.0.1:9/v1",
    }
    loaded = load_settings(env=env)
    mgr = EngineManager(loaded.settings, loaded.paths)
    port = free_port()
    try:
        assert make_client(loaded.settings, "vllm", engines=mgr).base_url == "http://127.0.0.1:9/v1"
        await mgr.start("vllm", {"port": port, "served_model_name": "house-model"})
        url = f"http://127.0.0.1:{port}/v1"
        client = make_client(loaded.settings, "vllm", engines=mgr)
        assert (client.base_url, client.model) == (url, "house-model")
        assert make_client(loaded.settings, "remote", engines=mgr).base_url == "http://127.0.0.1:9/v1"
        assert (await client.health()).ok
        await client.aclose()

        # another a2ia process adopts it from its pid file: it follows it too
        other = EngineManager(loaded.settings, loaded.paths)
        assert (await other.adopt("vllm")).url == url
        endpoint = engine_endpoint(loaded.settings, "vllm", engines=other)
        assert endpoint is not None and (endpoint.url, endpoint.model, endpoint.source) == (
            url,
            "house-model",
            "running",
        )
    finally:
        await mgr.stop("vllm")
