"""``a2ia-tui monitor`` as a script would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fakes.llm_server import FakeLLMServer


def run(*args, env):
    return subprocess.run([sys.executable, "-m", "a2ia_tui", "monitor", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_once_json_with_fake_gpus_and_a_live_backend():
    with FakeLLMServer("ollama", models=["a2ia-qwen"]).threaded() as srv:
        proc = run("--once", "--json", env={"A2IA_FAKE_GPU": "two_gpus", "A2IA_BACKENDS__OLLAMA__BASE_URL": srv.url,
                                             "A2IA_BACKENDS__VLLM__BASE_URL": "http://127.0.0.1:9/v1"})
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(proc.stdout)
    assert snap["gpus"]["available"] and len(snap["gpus"]["devices"]) == 2
    assert snap["backends"]["ollama"]["ok"] and snap["backends"]["ollama"]["loaded_models"][0]["name"] == "a2ia-qwen"
    assert not snap["backends"]["vllm"]["ok"] and "refused" in snap["backends"]["vllm"]["detail"]
    assert "engines" in snap


def test_lines_without_once():
    proc = run("--count", "2", "--interval", "0.1", env={"A2IA_FAKE_GPU": "no_driver", "A2IA_BACKENDS__VLLM__BASE_URL": "http://127.0.0.1:9/v1",
                                                          "A2IA_BACKENDS__OLLAMA__BASE_URL": "http://127.0.0.1:9"})
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and len(lines) == 2
    assert "no NVIDIA GPU found (the NVIDIA driver is not loaded)" in lines[0] and "vllm:down" in lines[0]
