"""Placeholder until its issue lands: the subcommand exists so --help works."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    print("a2ia-tui: this subcommand is not built yet", file=sys.stderr)
    return 2
