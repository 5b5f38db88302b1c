"""``a2ia-tui serve``: the full app in a browser (textual-serve), behind a token.

Prints the address to open, token included; binds 127.0.0.1 unless ``--host`` says otherwise.
Each browser tab runs its own app process, started with a minimal environment
(:func:`a2ia_tui.core.childenv.served_app_env`). The rules are in :mod:`a2ia_tui.webserve` and
docs/security.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from ..cliargs import load_or_exit

#: flags of ``a2ia-tui`` passed on to each app the server starts (dest → flag)
_VALUE_FLAGS = {
    "backend": "--backend",
    "model": "--model",
    "vllm_url": "--vllm-url",
    "ollama_url": "--ollama-url",
    "config": "--config",
    "mcp_config": "--mcp-config",
    "system": "--system",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "max_tokens": "--max-tokens",
}
_SWITCHES = {"react": "--react", "no_tools": "--no-tools", "debug": "--debug"}


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 0 to 65535")
    return port


def _sessions(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use (behind a proxy or tunnel); default http://HOST:PORT",
    )
    p.add_argument(
        "--max-sessions", type=_sessions, default=4, metavar="N", help="browser sessions open at once (default 4)"
    )


def app_args(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for dest, flag in _VALUE_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            # a relative path means the same file to the app, which starts in this directory
            out += [flag, os.path.abspath(value) if dest in ("config", "mcp_config") else str(value)]
    out += [flag for dest, flag in _SWITCHES.items() if getattr(args, dest, False)]
    return out


def run(args: argparse.Namespace) -> int:
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        print("a2ia-tui serve: needs textual-serve: pip install 'a2ia-tui[serve]'", file=sys.stderr)
        return 1
    load_or_exit(args)  # a bad configuration is said here, once, not in every browser tab
    from ..core.childenv import served_app_env
    from ..webserve import ServeOptions, serve

    # the apps inherit this process's environment (textual-serve copies it): keep only what they need
    minimal = served_app_env()
    os.environ.clear()
    os.environ.update(minimal)
    opts = ServeOptions(
        host=args.host,
        port=args.port,
        app_args=app_args(args),
        public_url=args.public_url,
        max_sessions=args.max_sessions,
    )
    try:
        asyncio.run(serve(opts, announce=lambda line: print(line, flush=True)))
    except OSError as exc:
        print(f"a2ia-tui serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
