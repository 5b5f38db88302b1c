"""A stdio MCP server for tests whose one tool, ``environment``, answers its own environment as
JSON (to check what a configured server is given)."""

from __future__ import annotations

import json
import os

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("envdump", log_level="ERROR")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def environment() -> str:
    """This server process's environment variables."""
    return json.dumps(dict(os.environ))


server.run("stdio")
