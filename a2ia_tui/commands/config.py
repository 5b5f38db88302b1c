"""``a2ia-tui config show|path``."""

from __future__ import annotations

import argparse
import json

from ..cliargs import load_or_exit
from ..core.config import masked_dump
from ..core.textsafe import printable


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", choices=["show", "path"], help="show: effective settings (secrets masked); path: files read"
    )
    p.add_argument("--json", action="store_true", help="JSON instead of TOML (show)")


def run(args: argparse.Namespace) -> int:
    loaded = load_or_exit(args)
    if args.action == "path":
        used = loaded.config_file_used
        cfg = used or loaded.paths.config_file
        rows = [
            ("config", cfg, "read" if used else "not present (defaults used)"),
            ("mcp servers", loaded.mcp_config, "present" if loaded.mcp_config.exists() else "not present"),
            ("history", loaded.settings.history.path or loaded.paths.history_db, ""),
            ("logs", loaded.paths.log_dir, ""),
            ("engine pid files", loaded.paths.run_dir, ""),
        ]
        for label, path, note in rows:
            print(printable(f"{label:<17} {path}" + (f"  ({note})" if note else "")))
        return 0
    data = masked_dump(loaded.settings)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        import tomli_w

        # values from the environment may hold lone surrogates (undecodable bytes): scrub them
        print(printable(tomli_w.dumps(data)), end="")
    return 0
