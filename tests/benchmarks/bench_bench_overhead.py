"""``a2ia-tui bench``'s own cost: client CPU per token while consuming 8 concurrent streams.

A loopback vLLM-flavoured fake (its own process, so this process's CPU time is the client's own
work) streams 8 replies at once, ``--tokens`` content events each (``ignore_eos`` + ``max_tokens``,
as bench asks). Rows, interleaved round by round, best CPU of ``--rounds``:

  raw httpx, lines only (floor)      8 streams, ``aiter_lines``, data lines counted
  raw httpx + orjson per event       the same, each event's JSON read (what counting tokens needs)
  a2ia bench (core.bench.run_level)  VLLMClient.stream_chat + the bench's timing and bookkeeping

Run: .venv/bin/python tests/benchmarks/bench_bench_overhead.py [--tokens 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.bench import fixed_length_options, run_level
from a2ia_tui.core.llm.vllm import VLLMClient

STREAMS = 8


@contextlib.contextmanager
def server_process() -> Iterator[str]:
    script = Path(__file__).resolve().parents[1] / "fakes" / "llm_server.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--flavor", "vllm", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[:1] == ["READY"], f"server did not start: {line}"
        yield line[1]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def raw(http: httpx.AsyncClient, url: str, body: dict, parse: bool) -> int:
    async def one() -> int:
        n = 0
        async with http.stream("POST", url, json=body) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    if parse:
                        payload = line[6:]
                        if payload == "[DONE]":
                            continue
                        obj = orjson.loads(payload)
                        for ch in obj.get("choices") or ():
                            if (ch.get("delta") or {}).get("content"):
                                n += 1
                    else:
                        n += 1
        return n

    return sum(await asyncio.gather(*(one() for _ in range(STREAMS))))


async def ours(client: VLLMClient, options: dict) -> int:
    level = await run_level(client, STREAMS, STREAMS, options)
    assert level.errors == 0, level.error_samples
    return level.tokens


async def main(tokens: int, rounds: int) -> None:
    options, _ = fixed_length_options("vllm", tokens)
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.0,
        **options,
    }
    with server_process() as url:
        http = httpx.AsyncClient(timeout=60)
        client = VLLMClient(url, model="fake-model")
        rows: list[tuple[str, Callable[[], Awaitable[int]]]] = [
            ("raw httpx, lines only (floor)", lambda: raw(http, url + "/chat/completions", body, False)),
            ("raw httpx + orjson per event", lambda: raw(http, url + "/chat/completions", body, True)),
            ("a2ia bench (run_level)", lambda: ours(client, options)),
        ]
        for _label, fn in rows:  # warm-up: imports, connection pools, the server's event cache
            await fn()
        best = {label: float("inf") for label, _ in rows}
        counts = dict.fromkeys(best, 0)
        for _ in range(rounds):
            for label, fn in rows:
                c0 = time.process_time()
                counts[label] = await fn()
                best[label] = min(best[label], time.process_time() - c0)
        await client.aclose()
        await http.aclose()
    expected = STREAMS * tokens
    assert counts["a2ia bench (run_level)"] == expected, counts
    assert counts["raw httpx + orjson per event"] == expected, counts
    print(f"{STREAMS} concurrent streams x {tokens} tokens, best client CPU of {rounds} rounds")
    floor = best["raw httpx, lines only (floor)"] / expected
    parsed = best["raw httpx + orjson per event"] / expected
    for label, cpu in best.items():
        per = cpu / expected
        print(f"  {label:<32} {cpu * 1000:8.1f} ms  {per * 1e6:6.2f} µs/token  {per / floor:5.2f}x floor")
    ratio = best["a2ia bench (run_level)"] / expected / parsed
    print(
        f"-> bench vs raw httpx + orjson: {ratio:.2f}x (goal <= 1.2x); vs the line-only floor: {ratio * parsed / floor:.2f}x"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4000, help="tokens per stream")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.tokens, a.rounds))
