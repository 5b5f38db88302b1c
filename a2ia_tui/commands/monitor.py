"""``a2ia-tui monitor [--once] [--json] [--interval S] [--count N]``: GPUs, backends' health,
managed engines and server metrics, for scripts.

``--once --json`` prints one snapshot as an indented JSON object. Without ``--once`` it prints a
line per interval (with ``--json``, one compact JSON object per line), keeping the NVML session and
the metrics pollers between lines, so vLLM token rates appear from the second line on. Ctrl-C or
a closed pipe (``| head``) ends it quietly with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument("--json", action="store_true", help="JSON (one object per line without --once)")
    p.add_argument(
        "--interval",
        type=_positive,
        default=None,
        metavar="S",
        help="seconds between lines (default: monitor.gpu_interval_s)",
    )
    p.add_argument("--count", type=int, default=0, metavar="N", help="stop after N lines (0 = until Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    from ..cliargs import load_or_exit
    from ..core.monitor.snapshot import MonitorCollector, one_line

    loaded = load_or_exit(args)
    interval = args.interval or loaded.settings.monitor.gpu_interval_s

    async def main() -> int:
        collector = MonitorCollector(loaded)
        n = 0
        try:
            while True:
                t0 = time.monotonic()
                snap = await collector.collect()
                if args.json:
                    print(json.dumps(snap, indent=2 if args.once else None, default=str), flush=True)
                else:
                    print(time.strftime("%H:%M:%S ") + one_line(snap), flush=True)
                n += 1
                if args.once or (args.count > 0 and n >= args.count):
                    return 0
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))
        finally:
            await collector.aclose()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 0
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from complaining
        # about the flush of a dead stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
