"""``a2ia-tui mcp-server``: run the built-in MCP tool server on stdio."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..core.tools.server_args import add_arguments as server_args

    server_args(p)


def run(args: argparse.Namespace) -> int:
    from ..core.tools.server import serve

    return serve(args)
