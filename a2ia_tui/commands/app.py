"""Launch the full-screen app."""

from __future__ import annotations

import argparse
import sys

from ..cliargs import chat_overrides, load_or_exit


def run_app(args: argparse.Namespace) -> int:
    loaded = load_or_exit(args)
    overrides = chat_overrides(args)
    if loaded.settings.tools.enabled:
        # A bad mcpServers file is a configuration error like any other: one line, exit 2,
        # before the screen opens (not a note in a half-started app).
        from ..core.errors import ConfigError

        try:
            loaded.mcp_servers()
        except ConfigError as exc:
            from ..cliargs import config_error_line

            print(config_error_line(exc), file=sys.stderr)
            return 2
    # SIGTERM/SIGHUP end the app through SystemExit, so engines it started are not orphaned.
    from ..core.engines.manager import EngineManager

    EngineManager.install_signal_handlers()
    from ..tui.factory import default_services, make_app

    services = default_services(loaded)
    services.chat_overrides = overrides
    app = make_app(loaded, services)
    app.run()
    if getattr(app, "exit_note", None):  # said after the screen is gone, where it can be read
        print(f"a2ia: {app.exit_note}", file=sys.stderr)
    return int(app.return_code or 0)
