"""a2ia-cli end to end: the installed entry point against a loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.llm_server import FakeLLMServer, Reply

CLI = [sys.executable, "-m", "a2ia_tui.cli"]


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env={**os.environ, **env}, input=stdin, timeout=120)


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "facts.txt").write_text("The launch code is 7-7-Ünïcode.\n", encoding="utf-8")
    return ws


def test_prompt_mode_runs_a_tool_call_and_prints_the_answer(workspace):
    replies = [Reply(tool_calls=[("read_file", {"path": "facts.txt"})]), Reply(text="The code is 7-7-Ünïcode.")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        proc = run_cli("--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "-p", "What is the code?",
                       env={"A2IA_TOOLS__WORKSPACE": str(workspace)})
        bodies = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "The code is 7-7-Ünïcode."
    assert "→ read_file" in proc.stderr and "✓ read_file" in proc.stderr
    # the tool result went back to the model as a role "tool" message with the call's id
    tool_msg = bodies[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and "7-7-Ünïcode" in tool_msg["content"]
    assert tool_msg["tool_call_id"] == bodies[1]["messages"][-2]["tool_calls"][0]["id"]


def test_prompt_from_stdin_and_destructive_call_declined_without_yes(workspace):
    replies = [Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "pwned"})]), Reply(text="Could not write.")]
    with FakeLLMServer("openai", replies).threaded() as srv:
        env = {"A2IA_TOOLS__WORKSPACE": str(workspace), "A2IA_BACKENDS__LM__KIND": "openai", "A2IA_BACKENDS__LM__BASE_URL": srv.url}
        proc = run_cli("--backend", "lm", "--model", "fake-model", "-p", "-", env=env, stdin="write it")
    assert proc.returncode == 0, proc.stderr
    assert not (workspace / "x.txt").exists()
    assert "declined" in proc.stderr


def test_yes_approves(workspace):
    replies = [Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "ok"})]), Reply(text="Written.")]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        proc = run_cli("--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "--yes", "-p", "write",
                       env={"A2IA_TOOLS__WORKSPACE": str(workspace)})
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "x.txt").read_text() == "ok"


def test_backend_failure_is_one_line_and_nonzero(workspace):
    with FakeLLMServer("vllm", [Reply(status=500, error_body={"error": {"message": "CUDA error: device-side assert", "type": "InternalServerError", "code": 500}})]).threaded() as srv:
        proc = run_cli("--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model", "--no-tools", "-p", "hi", env={})
    assert proc.returncode == 1
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert lines == ["a2ia-cli: HTTP 500: CUDA error: device-side assert"], proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_backend(tmp_path):
    proc = run_cli("--backend", "vllm", "--vllm-url", "http://127.0.0.1:9/v1", "--model", "m", "--no-tools", "-p", "hi", env={})
    assert proc.returncode == 1 and "cannot reach http://127.0.0.1:9/v1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
