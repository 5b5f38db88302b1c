"""The built-in tool server's command-line options, apart from the server itself so that
``a2ia-tui --help`` and the app's start-up (which build every subcommand's parser) do not import
the ``mcp`` SDK (~0.7 s here)."""

from __future__ import annotations

import argparse
import os


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--workspace", default=os.getcwd(), help="root the tools are confined to (default: cwd)")
    ap.add_argument("--max-read-bytes", type=int, default=1_000_000)
    ap.add_argument("--max-output-chars", type=int, default=50_000)
    ap.add_argument("--command-timeout", type=float, default=60.0)
