"""A real ``a2ia-tui serve`` subprocess in front of a loopback fake LLM server (both subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parents[2]
#: variables the served app must not see (docs/security.md): set in serve's environment by the tests
LEAKY_ENV = {"SSH_AUTH_SOCK": "/tmp/agent.sock", "AWS_SECRET_ACCESS_KEY": "aws-secret-value", "GITHUB_TOKEN": "ghp_x"}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str  # with the token
    llm_url: str
    port: int  # listened on

    @property
    def base(self) -> str:
        """The public address."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    @property
    def cookie(self) -> str:
        return f"a2ia_serve_{self.port}={self.token}"

    def apps(self) -> list[psutil.Process]:
        """The app processes the server runs (one per open session)."""
        out = []
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if "a2ia_tui" in child.cmdline():
                    out.append(child)
            except psutil.Error:
                continue
        return out


def start_llm(tmp: Path, text: str) -> tuple[subprocess.Popen[str], str]:
    replies = tmp / "replies.json"
    replies.write_text(json.dumps([{"text": text, "tokens_per_s": 40}]))
    more = ["--replies", str(replies), "--model", "fake-model"]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/fakes/llm_server.py"), "--flavor", "vllm", "--port", "0", *more],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line and line[0] == "READY", line
    return proc, line[1]


@contextmanager
def served(tmp: Path, *extra: str, answer: str = "Hello from the fake vLLM server.") -> Iterator[Served]:
    llm, llm_url = start_llm(tmp, answer)
    env = {
        **os.environ,
        **LEAKY_ENV,
        "A2IA_HOME": str(tmp / "home"),
        "A2IA_FAKE_GPU": "one_gpu",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "a2ia_tui", "--backend", "vllm", "--vllm-url", llm_url, "--no-tools", "serve"]
    proc = subprocess.Popen(
        [*cmd, "--port", "0", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("a2ia serve: open http"), (first, proc.stderr and proc.stderr.read())
        second = proc.stdout.readline()  # "a2ia serve: listening on 127.0.0.1:PORT, ..."
        port = int(second.split("listening on ", 1)[1].split(",", 1)[0].rsplit(":", 1)[1])
        yield Served(proc, first.split("open ", 1)[1].strip(), llm_url, port)
    finally:
        stop(proc)
        llm.terminate()
        llm.wait(10)
        assert llm.stdout is not None
        llm.stdout.close()


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        _gone, alive = psutil.wait_procs(tree, timeout=30)
        for p in alive:
            p.kill()
        assert not alive, f"left running after SIGTERM: {alive}"
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
