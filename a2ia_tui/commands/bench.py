"""``a2ia-tui bench [--backend B] [--concurrency 1,2,4,8] [--requests N] [--max-tokens M] [--json]``:
throughput of a backend under concurrent streamed requests (see :mod:`a2ia_tui.core.bench`).

Prints a table, one row per concurrency level (progress on stderr), or with ``--json`` the whole
report as one JSON object. The report is also saved under the user data dir (``bench/``) unless
``--no-save``. Exit 1 when every request failed (the first reasons on stderr), 2 for bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def _levels(text: str) -> tuple[int, ...]:
    from ..core.bench import parse_levels

    try:
        return parse_levels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number from 1 up: {text!r}")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--concurrency",
        "-c",
        type=_levels,
        default=(1, 2, 4, 8),
        metavar="LIST",
        help="requests in flight at once, one level after the other (default: 1,2,4,8)",
    )
    p.add_argument(
        "--requests",
        "-n",
        type=_count,
        default=None,
        metavar="N",
        help="requests per level (default: twice the concurrency, at least 4)",
    )
    p.add_argument(
        "--max-tokens", type=_count, default=128, metavar="M", help="tokens per reply, fixed where the server allows"
    )
    p.add_argument("--no-warmup", action="store_true", help="skip the short request sent before the first level")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-save", action="store_true", help="do not save the report under the user data dir")


def run(args: argparse.Namespace) -> int:
    from ..cliargs import load_or_exit
    from ..core.bench import TABLE_HEADER, BenchConfig, describe, run_bench, save_report, table_rows
    from ..core.errors import A2IAError
    from ..core.llm.registry import adopt_first_model, make_client, resolve_default_backend
    from ..core.textsafe import printable

    loaded = load_or_exit(args)
    settings = loaded.settings
    config = BenchConfig(
        levels=args.concurrency, requests=args.requests, max_tokens=args.max_tokens, warmup=not args.no_warmup
    )

    def err(text: str) -> None:
        print(printable(text), file=sys.stderr, flush=True)

    async def main() -> int:
        name = await resolve_default_backend(settings)
        client = make_client(settings, name)
        try:
            await adopt_first_model(client)
            health = await client.health()
            if not health.ok:
                err(f"a2ia: {name} is not reachable at {client.base_url}: {health.detail}")
                return 1
            err(f"bench: {name} ({client.kind}) model {client.model or '?'}, {config.max_tokens} tokens per reply")
            report = await run_bench(
                client,
                config,
                on_level_start=lambda c, n: err(f"  concurrency {c}: {n} requests…"),
            )
        except A2IAError as exc:
            err(f"a2ia: {exc}")
            return 1
        finally:
            await client.aclose()
        saved = None
        if not args.no_save:
            try:
                saved = save_report(report, loaded.paths.data_dir)
            except OSError as exc:
                err(f"a2ia: could not save the report: {exc.strerror or exc}")
        if args.json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            print(printable(describe(report)))
            widths = [max([len(h), *(len(r[i]) for r in table_rows(report))]) for i, h in enumerate(TABLE_HEADER)]
            print("  ".join(h.rjust(w) for h, w in zip(TABLE_HEADER, widths, strict=True)))
            for row in table_rows(report):
                print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
            for lv in report.levels:
                for sample in lv.error_samples:
                    print(printable(f"  concurrency {lv.concurrency} error: {sample}"))
        if saved is not None:
            err(f"saved {saved}")
        if report.levels and all(lv.ok == 0 for lv in report.levels):
            first = next((s for lv in report.levels for s in lv.error_samples), "no request succeeded")
            err(f"a2ia: every request failed: {first}")
            return 1
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
