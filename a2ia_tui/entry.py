"""The ``a2ia-tui`` command: the full-screen app, and its script-friendly subcommands.

Subcommands live in :mod:`a2ia_tui.commands`, one module each, imported only when used so
that ``a2ia-tui --help`` and the app's start-up stay fast.

Words that are not a subcommand are a question the app sends when it opens
(``a2ia-tui "why is the sky blue?"``); a question that starts with a subcommand's name goes after
``--`` (``a2ia-tui -- "monitor the GPU"``). ``--continue`` reopens the last saved chat.
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
    "serve": ("serve", "serve the app to a browser (textual-serve), behind a token"),
}


DESCRIPTION = (
    "A terminal workbench for local LLMs: chat with an agent that calls MCP tools, "
    "watch VRAM and tokens/s, switch backends, run vLLM or the bundled CPU engine."
)
USAGE = "a2ia-tui [options] [--continue] [QUESTION ...]\n       a2ia-tui [options] COMMAND ..."
EPILOG = (
    'QUESTION: words sent as the first question when the app opens (a2ia-tui "why is the sky blue?"); '
    'put a question that starts with a command\'s name after -- (a2ia-tui -- "monitor the GPU").'
)


def _app_flags(parser: argparse.ArgumentParser) -> None:
    from .cliargs import add_agent_flags, add_connection_flags

    parser.add_argument("--version", action="version", version=f"a2ia-tui {__version__}")
    add_connection_flags(parser)
    add_agent_flags(parser)
    parser.add_argument("--continue", dest="continue_last", action="store_true", help="reopen the last saved chat")


def build_question_parser() -> argparse.ArgumentParser:
    """The app's own flags and the question's words (no subcommands)."""
    parser = argparse.ArgumentParser(prog="a2ia-tui", usage=USAGE, description=DESCRIPTION, epilog=EPILOG)
    _app_flags(parser)
    parser.add_argument("question", nargs="*", metavar="QUESTION", help="a question to send when the app opens")
    return parser


def build_parser() -> argparse.ArgumentParser:
    # imported here, not at the top: it brings in the settings (pydantic), which main() imports
    # only after raising the garbage collector's thresholds
    from .cliargs import add_connection_flags

    parser = argparse.ArgumentParser(prog="a2ia-tui", usage=USAGE, description=DESCRIPTION, epilog=EPILOG)
    _app_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="a2ia-tui")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_connection_flags(p, subcommand=True)
        importlib.import_module(f"a2ia_tui.commands.{module}").add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .tui.gctune import raise_thresholds

    raise_thresholds()  # before the heavy imports: pydantic, then Textual (see a2ia_tui.tui.gctune)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if getattr(args, "command", None):
        module = importlib.import_module(f"a2ia_tui.commands.{SUBCOMMANDS[args.command][0]}")
        return int(module.run(args) or 0)
    from .commands.app import run_app

    return run_app(args)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """A subcommand when the first word names one (and comes before any ``--``); otherwise the
    app, with the words as its first question."""
    before_dashes = argv[: argv.index("--")] if "--" in argv else argv
    if not any(a in ("-h", "--help") for a in before_dashes):
        known, _rest = build_question_parser().parse_known_args(argv)
        words = known.question
        if not (words and words[0] in SUBCOMMANDS and words[0] in before_dashes):
            args = build_question_parser().parse_args(argv)
            args.command = None
            return args
    return build_parser().parse_args(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
