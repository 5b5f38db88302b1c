"""A/B of the figures a user feels: this checkout against another one (``--base``: a checkout with
its own ``.venv``, e.g. ``git worktree add --detach ../base main`` and a copy of the venv whose
editable install points at it), measured in alternating rounds of the same run.

Each figure is measured by a fresh process of each checkout's own Python, with that checkout's
benchmark functions (bench_tui.py, bench_stream.py): the same code measures both sides.

- stream: app CPU while an answer streams at 150 tokens/s (core), and the drawing lag after its
  last token (ms)
- open: opening a saved 1,000-message conversation (s)
- startup: a fresh process to its first full screen (s), beside a bare Textual app's (the ratio
  app/bare of each pair is given too)
- ingest: client CPU to take in 20,000 streamed chunks (OpenAI SSE and Ollama NDJSON; ms)

Every row prints the medians over the rounds, the median of the rounds' ratios (this/base), and
each round's pair.

    .venv/bin/python tests/benchmarks/bench_ab.py --base ../base [--rounds 5] [--only stream,open]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, json, os, statistics, sys, tempfile, time
root, what, arg = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [root, root + "/tests/benchmarks"]
os.environ.setdefault("A2IA_HOME", tempfile.mkdtemp())
out = {}
if what == "stream":
    import bench_tui
    srv = bench_tui.Server(bench_tui.markdown_words(int(arg)), 150)
    try:
        r = asyncio.run(bench_tui.app_turn(srv.url, cpu_stamps=True))
    finally:
        srv.close()
    out = {"stream_cpu": r["stream_cpu"], "draw_lag_ms": r["draw_lag"] * 1000}
elif what == "open":
    import bench_tui
    asyncio.run(bench_tui.open_big(50))  # first-use imports
    out = {"open_1000_s": asyncio.run(bench_tui.open_big(1000))}
elif what == "startup":
    import bench_tui
    home = arg
    out = {"bare_s": bench_tui.startup("bare", home), "app_s": bench_tui.startup("app", home)}
    out["app_over_bare"] = out["app_s"] / out["bare_s"]
elif what == "warm":
    import bench_tui
    bench_tui.startup("app", arg, stay_s=2.5)  # a first launch: leaves what a user's would
elif what == "ingest":
    import bench_stream
    from a2ia_tui.core.llm.ollama import OllamaClient
    from a2ia_tui.core.llm.openai import OpenAIClient
    text = " ".join(["tok"] * int(arg))
    for flavor, cls in (("vllm", OpenAIClient), ("ollama", OllamaClient)):
        with bench_stream.server_process(flavor, text) as url:
            client = cls(url, model="fake-model")
            async def go():
                await bench_stream.ours(client)  # warm-up
                cpus = []
                for _ in range(3):
                    c0 = time.process_time()
                    n = await bench_stream.ours(client)
                    cpus.append(time.process_time() - c0)
                    assert n == int(arg), n
                await client.aclose()
                return min(cpus)
            out[f"ingest_{flavor}_ms"] = asyncio.run(go()) * 1000
print("RESULT " + json.dumps(out))
"""

MODES = {"stream": "1500", "open": "", "startup": "", "ingest": "20000"}


def child(root: Path, what: str, arg: str) -> dict:
    py = root / ".venv" / "bin" / "python"
    proc = subprocess.run(
        [str(py), "-c", CHILD, str(root), what, arg], capture_output=True, text=True, cwd=root, timeout=600
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{root} {what} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the other checkout (with its own .venv)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    ap.add_argument("--tokens", default=MODES["stream"], help="stream: tokens of the answer")
    a = ap.parse_args()
    trees = {"base": a.base.resolve(), "this": HERE}
    homes = {name: tempfile.mkdtemp() for name in trees}
    modes = [m for m in a.only.split(",") if m]
    if "startup" in modes:
        for name, root in trees.items():
            child(root, "warm", homes[name])
    results: dict[str, dict[str, list[dict]]] = {m: {"base": [], "this": []} for m in modes}
    for r in range(a.rounds):
        for mode in modes:
            order = ("base", "this") if r % 2 == 0 else ("this", "base")
            for name in order:
                arg = homes[name] if mode == "startup" else (a.tokens if mode == "stream" else MODES[mode])
                results[mode][name].append(child(trees[name], mode, arg))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    print(f"# A/B: this ({HERE}) against base ({trees['base']}), {a.rounds} alternating rounds; medians")
    print(f"{'figure':<22} {'base':>10} {'this':>10} {'this/base':>10}   [rounds, base/this]")
    for mode in modes:
        base, this = results[mode]["base"], results[mode]["this"]
        for key in base[0]:
            b = [x[key] for x in base]
            t = [x[key] for x in this]
            ratio = statistics.median(y / x for x, y in zip(b, t, strict=True) if x)
            rounds = ", ".join(f"{x:.3g}/{y:.3g}" for x, y in zip(b, t, strict=True))
            print(f"{key:<22} {statistics.median(b):10.3f} {statistics.median(t):10.3f} {ratio:10.2f}   [{rounds}]")


if __name__ == "__main__":
    main()
