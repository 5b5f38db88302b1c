"""``a2ia-tui monitor`` as a script would use it, and the collector behind it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.monitor.snapshot import MonitorCollector, one_line
from tests.fakes.llm_server import FakeLLMServer

pytestmark = pytest.mark.filterwarnings("error")
DOWN = "http://127.0.0.1:9"


def run(*args, env, **kw):
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui", "monitor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        **kw,
    )


def test_once_json_with_fake_gpus_and_a_live_backend():
    with FakeLLMServer("ollama", models=["a2ia-qwen"]).threaded() as srv:
        proc = run(
            "--once",
            "--json",
            env={
                "A2IA_FAKE_GPU": "two_gpus",
                "A2IA_BACKENDS__OLLAMA__BASE_URL": srv.url,
                "A2IA_BACKENDS__VLLM__BASE_URL": DOWN + "/v1",
            },
        )
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(proc.stdout)
    assert snap["gpus"]["available"] and len(snap["gpus"]["devices"]) == 2
    assert snap["gpus"]["note"].startswith("fake GPU scenario")
    assert snap["backends"]["ollama"]["ok"] and snap["backends"]["ollama"]["loaded_models"][0]["name"] == "a2ia-qwen"
    assert not snap["backends"]["vllm"]["ok"] and "refused" in snap["backends"]["vllm"]["detail"]
    assert set(snap["engines"]) >= {"vllm", "local"}


def test_lines_without_once():
    proc = run(
        "--count",
        "2",
        "--interval",
        "0.1",
        env={
            "A2IA_FAKE_GPU": "no_driver",
            "A2IA_BACKENDS__VLLM__BASE_URL": DOWN + "/v1",
            "A2IA_BACKENDS__OLLAMA__BASE_URL": DOWN,
        },
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and len(lines) == 2
    assert "no NVIDIA GPU found (the NVIDIA driver is not loaded)" in lines[0] and "vllm:down" in lines[0]


@pytest.mark.parametrize("bad", ["0", "-1", "soon"])
def test_bad_interval_is_one_line(bad):
    proc = run("--interval", bad, env={})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith("a2ia-tui monitor: error: argument --interval")


def test_closed_pipe_ends_quietly():
    env = {
        **os.environ,
        "A2IA_FAKE_GPU": "one_gpu",
        "A2IA_BACKENDS__VLLM__BASE_URL": DOWN + "/v1",
        "A2IA_BACKENDS__OLLAMA__BASE_URL": DOWN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2ia_tui", "monitor", "--interval", "0.05", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    rc = proc.wait(timeout=30)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert json.loads(first)["gpus"]["available"]
    assert rc == 0 and "Traceback" not in err, err


async def test_collector_keeps_state_rates_from_second_scrape_and_labels_managed_engines(monkeypatch):
    import a2ia_tui.core.engines.status as status

    # A managed vLLM whose root is this process's parent: the fake GPU's "$SELF" process descends from it.
    monkeypatch.setattr(
        status,
        "read_engine_status",
        lambda settings, paths: {
            "vllm": {"managed": True, "pid": os.getppid(), "status": "ready"},
            "local": {"managed": False, "status": "stopped"},
        },
    )
    with FakeLLMServer("vllm", models=["qwen"]).threaded() as srv:
        loaded = load_settings(
            env={
                "A2IA_FAKE_GPU": "two_gpus",
                "A2IA_BACKENDS__VLLM__BASE_URL": srv.url,
                "A2IA_BACKENDS__OLLAMA__BASE_URL": DOWN,
            }
        )
        collector = MonitorCollector(loaded)
        try:
            first = await collector.collect()
            srv.generated += 500
            second = await collector.collect()
        finally:
            await collector.aclose()
    vllm1, vllm2 = first["backends"]["vllm"], second["backends"]["vllm"]
    assert vllm1["ok"] and vllm1["metrics"]["running"] == 0 and "rates" not in vllm1
    assert vllm2["rates"]["generation_tokens_per_s"] > 0
    assert "kv " in one_line(second) and "gen " in one_line(second)
    procs = second["gpus"]["devices"][0]["processes"]
    mine = [p for p in procs if p["pid"] == os.getpid()]
    assert mine and mine[0]["label"] == "vLLM (managed)" and mine[0]["display_name"] == "vLLM (managed)"
    assert collector.sampler._initialized is False  # closed: nvmlShutdown ran


async def test_collector_survives_an_engine_status_failure(monkeypatch):
    import a2ia_tui.core.engines.status as status

    def boom(settings, paths):
        raise RuntimeError("pid dir unreadable")

    monkeypatch.setattr(status, "read_engine_status", boom)
    loaded = load_settings(
        env={
            "A2IA_FAKE_GPU": "no_driver",
            "A2IA_BACKENDS__VLLM__BASE_URL": DOWN + "/v1",
            "A2IA_BACKENDS__OLLAMA__BASE_URL": DOWN,
        }
    )
    collector = MonitorCollector(loaded)
    try:
        snap = await collector.collect()
    finally:
        await collector.aclose()
    assert snap["engines"] == {"error": "pid dir unreadable"}
    assert not snap["gpus"]["available"] and "driver is not loaded" in snap["gpus"]["reason"]


def test_one_line_shows_failed_gpus_unknowns_and_running_engines():
    snap = {
        "gpus": {
            "available": True,
            "devices": [
                {"index": 0, "failed": True, "reason": "GPU is lost (fell off the bus)"},
                {
                    "index": 1,
                    "memory_used": 2 * 1024**3,
                    "memory_total": 8 * 1024**3,
                    "util_gpu": None,
                    "temperature_c": 40,
                },
            ],
        },
        "backends": {
            "vllm": {
                "ok": True,
                "metrics": {"kv_cache_usage": 0.25, "running": 2.0, "waiting": None},
                "rates": {"generation_tokens_per_s": 12.5},
            }
        },
        "engines": {
            "vllm": {"managed": True, "pid": 4321, "status": "starting"},
            "local": {"managed": False, "status": "stopped"},
        },
    }
    line = one_line(snap)
    assert line == (
        "GPU0 FAILED (GPU is lost (fell off the bus)) | GPU1 2.0/8.0GiB ? 40C"
        " | vllm:up kv 25% run 2 wait 0 gen 12.5 tok/s | engine vllm: starting pid 4321"
    )
