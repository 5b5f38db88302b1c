"""Stream ingestion: 20,000 content chunks from a loopback server, as fast as it can send them.

Measured in the same run, best of N rounds each (rows interleaved round by round, after one
warm-up run each); every client must deliver all 20,000 content chunks (checked):
  SSE   raw httpx line iteration (the floor) | OpenAIClient.stream_chat | openai.AsyncOpenAI
  NDJSON raw httpx line iteration (the floor) | OllamaClient.stream_chat | ollama.AsyncClient

Run: .venv/bin/python tests/benchmarks/bench_stream.py [--chunks 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message

MSG = [Message(role="user", content="go")]


async def raw_lines(url: str, body: dict) -> int:
    n = 0
    async with httpx.AsyncClient(timeout=60) as http:
        async with http.stream("POST", url, json=body) as resp:
            async for line in resp.aiter_lines():
                if line:
                    n += 1
    return n


async def ours(client) -> int:
    n = 0
    async for c in client.stream_chat(MSG):
        if c.message.content:
            n += c.pieces  # events that arrived in one read come merged: count them all
    return n


async def sdk_openai(base: str) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=base, api_key="x")
    n = 0
    stream = await client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "go"}], stream=True
    )
    async for ev in stream:
        if ev.choices and ev.choices[0].delta.content:
            n += 1
    await client.close()
    return n


async def sdk_ollama(base: str) -> int:
    import ollama

    client = ollama.AsyncClient(host=base)
    n = 0
    async for part in await client.chat(model="fake-model", messages=[{"role": "user", "content": "go"}], stream=True):
        if part.message.content:
            n += 1
    return n


async def timed_interleaved(rows, rounds: int) -> list[tuple[str, float, float, int]]:
    """Best wall time and best CPU time of each row over ``rounds``, the rows interleaved round
    by round so that a burst of load from other processes hits them all alike. The server runs
    in another process, so this process's CPU time is the client's own work: the figure that
    stays meaningful on a loaded machine."""
    best = {label: float("inf") for label, _ in rows}
    best_cpu = {label: float("inf") for label, _ in rows}
    counts = {label: 0 for label, _ in rows}
    for _ in range(rounds):
        for label, fn in rows:
            c0, t0 = time.process_time(), time.perf_counter()
            counts[label] = await fn()
            best[label] = min(best[label], time.perf_counter() - t0)
            best_cpu[label] = min(best_cpu[label], time.process_time() - c0)
    return [(label, best[label], best_cpu[label], counts[label]) for label, _ in rows]


@contextlib.contextmanager
def server_process(flavor: str, text: str):
    """The fake server's command line (READY <url>), in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        replies = Path(tmp) / "replies.json"
        replies.write_text(json.dumps([{"text": text}]), encoding="utf-8")
        script = Path(__file__).resolve().parents[1] / "fakes" / "llm_server.py"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--flavor",
                flavor,
                "--port",
                "0",
                "--replies",
                str(replies),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        try:
            line = proc.stdout.readline().split()
            assert line[:1] == ["READY"], f"server did not start: {line}"
            yield line[1]
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()


async def main(chunks: int, rounds: int) -> None:
    text = " ".join(["tok"] * chunks)  # exactly `chunks` one-word pieces
    for flavor in ("vllm", "ollama"):
        with server_process(flavor, text) as url:
            body = {
                "model": "fake-model",
                "messages": [{"role": "user", "content": "go"}],
                "stream": True,
            }
            client: OpenAIClient | OllamaClient
            if flavor == "vllm":
                client = OpenAIClient(url, model="fake-model")
                rows = [
                    (
                        "raw httpx aiter_lines (floor)",
                        lambda: raw_lines(url + "/chat/completions", body),
                    ),
                    ("a2ia OpenAIClient.stream_chat", lambda: ours(client)),
                    ("openai.AsyncOpenAI (official SDK)", lambda: sdk_openai(url)),
                ]
                title = "SSE (vLLM flavour: explicit nulls, keep-alives)"
            else:
                client = OllamaClient(url, model="fake-model")
                rows = [
                    (
                        "raw httpx aiter_lines (floor)",
                        lambda: raw_lines(url + "/api/chat", body),
                    ),
                    ("a2ia OllamaClient.stream_chat", lambda: ours(client)),
                    ("ollama.AsyncClient (official SDK)", lambda: sdk_ollama(url)),
                ]
                title = "NDJSON (Ollama)"
            for _label, fn in rows:  # warm-up: imports, connection pools, caches
                await fn()
            results = await timed_interleaved(rows, rounds)
            await client.aclose()
        # the floor counts every non-empty line (a few are not content); the others count content
        assert results[0][3] >= chunks, results[0]
        for label, _s, _c, count in results[1:]:
            assert count == chunks, f"{label} saw {count} content chunks, expected {chunks}"
        floor, floor_cpu = results[0][1], results[0][2]
        print(f"\n{title}: {chunks} content chunks, best of {rounds}")
        print(f"  {'':<36} {'wall':>9}  {'chunks/s':>10}  {'vs floor':>8}   {'client CPU':>10}  {'vs floor':>8}")
        for label, secs, cpu, count in results:
            print(
                f"  {label:<36} {secs * 1000:7.1f} ms  {count / secs:10,.0f}  {secs / floor:7.2f}x"
                f"   {cpu * 1000:7.1f} ms  {cpu / floor_cpu:7.2f}x"
            )
        ours_s, sdk_s = results[1][1], results[2][1]
        ours_c, sdk_c = results[1][2], results[2][2]
        print(
            f"  -> a2ia vs floor: wall {ours_s / floor:.2f}x, CPU {ours_c / floor_cpu:.2f}x (goal <= 1.25x); "
            f"official SDK / a2ia: wall {sdk_s / ours_s:.2f}x, CPU {sdk_c / ours_c:.2f}x (goal > 1)"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.chunks, a.rounds))
