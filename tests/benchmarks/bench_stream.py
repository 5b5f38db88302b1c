"""Stream ingestion: 20,000 content chunks from a loopback server, as fast as it can send them.

Measured in the same run, best of N rounds each:
  SSE   raw httpx line iteration (the floor) | OpenAIClient.stream_chat | openai.AsyncOpenAI
  NDJSON raw httpx line iteration (the floor) | OllamaClient.stream_chat | ollama.AsyncClient

Run: .venv/bin/python tests/benchmarks/bench_stream.py [--chunks 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.llm.ollama import OllamaClient  # noqa: E402
from a2ia_tui.core.llm.openai import OpenAIClient  # noqa: E402
from a2ia_tui.core.llm.types import Message  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, Reply  # noqa: E402

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
            n += 1
    return n


async def sdk_openai(base: str) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=base, api_key="x")
    n = 0
    stream = await client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "go"}], stream=True)
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


async def timed(fn, rounds: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        count = await fn()
        best = min(best, time.perf_counter() - t0)
    return best, count


async def main(chunks: int, rounds: int) -> None:
    text = "tok " * chunks
    for flavor in ("vllm", "ollama"):
        srv = FakeLLMServer(flavor, [Reply(text=text)])
        srv.start_in_thread()  # the server's own CPU work stays off the measuring loop's thread
        try:
            if flavor == "vllm":
                body = {"model": "fake-model", "messages": [{"role": "user", "content": "go"}], "stream": True}
                client = OpenAIClient(srv.url, model="fake-model")
                rows = [
                    ("raw httpx aiter_lines (floor)", lambda: raw_lines(srv.url + "/chat/completions", body)),
                    ("a2ia OpenAIClient.stream_chat", lambda: ours(client)),
                    ("openai.AsyncOpenAI (official SDK)", lambda: sdk_openai(srv.url)),
                ]
                title = "SSE (OpenAI/vLLM)"
            else:
                body = {"model": "fake-model", "messages": [{"role": "user", "content": "go"}], "stream": True}
                client = OllamaClient(srv.url, model="fake-model")
                rows = [
                    ("raw httpx aiter_lines (floor)", lambda: raw_lines(srv.url + "/api/chat", body)),
                    ("a2ia OllamaClient.stream_chat", lambda: ours(client)),
                    ("ollama.AsyncClient (official SDK)", lambda: sdk_ollama(srv.url)),
                ]
                title = "NDJSON (Ollama)"
            results = []
            for label, fn in rows:
                secs, count = await timed(fn, rounds)
                results.append((label, secs, count))
            await client.aclose()
        finally:
            srv.stop_thread()
        floor = results[0][1]
        print(f"\n{title}: {chunks} content chunks, best of {rounds}")
        for label, secs, count in results:
            print(f"  {label:<36} {secs*1000:8.1f} ms  {count/secs:10,.0f} chunks/s  {secs/floor:5.2f}x floor")
        ours_s, sdk_s = results[1][1], results[2][1]
        print(f"  -> a2ia vs floor {ours_s/floor:.2f}x (goal <= 1.25x); official SDK / a2ia = {sdk_s/ours_s:.2f}x (goal > 1)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.chunks, a.rounds))
