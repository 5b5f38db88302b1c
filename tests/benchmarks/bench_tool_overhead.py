"""Tool-call overhead: a no-op tool on a stdio MCP server, called N times.

Measured in the same run, on two identical server processes (``tests/fakes/mcp_servers/
toy_server.py``, tool ``noop``), in interleaved blocks so load drift hits both alike:

  bare      an ``mcp`` ``ClientSession`` over ``stdio_client``: ``session.call_tool("noop", {})``
            (the floor: JSON-RPC over a pipe to a Python server and back)
  hub       ``MCPHub.call("noop", {})``: name lookup, state check, per-server timeout,
            content flattening into a ``ToolResult``
  hub+check the orchestrator's per-call path without the LLM: ``Orchestrator._validate``
            (tool lookup + jsonschema validation of the arguments) then ``MCPHub.call``

Prints p50/p99 per path, the p50/p99 overhead against ``bare`` and the ratio. Goal: p50
overhead under 1 ms.

Run: .venv/bin/python tests/benchmarks/bench_tool_overhead.py [--calls 2000] [--blocks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import MCPServerConfig, load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient
from a2ia_tui.core.llm.types import FunctionCall, ToolCall
from a2ia_tui.core.tools.hub import MCPHub

TOY = ROOT / "tests" / "fakes" / "mcp_servers" / "toy_server.py"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000, help="calls per path")
    ap.add_argument("--blocks", type=int, default=10, help="interleaved blocks")
    ap.add_argument("--warmup", type=int, default=100)
    a = ap.parse_args()

    settings = load_settings(env={"A2IA_TOOLS__CALL_TIMEOUT_S": "30"}).settings
    hub = MCPHub(
        {"toy": MCPServerConfig(name="toy", command=sys.executable, args=[str(TOY), "--name", "toy"])},
        settings,
        builtin=False,
    )
    await hub.start()
    assert hub.states()["toy"].status == "ready", hub.states()
    orch = Orchestrator(ScriptedClient([]), hub, settings)
    call = ToolCall(id="c1", function=FunctionCall(name="noop", arguments={}))
    # A tool with a real schema for the validation path: add(a: int, b: int).
    add_call = ToolCall(id="c2", function=FunctionCall(name="add", arguments={"a": 2, "b": 3}))

    params = StdioServerParameters(command=sys.executable, args=[str(TOY), "--name", "bare"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()

        async def bare() -> None:
            r = await session.call_tool("noop", {})
            assert not r.is_error

        async def via_hub() -> None:
            r = await hub.call("noop", {})
            assert not r.is_error, r.text

        async def via_orchestrator_path() -> None:
            assert orch._validate(call) is None
            r = await hub.call("noop", {})
            assert not r.is_error, r.text

        async def add_bare() -> None:
            r = await session.call_tool("add", {"a": 2, "b": 3})
            assert not r.is_error

        async def add_checked() -> None:
            assert orch._validate(add_call) is None
            r = await hub.call("add", {"a": 2, "b": 3})
            assert r.text == "5", r.text

        paths = {
            "bare": bare,
            "hub": via_hub,
            "hub+check": via_orchestrator_path,
            "add bare": add_bare,
            "add hub+check": add_checked,
        }
        for fn in paths.values():
            for _ in range(a.warmup):
                await fn()
        times: dict[str, list[float]] = {k: [] for k in paths}
        per_block = max(1, a.calls // a.blocks)
        for _ in range(a.blocks):
            for name, fn in paths.items():
                for _ in range(per_block):
                    t0 = time.perf_counter()
                    await fn()
                    times[name].append(time.perf_counter() - t0)
    await hub.aclose()

    n = len(times["bare"])
    print(f"no-op MCP tool over stdio, {n} calls per path ({a.blocks} interleaved blocks, {a.warmup} warm-up)")
    print(
        f"{'path':<15}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'p50 over bare':>15}{'p99 over bare':>15}{'p50 ratio':>11}"
    )
    for name, xs in times.items():
        base = times["add bare"] if name.startswith("add") else times["bare"]
        p50, p99, mean = pct(xs, 50) * 1e3, pct(xs, 99) * 1e3, statistics.fmean(xs) * 1e3
        b50, b99 = pct(base, 50) * 1e3, pct(base, 99) * 1e3
        print(f"{name:<15}{p50:9.3f}{p99:9.3f}{mean:9.3f}{p50 - b50:+14.3f} {p99 - b99:+14.3f} {p50 / b50:10.2f}x")
    over = (pct(times["hub+check"], 50) - pct(times["bare"], 50)) * 1e3
    print(f"goal: p50 overhead of the hub+check path < 1 ms -> {over:.3f} ms ({'met' if over < 1 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
