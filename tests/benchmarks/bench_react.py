"""ReAct stream parsing: the per-token cost of ``ReactStreamParser.feed``.

Three replies of about 2,000 tokens (a long Thought then an Action; a long Final Answer; a plain
answer), fed 4 characters at a time (about one token); best of N rounds, microseconds per feed.

Run: .venv/bin/python tests/benchmarks/bench_react.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.agent.react import ReactStreamParser

WORDS = "the model thinks about which file to read next and why it matters here " * 115
REPLIES = {
    "thought+action": f'Thought: {WORDS}\nAction: read_file\nAction Input: {{"path": "README.md"}}',
    "final answer": f"Thought: I know it.\nFinal Answer: {WORDS}",
    "plain": WORDS,
}


def run(text: str, step: int = 4) -> float:
    pieces = [text[i : i + step] for i in range(0, len(text), step)]
    parser = ReactStreamParser()
    t0 = time.perf_counter()
    for p in pieces:
        parser.feed(p)
    parser.finish()
    return (time.perf_counter() - t0) / len(pieces)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    for name, text in REPLIES.items():
        best = min(run(text) for _ in range(args.rounds))
        print(f"{name:16s} {len(text) // 4:5d} feeds  {best * 1e6:6.2f} µs/feed")


if __name__ == "__main__":
    main()
