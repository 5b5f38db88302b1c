"""A small stdio MCP server for tests: noop, echo, add, slow, crash (exits the process), and
``--tool-name-prefix`` to make names that clash with another server's."""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

ap = argparse.ArgumentParser()
ap.add_argument("--name", default="toy")
ap.add_argument("--die-at-start", action="store_true")
args = ap.parse_args()

if args.die_at_start:
    print("toy: fatal: cannot open the frobnicator", file=sys.stderr, flush=True)
    sys.exit(3)

server = MCPServer(args.name, log_level="ERROR")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def noop() -> str:
    """Do nothing."""
    return "ok"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo the text back."""
    return f"{args.name}:{text}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "slept"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def crash() -> str:
    """Kill this server process."""
    print("toy: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(7)


server.run("stdio")
