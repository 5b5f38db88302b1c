"""``a2ia-tui engine ...`` from separate processes: start leaves it running, stop stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil

from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port


def cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui", "engine", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_start_status_stop_across_processes(tmp_path):
    exe = write_wrapper(tmp_path)
    port = free_port()
    env = {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
        "A2IA_ENGINES__STOP_GRACE_S": "3",
    }
    start = cli(
        "start",
        "vllm",
        "--port",
        str(port),
        "-m",
        "Qwen/Qwen2.5-0.5B-Instruct",
        env=env,
    )
    assert start.returncode == 0, start.stderr
    assert f"ready at http://127.0.0.1:{port}/v1" in start.stdout
    assert "KV cache allocated" in start.stderr
    pid = int(start.stdout.split("pid ")[1].split(",")[0])
    assert psutil.pid_exists(pid)
    status = json.loads(cli("status", "--json", env={**env, "A2IA_ENGINES__VLLM__PORT": str(port)}).stdout)
    assert status["vllm"]["status"] == "ready" and status["vllm"]["pid"] == pid
    logs = cli("logs", "vllm", "-n", "5", env=env)
    assert "Application startup complete." in logs.stdout
    stop = cli("stop", "vllm", env=env)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_failed_start_exits_nonzero_with_cause_and_hint(tmp_path):
    exe = write_wrapper(tmp_path)
    env = {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": '["--fake-mode", "oom"]',
    }
    proc = cli("start", "vllm", "--port", str(free_port()), env=env)
    assert proc.returncode == 1
    assert "CUDA out of memory" in proc.stderr and "AWQ" in proc.stderr


def test_command_prints_the_exact_argv(tmp_path):
    env = {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__MODEL": "mistralai/Mistral-7B-Instruct-v0.3",
        "A2IA_ENGINES__VLLM__API_KEY": "sk-hidden",
    }
    proc = cli("command", "vllm", "--print0", env=env)
    argv = proc.stdout.split("\0")[:-1]
    assert argv[:3] == ["vllm", "serve", "mistralai/Mistral-7B-Instruct-v0.3"] and "--tool-call-parser" in argv
    assert "sk-hidden" not in proc.stdout
    local = cli("command", "local", "--json", env=env)
    assert json.loads(local.stdout)["argv"][1:4] == ["-I", "-m", "llama_cpp.server"]


def test_vllm_start_sh_runs_exactly_the_apps_argv(tmp_path):
    """launchers/vllm_start.sh asks `engine command` for the argv and execs it verbatim."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    exe = tmp_path / "bin" / "vllm"
    exe.parent.mkdir(parents=True)
    exe.write_text(
        f"#!{sys.executable}\nimport json, os, sys\nprint(json.dumps([sys.argv[1:], os.environ.get('VLLM_API_KEY')]))\n"
    )
    exe.chmod(0o755)
    env = {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
        "A2IA_ENGINES__VLLM__API_KEY": "sk-secret",
        "VLLM_START_CLI": str(Path(sys.executable).parent / "a2ia-tui"),
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(["--swap-space", "4", "--seed", "a b"]),
    }
    expected = json.loads(cli("command", "vllm", "--port", "8123", "--json", env=env).stdout)["argv"]
    out = subprocess.run(
        [str(root / "launchers" / "vllm_start.sh"), "--port", "8123"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    argv, key = json.loads(out.stdout)
    assert [str(exe), *argv] == expected and "8123" in argv and "a b" in argv and "--swap-space" not in argv
    # the key never goes into argv; the launcher passes the caller's VLLM_API_KEY through unchanged
    assert key is None and "sk-secret" not in " ".join(argv)


def test_autotune_uses_the_gpu_monitor(tmp_path):
    env = {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_FAKE_GPU": "two_gpus",
    }  # two 24 GB RTX 3090s
    out = cli(
        "autotune",
        "vllm",
        "--model",
        "casperhansen/llama-3-70b-instruct-awq",
        "--json",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"] and data["overrides"]["tensor_parallel_size"] == 2
    too_big = cli("autotune", "vllm", "--model", "meta-llama/Meta-Llama-3-405B", env=env)
    assert too_big.returncode == 1 and "does NOT fit" in too_big.stdout
