"""The MCP servers file, in the ``{"mcpServers": {...}}`` format shared by other MCP clients
(Claude Desktop, Cursor, VS Code, Cline...), so a user's existing file works unchanged."""

import json
from pathlib import Path
from typing import Literal

import msgspec
from msgspec import field

from ..errors import ConfigError
from .convert import convert, explain
from .fields import Positive, Strict

#: Keys other MCP clients (Claude Desktop, Cursor, VS Code, Cline...) write into server entries
#: that a2ia-tui accepts and ignores, so a user's existing file works unchanged.
_FOREIGN_MCP_KEYS = {"autoApprove", "alwaysAllow", "description", "transport", "note"}


class MCPServerConfig(Strict):
    """One entry of ``mcpServers``: either a stdio command or a streamable-HTTP url."""

    name: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    type: Literal["stdio", "http", "streamable-http", "streamableHttp", "sse"] | None = None
    disabled: bool = False
    #: Tools of this server never offered to the model (their names on the server).
    disabled_tools: list[str] = field(default_factory=list, name="disabledTools")
    timeout: Positive | None = None

    def __post_init__(self) -> None:
        if bool(self.command) == bool(self.url):
            raise ValueError("give exactly one of 'command' (stdio) or 'url' (streamable HTTP)")

    @property
    def transport(self) -> Literal["stdio", "http", "sse"]:
        if self.command:
            return "stdio"
        return "sse" if self.type == "sse" else "http"


def load_mcp_servers(path: str | Path, *, required: bool = False) -> dict[str, MCPServerConfig]:
    """Read an mcpServers JSON file. A missing file means no servers (unless ``required``: a file
    named on purpose); anything else wrong is a :class:`ConfigError` naming the file and the key."""
    path = Path(path)
    if not path.exists():
        if required:
            raise ConfigError(str(path), "", "file not found")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a JSON object with an 'mcpServers' key")
    servers = data.get("mcpServers", data.get("servers"))
    if servers is None:
        raise ConfigError(str(path), "mcpServers", "missing")
    if not isinstance(servers, dict):
        raise ConfigError(str(path), "mcpServers", "expected an object of name → server")
    out: dict[str, MCPServerConfig] = {}
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise ConfigError(str(path), f"mcpServers.{name}", "expected an object")
        clean = {k: v for k, v in entry.items() if k not in _FOREIGN_MCP_KEYS}
        entry = {**clean, "name": name}
        try:
            out[name] = convert(entry, MCPServerConfig)
        except msgspec.ValidationError as exc:
            key, problem = explain(exc, entry, MCPServerConfig)
            raise ConfigError(str(path), ".".join(filter(None, ["mcpServers", name, key])), problem) from None
    return out
