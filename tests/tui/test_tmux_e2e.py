"""End to end: the installed ``a2ia-tui`` in a real terminal under tmux, against two loopback fake
servers (vLLM and Ollama flavours, subprocesses): type, see the answer, switch backend through
the palette, ask again, quit, and no process is left."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from a2ia_tui.core.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / ".venv" / "bin" / "a2ia-tui"

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(not APP.exists(), reason="a2ia-tui is not installed in .venv"),
]


def start_server(flavor: str, text: str, tmp: Path, model: str = "fake-model") -> tuple[subprocess.Popen, str]:
    replies = tmp / f"{flavor}.json"
    replies.write_text(json.dumps([{"text": text}]))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests/fakes/llm_server.py"),
            "--flavor",
            flavor,
            "--port",
            "0",
            "--replies",
            str(replies),
            "--model",
            model,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line and line[0] == "READY", line
    return proc, line[1]


class Tmux:
    def __init__(self, tmp: Path) -> None:
        self.socket = f"a2ia-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "app", *keys)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


def test_type_answer_switch_quit(tmp_path: Path) -> None:
    vllm, vllm_url = start_server("vllm", "Hello from the fake vLLM server.", tmp_path)
    ollama, ollama_url = start_server(
        "ollama",
        "Greetings from fake Ollama.",
        tmp_path,
        model=load_settings(None).settings.backends["ollama"].model or "fake-model",
    )
    tmux = Tmux(tmp_path)
    home = tmp_path / "home"
    try:
        cmd = (
            f"env A2IA_HOME={home} TERM=xterm-256color {APP} --backend vllm --vllm-url {vllm_url} "
            f"--ollama-url {ollama_url} --no-tools"
        )
        tmux.run("new-session", "-d", "-s", "app", "-x", "120", "-y", "40", cmd)
        pane_pid = int(tmux.run("display-message", "-p", "-t", "app", "#{pane_pid}").strip())
        screen = tmux.wait_for("tools: off", timeout=40)
        assert "Type a message below" in screen  # the empty chat's hint
        tmux.keys("hi there")
        tmux.keys("Enter")
        screen = tmux.wait_for("Hello from the fake vLLM server.")
        # the hint's rows were redrawn in the terminal, not only in the app's model of it
        assert "Type a message below" not in screen
        # switch backend through the command palette
        tmux.keys("C-p")
        tmux.wait_for("Search for commands")
        tmux.keys("Backend: ollama")
        time.sleep(0.5)
        tmux.keys("Enter")
        tmux.wait_for("Switched to ollama")
        tmux.keys("and you?")
        tmux.keys("Enter")
        screen = tmux.wait_for("Greetings from fake Ollama.")
        assert "Hello from the fake vLLM server." in screen
        procs = [psutil.Process(pane_pid), *psutil.Process(pane_pid).children(recursive=True)]
        tmux.keys("C-q")
        _gone, alive = psutil.wait_procs(procs, timeout=30)
        assert not alive, f"left running: {alive}"
        # the chat was saved
        from a2ia_tui.core.store import HistoryStore

        store = (
            HistoryStore(home / "data" / "history.sqlite3") if (home / "data" / "history.sqlite3").exists() else None
        )
        if store is not None:
            assert store.list()[0].messages == 4
    finally:
        tmux.kill()
        for proc in (vllm, ollama):
            proc.terminate()
            proc.wait(10)
            assert proc.stdout is not None
            proc.stdout.close()
