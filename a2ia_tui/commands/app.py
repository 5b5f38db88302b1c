"""Launch the full-screen app."""

from __future__ import annotations

import argparse
import sys

from ..cliargs import chat_overrides, load_or_exit


def run_app(args: argparse.Namespace) -> int:
    loaded = load_or_exit(args)
    # the chat settings module is part of the agent, which the first frame does not load: only
    # when such a flag is given (tests/tui/test_app_start.py)
    given = any(getattr(args, n, None) is not None for n in ("system", "temperature", "top_p", "max_tokens"))
    overrides = chat_overrides(args) if given else None
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
    services.start_question = " ".join(getattr(args, "question", None) or []).strip() or None
    services.continue_last = bool(getattr(args, "continue_last", False))
    app = make_app(loaded, services)
    app.run()
    if getattr(app, "exit_note", None):  # said after the screen is gone, where it can be read
        print(f"a2ia: {app.exit_note}", file=sys.stderr)
    return int(app.return_code or 0)
