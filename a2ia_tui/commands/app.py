"""Launch the full-screen app."""

from __future__ import annotations

import argparse

from ..cliargs import load_or_exit


def run_app(args: argparse.Namespace) -> int:
    loaded = load_or_exit(args)
    from ..tui.factory import make_app

    app = make_app(loaded)
    app.run()
    return int(app.return_code or 0)
