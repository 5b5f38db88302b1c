"""MCP server configs for the toy fake server (tests/fakes/mcp_servers/toy_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from a2ia_tui.core.config import MCPServerConfig

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "mcp_servers"


def toy(name: str = "toy", *extra: str) -> MCPServerConfig:
    return MCPServerConfig(
        name=name, command=sys.executable, args=[str(FAKES / "toy_server.py"), "--name", name, *extra]
    )
