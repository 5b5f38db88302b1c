"""MCPHub against real MCP servers over stdio."""

from __future__ import annotations

import asyncio
import sys

import psutil

from a2ia_tui.core.config import MCPServerConfig
from a2ia_tui.core.tools.hub import MCPHub
from tests.helpers.tools import FAKES, toy


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


async def wait_for(predicate, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_builtin_and_toy_tools_listed_and_called(settings, tmp_path):
    (tmp_path / "hello.txt").write_text("héllo wörld\nline2\n", encoding="utf-8")
    before = descendants()
    async with MCPHub({"toy": toy()}, settings) as hub:
        states = hub.states()
        assert states["a2ia"].status == "ready" and states["toy"].status == "ready"
        names = {t.name for t in hub.tools()}
        assert {"read_file", "write_file", "run_command", "echo", "noop"} <= names
        wf = hub.tool("write_file")
        assert wf.destructive and not wf.read_only and hub.tool("read_file").read_only
        res = await hub.call("read_file", {"path": "hello.txt", "start_line": 1, "end_line": 1})
        assert not res.is_error and res.text == "héllo wörld\n"
        res = await hub.call("echo", {"text": "ünï"})
        assert res.text == "toy:ünï"
        bad = await hub.call("read_file", {"path": "../../etc/passwd"})
        assert bad.is_error and "outside the workspace" in bad.text
        assert (await hub.call("nope", {})).is_error
    await asyncio.sleep(0.2)
    assert descendants() - before == set()


async def test_clashing_names_get_prefixed_only_where_they_clash(settings):
    async with MCPHub({"one": toy("one"), "two": toy("two")}, settings, builtin=False) as hub:
        names = {t.name for t in hub.tools()}
        assert "one__echo" in names and "two__echo" in names and "echo" not in names
        assert (await hub.call("two__echo", {"text": "x"})).text == "two:x"


async def test_failing_server_is_reported_and_others_work(settings):
    servers = {
        "broken": toy("broken", "--die-at-start"),
        "missing": MCPServerConfig(name="missing", command="/nonexistent/mcp-server"),
        "toy": toy(),
    }
    async with MCPHub(servers, settings, builtin=False) as hub:
        await wait_for(
            lambda: hub.states()["broken"].status == "failed" and hub.states()["missing"].status == "failed", 60
        )
        st = hub.states()
        assert st["toy"].status == "ready"
        assert "frobnicator" in st["broken"].stderr_tail
        assert "not found" in st["missing"].reason or "No such file" in st["missing"].reason
        assert (await hub.call("noop", {})).text == "ok"


async def test_hanging_server_times_out_at_handshake(settings):
    # Long enough for a real server to start on a loaded 2-core machine; the hanging one never answers.
    settings.tools.startup_timeout_s = 15.0
    settings.tools.restart_attempts = 0
    hanging = MCPServerConfig(name="hang", command=sys.executable, args=[str(FAKES / "hanging_server.py")])
    before = descendants()
    async with MCPHub({"hang": hanging, "toy": toy()}, settings, builtin=False) as hub:
        await wait_for(lambda: hub.states()["hang"].status == "failed", timeout=60)
        assert "handshake" in hub.states()["hang"].reason
        assert hub.states()["toy"].status == "ready", hub.states()["toy"]
    await asyncio.sleep(0.3)
    assert descendants() - before == set()


async def test_crash_mid_call_returns_error_then_restarts(settings):
    seen: list[str] = []
    async with MCPHub({"toy": toy()}, settings, builtin=False) as hub:
        hub.add_listener(lambda states: seen.append(states["toy"].status))
        res = await hub.call("crash", {})
        assert res.is_error and ("crash" in res.text or "closed" in res.text.lower())
        await wait_for(lambda: hub.states()["toy"].status == "ready" and hub.states()["toy"].restarts >= 1)
        assert "restarting" in seen
        assert (await hub.call("add", {"a": 2, "b": 3})).text == "5"


async def test_call_timeout_is_per_server(settings):
    settings.tools.server_timeouts["toy"] = 0.5
    async with MCPHub({"toy": toy()}, settings, builtin=False) as hub:
        res = await hub.call("slow", {"seconds": 5})
        assert res.is_error and "timed out" in res.text


async def test_real_third_party_server_mcp_server_time(settings):
    time_server = MCPServerConfig(
        name="time", command=sys.executable, args=["-m", "mcp_server_time", "--local-timezone", "UTC"]
    )
    async with MCPHub({"time": time_server}, settings, builtin=False) as hub:
        assert hub.states()["time"].status == "ready", hub.states()["time"]
        res = await hub.call("get_current_time", {"timezone": "Europe/Paris"})
        assert not res.is_error and "Europe/Paris" in res.text
