"""The loopback fake LLM server other tests build on: thread mode, subprocess mode, replay rules."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fakes.llm_server import FakeLLMServer, Reply

SCRIPT = Path(__file__).resolve().parents[2] / "fakes" / "llm_server.py"


def sse_text(resp: httpx.Response) -> str:
    out = []
    for line in resp.text.splitlines():
        if line.startswith("data: {"):
            for ch in json.loads(line[6:])["choices"]:
                out.append((ch.get("delta") or {}).get("content") or "")
    return "".join(out)


def chat(url: str, **extra) -> httpx.Response:
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        **extra,
    }
    return httpx.post(url + "/chat/completions", json=body, timeout=10)


def test_threaded_mode_serves_sync_clients_and_repeats_the_last_reply():
    with FakeLLMServer("openai", [Reply(text="first"), Reply(text="second")]).threaded() as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.url.endswith("/v1")
        texts = [sse_text(chat(srv.url)) for _ in range(3)]
        assert httpx.get(srv.url + "/models").json()["data"][0]["id"] == "fake-model"
    assert texts == ["first", "second", "second"]
    assert [r.path for r in srv.requests].count("/v1/chat/completions") == 3
    assert srv.requests[0].headers["content-type"] == "application/json"


def test_stop_works_in_thread_mode_and_frees_the_port():
    srv = FakeLLMServer("ollama").start_in_thread()
    url = srv.url
    assert httpx.get(url + "/api/version").json() == {"version": "0.33.0"}
    srv.stop()
    try:
        httpx.get(url + "/api/version", timeout=2)
        raise AssertionError("still serving after stop()")
    except httpx.ConnectError:
        pass


def test_default_reply_when_none_was_given_and_usage_only_when_asked():
    with FakeLLMServer("vllm").threaded() as srv:
        plain = chat(srv.url)
        asked = chat(srv.url, stream_options={"include_usage": True})
    assert sse_text(plain) == "Hello from the fake server."
    assert '"choices": [], "usage"' not in plain.text and '"choices": [], "usage"' in asked.text
    assert asked.text.rstrip().endswith("data: [DONE]")


def test_command_line_prints_ready_and_serves_a_replies_file_until_sigterm(tmp_path):
    replies = tmp_path / "r.json"
    replies.write_text(
        json.dumps([{"text": "from a file", "tool_calls": [["f", {"a": 1}]]}]),
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--flavor",
            "openai",
            "--port",
            "0",
            "--replies",
            str(replies),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:") and line.endswith("/v1")
        url = line.split()[1]
        resp = chat(url)
        assert sse_text(resp) == "from a file"
        assert '"name": "f"' in resp.text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
