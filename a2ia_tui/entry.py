"""The ``a2ia-tui`` command: the full-screen app, and its script-friendly subcommands.

Subcommands live in :mod:`a2ia_tui.commands`, one module each, imported only when used so
that ``a2ia-tui --help`` and the app's start-up stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

#: subcommand → (module under a2ia_tui.commands, help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "config": ("config", "show the effective settings or where they are read from"),
    "monitor": ("monitor", "print GPU, backend, engine and server metrics (for scripts)"),
    "engine": ("engine", "start, stop and inspect managed engines (vLLM, local llama.cpp)"),
    "bench": ("bench", "measure a backend's tokens/s and time to first token under concurrent requests"),
    "mcp-server": ("mcp_server", "run the built-in MCP tool server on stdio"),
    "export": ("export", "export a saved conversation to Markdown"),
}


def build_parser() -> argparse.ArgumentParser:
    # imported here, not at the top: it brings in the settings (pydantic), which main() imports
    # only after raising the garbage collector's thresholds
    from .cliargs import add_agent_flags, add_connection_flags

    parser = argparse.ArgumentParser(
        prog="a2ia-tui",
        description="A terminal workbench for local LLMs: chat with an agent that calls MCP tools, "
        "watch VRAM and tokens/s, switch backends, run vLLM or the bundled CPU engine.",
    )
    parser.add_argument("--version", action="version", version=f"a2ia-tui {__version__}")
    add_connection_flags(parser)
    add_agent_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_connection_flags(p, subcommand=True)
        importlib.import_module(f"a2ia_tui.commands.{module}").add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .tui.gctune import raise_thresholds

    raise_thresholds()  # before the heavy imports: pydantic, then Textual (see a2ia_tui.tui.gctune)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command:
        module = importlib.import_module(f"a2ia_tui.commands.{SUBCOMMANDS[args.command][0]}")
        return int(module.run(args) or 0)
    from .commands.app import run_app

    return run_app(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
