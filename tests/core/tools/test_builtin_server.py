"""The built-in tool server over real stdio: confinement, file tools, run_command."""

from __future__ import annotations

import json
import os
import sys
import time

import psutil
import pytest

from a2ia_tui.core.config import MCPServerConfig
from a2ia_tui.core.errors import WorkspaceError
from a2ia_tui.core.tools.hub import MCPHub
from a2ia_tui.core.tools.workspace import Workspace


def test_workspace_refuses_traversal_absolute_and_symlink_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "sub" / "up")
    ws = Workspace(root)
    assert ws.resolve("sub") == (root / "sub").resolve()
    for bad in ("../secret.txt", str(tmp_path / "secret.txt"), "link.txt", "sub/up/secret.txt", "sub/../../secret.txt"):
        with pytest.raises(WorkspaceError, match="outside the workspace"):
            ws.resolve(bad)


@pytest.fixture
async def hub(settings):
    h = MCPHub({}, settings)
    await h.start()
    assert h.states()["a2ia"].status == "ready", h.states()
    yield h
    await h.aclose()


async def test_list_read_write_edit_search(hub, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def main():\n    return 'héllo'\n", encoding="utf-8")
    assert "src/" in (await hub.call("list_directory", {})).text
    r = await hub.call("write_file", {"path": "docs/new.md", "content": "# Tïtle\n"})
    assert not r.is_error and (tmp_path / "docs" / "new.md").read_text(encoding="utf-8") == "# Tïtle\n"
    r = await hub.call("edit_file", {"path": "src/app.py", "old_text": "'héllo'", "new_text": "'bye'"})
    assert not r.is_error and "'bye'" in (tmp_path / "src" / "app.py").read_text()
    r = await hub.call("edit_file", {"path": "src/app.py", "old_text": "nothing like this", "new_text": "x"})
    assert r.is_error and "not found" in r.text
    r = await hub.call("search_files", {"pattern": r"def \w+"})
    assert "src/app.py:1: def main():" in r.text
    r = await hub.call("read_file", {"path": "src/app.py", "start_line": 2, "end_line": 2})
    assert r.text == "    return 'bye'\n"


async def test_read_file_size_cap(settings, tmp_path):
    settings.tools.max_read_bytes = 2000
    (tmp_path / "big.txt").write_text("y" * 10_000)
    async with MCPHub({}, settings) as hub:
        r = await hub.call("read_file", {"path": "big.txt"})
    assert len(r.text) < 2300 and "only the first 2000" in r.text


async def test_read_file_line_range_deep_inside_a_big_file(settings, tmp_path):
    settings.tools.max_read_bytes = 2000
    (tmp_path / "log.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    async with MCPHub({}, settings) as hub:
        r = await hub.call("read_file", {"path": "log.txt", "start_line": 4000, "end_line": 4002})
        wide = await hub.call("read_file", {"path": "log.txt", "start_line": 10, "end_line": 5000})
    assert r.text == "line 4000\nline 4001\nline 4002\n"
    assert wide.text.startswith("line 10\n") and "exceeds 2000 bytes" in wide.text and len(wide.text) < 2300


async def test_run_command_no_shell_output_and_exit_code(hub):
    r = await hub.call("run_command", {"command": "echo $HOME; ls"})
    assert "$HOME;" in r.text  # no shell: the text is an argument, not expanded
    r = await hub.call("run_command", {"command": [sys.executable, "-c", "import sys; print('out'); sys.exit(3)"]})
    assert "exit code 3" in r.text and "out" in r.text
    r = await hub.call("run_command", {"command": "definitely-not-a-command-xyz"})
    assert r.is_error and "command not found" in r.text


async def test_run_command_timeout_kills_the_whole_process_group(settings, tmp_path):
    settings.tools.run_command_timeout_s = 1.0
    script = tmp_path / "spawn.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    async with MCPHub({}, settings) as hub:
        t0 = time.monotonic()
        r = await hub.call("run_command", {"command": [sys.executable, str(script)]})
    assert "timed out" in r.text
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while (
        psutil.pid_exists(child)
        and psutil.Process(child).status() != psutil.STATUS_ZOMBIE
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - t0 < 60


async def test_gpu_status_reports_vram_from_the_monitor(settings, monkeypatch):
    # The built-in server inherits the environment, so the scripted NVML scenario reaches it.
    monkeypatch.setenv("A2IA_FAKE_GPU", "one_gpu")
    async with MCPHub({}, settings) as h:
        r = await h.call("gpu_status", {})
    assert not r.is_error, r.text
    data = json.loads(r.text)
    dev = data["devices"][0]
    assert dev["name"] == "NVIDIA GeForce RTX 4070"
    assert dev["memory_total"] == 12884901888
    assert dev["memory_free"] == dev["memory_total"] - dev["memory_used"]
    assert dev["vram_free_gib"] > 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_engine_status_reports_the_engines(settings, monkeypatch):
    # Nothing listens on these ports: both engines are reported stopped, with their URLs.
    vllm_port, local_port = _free_port(), _free_port()
    monkeypatch.setenv("A2IA_ENGINES__VLLM__PORT", str(vllm_port))
    monkeypatch.setenv("A2IA_ENGINES__LOCAL__PORT", str(local_port))
    async with MCPHub({}, settings) as h:
        r = await h.call("engine_status", {})
    assert not r.is_error, r.text
    data = json.loads(r.text)
    assert data["vllm"]["status"] == "stopped" and str(vllm_port) in data["vllm"]["url"]
    assert data["local"]["status"] == "stopped" and str(local_port) in data["local"]["url"]


async def test_annotations(hub):
    by_name = {t.name: t for t in hub.tools()}
    for name in ("write_file", "edit_file", "run_command"):
        assert by_name[name].destructive and not by_name[name].read_only
    for name in ("list_directory", "read_file", "search_files", "gpu_status", "engine_status"):
        assert by_name[name].read_only and not by_name[name].destructive


async def test_a2ia_tui_mcp_server_command_serves_the_builtin_tools(settings, tmp_path):
    # The way another MCP client (or a second a2ia) would run it from an mcpServers entry.
    (tmp_path / "hello.txt").write_text("hi there\n")
    entry = MCPServerConfig(
        name="mine", command=sys.executable, args=["-m", "a2ia_tui", "mcp-server", "--workspace", str(tmp_path)]
    )
    async with MCPHub({"mine": entry}, settings, builtin=False) as h:
        assert h.states()["mine"].status == "ready", h.states()
        assert {t.name for t in h.tools()} >= {"read_file", "run_command", "gpu_status"}
        r = await h.call("read_file", {"path": "hello.txt"})
    assert not r.is_error and "hi there" in r.text


def test_mcp_server_command_bad_workspace_is_one_line(tmp_path):
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui", "mcp-server", "--workspace", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0], proc.stderr


async def test_builtin_status_tools_read_the_same_config_file(settings, tmp_path):
    port = _free_port()
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text(f"[engines.vllm]\nport = {port}\n", encoding="utf-8")
    async with MCPHub({}, settings, config_file=cfg) as h:
        r = await h.call("engine_status", {})
    assert not r.is_error, r.text
    assert f":{port}/" in json.loads(r.text)["vllm"]["url"]
