"""Command-line flags shared by ``a2ia-tui`` and ``a2ia-cli``, and turning them into settings."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .core.config import LoadedSettings, load_settings
from .core.errors import ConfigError

if TYPE_CHECKING:
    from .core.agent.chat_settings import ChatSettings


def add_connection_flags(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """The shared flags. On a subcommand's parser they default to SUPPRESS so that a flag given
    before the subcommand (``a2ia-tui --config X config show``) is not reset to None."""
    g = parser.add_argument_group("backend and configuration")
    # add_argument's ``default`` is typed Any; absent means the parser's own default (None)
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if subcommand else {}
    g.add_argument("--backend", metavar="NAME", help="backend to use: ollama, vllm, local or a configured name", **d)
    g.add_argument("--model", metavar="M", help="model to use (overrides the backend's default)", **d)
    g.add_argument("--vllm-url", metavar="URL", help="base URL of the vllm backend (e.g. http://host:8000/v1)", **d)
    g.add_argument("--ollama-url", metavar="URL", help="base URL of the ollama backend (e.g. http://host:11434)", **d)
    g.add_argument("--config", metavar="PATH", help="settings TOML file (also $A2IA_CONFIG)", **d)
    g.add_argument("--mcp-config", metavar="PATH", help="mcpServers JSON file (also $A2IA_MCP_CONFIG)", **d)


def add_agent_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("agent")
    g.add_argument("--react", action="store_true", help="use the ReAct text protocol instead of native tool calls")
    g.add_argument("--no-tools", action="store_true", help="offer no tools to the model")
    g.add_argument("--debug", action="store_true", help="verbose logging")
    g = parser.add_argument_group("this run's chat settings (over a chat's own and the config's)")
    g.add_argument("--system", metavar="TEXT", help="system prompt")
    g.add_argument("--temperature", metavar="T", type=float, help="sampling temperature, 0-2")
    g.add_argument("--top-p", metavar="P", type=float, help="nucleus sampling, 0-1")
    g.add_argument("--max-tokens", metavar="N", type=int, help="longest answer, in tokens")


def chat_overrides(args: argparse.Namespace) -> ChatSettings:
    """The chat settings given on the command line; out of range: one line, exit 2."""
    from .core.agent.chat_settings import ChatSettings, ChatSettingsError

    values = {
        "system_prompt": getattr(args, "system", None),
        "temperature": getattr(args, "temperature", None),
        "top_p": getattr(args, "top_p", None),
        "max_tokens": getattr(args, "max_tokens", None),
    }
    try:
        return ChatSettings(**values)
    except ChatSettingsError as exc:
        field, _, problem = str(exc).partition(": ")
        flag = "--system" if field == "system_prompt" else "--" + field.replace("_", "-")
        print(config_error_line(ConfigError("command line", flag, problem)), file=sys.stderr)
        raise SystemExit(2) from None


def flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Map parsed flags to dotted settings keys (None = not given)."""
    get = lambda name: getattr(args, name, None)  # noqa: E731
    flags: dict[str, Any] = {
        "default_backend": get("backend"),
        "model": get("model"),
        "backends.vllm.base_url": get("vllm_url"),
        "backends.ollama.base_url": get("ollama_url"),
        "tools.mcp_config": get("mcp_config"),
    }
    if get("react"):
        flags["agent.mode"] = "react"
    if get("no_tools"):
        flags["tools.enabled"] = False
    if get("debug"):
        flags["debug"] = True
    return flags


def load_or_exit(args: argparse.Namespace) -> LoadedSettings:
    """Load settings for a command; on a bad configuration print ONE line and exit 2."""
    try:
        return load_settings(getattr(args, "config", None), flags=flags_from_args(args))
    except ConfigError as exc:
        print(config_error_line(exc), file=sys.stderr)
        raise SystemExit(2) from None


def config_error_line(exc: ConfigError) -> str:
    """The one line printed for a bad configuration: secrets masked, control characters shown."""
    from .core.redact import redact_text
    from .core.textsafe import printable

    return printable(f"a2ia: configuration error: {redact_text(str(exc))}")
