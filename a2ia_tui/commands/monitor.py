"""``a2ia-tui monitor [--once] [--json] [--interval S]``: GPUs, backends, engines, server metrics."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument("--json", action="store_true", help="JSON (one object per line without --once)")
    p.add_argument("--interval", type=float, default=None, metavar="S", help="seconds between lines (default: monitor.gpu_interval_s)")
    p.add_argument("--count", type=int, default=0, metavar="N", help="stop after N lines (0 = until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    from ..cliargs import load_or_exit
    from ..core.monitor.snapshot import collect, one_line

    loaded = load_or_exit(args)
    interval = args.interval or loaded.settings.monitor.gpu_interval_s

    async def main() -> int:
        n = 0
        while True:
            t0 = time.monotonic()
            snap = await collect(loaded)
            if args.json:
                print(json.dumps(snap, indent=2 if args.once else None, default=str), flush=True)
            else:
                print(time.strftime("%H:%M:%S ") + one_line(snap), flush=True)
            n += 1
            if args.once or (args.count and n >= args.count):
                return 0
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 0
