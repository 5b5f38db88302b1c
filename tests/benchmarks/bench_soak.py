"""Soak benchmark: does the app's memory stay bounded over a long session?

Drives the real app headless (Textual's ``run_test``, as Pilot tests do) through many answers of
~3,000 tokens from an endless scripted backend (no server: the chunks are made as they are
sent, so the backend itself holds nothing), as fast as the app takes them (or at ``--rate``
tokens a second), with a new chat every ``--new-chat-every`` answers. The history store is a real
SQLite file, as in the app. Prints the resident memory (psutil's RSS) every ``--every`` answers,
and its growth over the last half of the run against the budget (10 MB over the last 500 of
1,000 answers). A benchmark, run by hand; no test asserts it.

    .venv/bin/python tests/benchmarks/bench_soak.py                       # 1,000 answers
    .venv/bin/python tests/benchmarks/bench_soak.py --answers 200 --tokens 1000   # a quick look
    .venv/bin/python tests/benchmarks/bench_soak.py --types               # + object counts by type

``--types`` adds, at each report, the types whose count of live objects grew most since the
first report (``gc.get_objects()``, after a full collection): where memory goes, if it grows.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BUDGET_MB = 10.0


def answer_text(n_tokens: int, seed: int) -> str:
    """Markdown like a model's (headings, prose, a list, a code block), different for every
    answer (so no cache keyed by text is flattered), of about ``n_tokens`` words."""
    out: list[str] = []
    words = 0
    block = 0
    while words < n_tokens:
        b = f"{seed}-{block}"
        part = (
            f"## Section {b}\n\n"
            + " ".join(f"word{j}_{b}" for j in range(40))
            + "\n\n"
            + "".join(f"- item {j} of {b} with *some* text\n" for j in range(10))
            + "\n```python\n"
            + "".join(f"x{j} = compute({j}, '{b}')\n" for j in range(10))
            + "```\n\n"
            + " ".join(f"more{j}" for j in range(30))
            + "\n\n"
        )
        out.append(part)
        words += len(part.split())
        block += 1
    return "".join(out)


def make_app(tokens: int, rate: float | None, home: Path):
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.llm.scripted import ScriptedClient, _pieces
    from a2ia_tui.core.llm.types import ChatChunk, Message
    from a2ia_tui.core.store import HistoryStore
    from a2ia_tui.tui.app import A2IAApp
    from a2ia_tui.tui.factory import tune_gc
    from a2ia_tui.tui.services import AppServices

    class Endless(ScriptedClient):
        """Answers every request with a new text, chunk by chunk, keeping nothing."""

        answered = 0

        async def stream_chat(self, messages, tools=None, **kwargs):
            seed = Endless.answered
            Endless.answered += 1
            pieces = _pieces(answer_text(tokens, seed))
            t0 = time.perf_counter()
            for i, piece in enumerate(pieces):
                if rate and i % 50 == 0:
                    ahead = t0 + i / rate - time.perf_counter()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                yield ChatChunk(model="soak", message=Message(role="assistant", content=piece))
            yield ChatChunk(
                model="soak",
                message=Message(role="assistant"),
                done=True,
                done_reason="stop",
                prompt_eval_count=10,
                eval_count=len(pieces),
            )

    loaded = load_settings(None, flags={"tools.enabled": False})
    store = HistoryStore(home / "h.sqlite3")
    services = AppServices(
        loaded=loaded,
        make_client=lambda n, m: Endless(name=n, model=m or "soak-model"),
        store=store,
        initial_backend="vllm",
        extras={"no_metrics": True, "animate": False, "cursor_blink": False},
    )
    tune_gc()  # as the real start path (a2ia_tui.tui.factory.make_app) does
    return A2IAApp(services)


def type_counts() -> collections.Counter:
    gc.collect()
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


async def soak(args) -> None:
    import psutil

    proc = psutil.Process()
    home = Path(tempfile.mkdtemp())
    os.environ["A2IA_HOME"] = str(home)  # the app's own files: not the user's
    app = make_app(args.tokens, args.rate, home)
    rss: list[tuple[int, float]] = []
    base_types = None
    print(
        f"# a2ia-tui soak: {args.answers} answers of ~{args.tokens} tokens"
        f" ({'as fast as possible' if not args.rate else f'{args.rate:.0f} tok/s'}), a new chat every"
        f" {args.new_chat_every}; python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    )
    print(f"{'answers':>8} {'RSS MB':>8} {'s':>7}")
    t0 = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while app.orchestrator is None:
            await pilot.pause(0.01)
        prompt = app.query_one("#prompt")

        def report(n: int) -> None:
            nonlocal base_types
            mb = proc.memory_info().rss / 2**20
            rss.append((n, mb))
            print(f"{n:>8} {mb:>8.1f} {time.perf_counter() - t0:>7.0f}", flush=True)
            if args.types:
                counts = type_counts()
                if base_types is None:
                    base_types = counts
                else:
                    grown = sorted(((counts[k] - base_types.get(k, 0), k) for k in counts), reverse=True)[:8]
                    print("         grown: " + ", ".join(f"{k} +{d}" for d, k in grown if d > 0), flush=True)

        await pilot.pause(0.5)  # start-up done, the warm-up too
        report(0)
        for n in range(1, args.answers + 1):
            prompt.value = f"question {n}"
            await prompt.action_submit()
            while not (turn := next((w for w in app.workers if w.group == "turn"), None)):
                await asyncio.sleep(0)
            await turn.wait()
            await pilot.pause()  # the answer's last frame
            if n % args.new_chat_every == 0 and n < args.answers:
                await app.action_new_chat()
            if n % args.every == 0:
                await pilot.pause(args.idle)  # as between questions: the app's idle work runs
                report(n)
    half = args.answers // 2
    mid = min(rss, key=lambda r: abs(r[0] - half))
    growth = rss[-1][1] - mid[1]
    budget = BUDGET_MB * (args.answers - mid[0]) / 500
    print(
        f"\nRSS: start {rss[0][1]:.1f} MB, peak {max(m for _, m in rss):.1f} MB, end {rss[-1][1]:.1f} MB;"
        f" growth over the last {args.answers - mid[0]} answers: {growth:+.1f} MB"
    )
    print(
        f"{'PASS' if growth < budget else 'FAIL'}: {growth:+.1f} MB against a budget of {budget:.1f} MB"
        f" ({BUDGET_MB:.0f} MB per 500 answers)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--answers", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=3000, help="words per answer (about tokens)")
    ap.add_argument("--rate", type=float, default=None, help="tokens a second (default: as fast as possible)")
    ap.add_argument("--new-chat-every", type=int, default=200)
    ap.add_argument("--every", type=int, default=50, help="report the RSS every this many answers")
    ap.add_argument("--idle", type=float, default=0.3, help="seconds idle before each report")
    ap.add_argument("--types", action="store_true", help="also print the object types that grew")
    asyncio.run(soak(ap.parse_args()))


if __name__ == "__main__":
    main()
