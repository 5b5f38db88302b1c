"""A fake ``vllm`` executable: ``fake_vllm.py serve MODEL --host H --port P [...]``.

It prints vLLM 0.33's real start-up log lines (with ``--fake-delay`` seconds between phases),
refuses connections until ``Application startup complete.``, then serves ``/health``,
``/v1/models`` (with max_model_len), ``/metrics`` and a streamed ``/v1/chat/completions``
(the loopback FakeLLMServer, vLLM flavour). Unknown vLLM flags are accepted and ignored.

Variants (``--fake-mode``): ``normal``; ``oom`` (dies of CUDA OOM while loading, exit 1, with the
cause above vLLM's closing RuntimeError); ``kv-too-small`` (max_model_len larger than the KV cache);
``crash-after-ready`` (dies ``--fake-crash-after`` s after ready); ``ignore-sigterm``;
``spawn-child`` (a child process in the same group; its pid goes to ``--fake-child-pidfile``).
``--fake-gpu-gib N`` (GPU machines only): while "loading the model" a child process (as vLLM's
EngineCore) takes N GiB on the real GPU and keeps it busy (``gpu_load.py``) until the server stops.
With ``FAKE_VLLM_READY_FILE`` set it writes there the ``time.monotonic()`` at which ``/health``
began answering 200 (the readiness benchmark's reference point).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.llm_server import FakeLLMServer, Reply


def log(kind: str, msg: str) -> None:
    stamp = time.strftime("%m-%d %H:%M:%S")
    print(f"({kind} pid={os.getpid()}) INFO {stamp} [fake.py:1] {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", nargs="?")
    ap.add_argument("model", nargs="?")
    ap.add_argument("--model", dest="model_flag")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--served-model-name")
    ap.add_argument("--max-model-len", default="4096")
    ap.add_argument("--fake-mode", default="normal")
    ap.add_argument("--fake-delay", type=float, default=0.05)
    ap.add_argument("--fake-crash-after", type=float, default=0.5)
    ap.add_argument("--fake-child-pidfile")
    ap.add_argument("--fake-gpu-gib", type=float, default=0.0)
    args, _unknown = ap.parse_known_args()
    model = args.served_model_name or args.model or args.model_flag or "fake-model"
    d = args.fake_delay
    if args.fake_mode == "ignore-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.fake_mode == "spawn-child":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        if args.fake_child_pidfile:
            Path(args.fake_child_pidfile).write_text(str(child.pid))

    log("APIServer", "vLLM API server version 0.33.0")
    log(
        "APIServer",
        f"non-default args: {{'model': '{model}', 'host': '{args.host}', 'port': {args.port}}}",
    )
    time.sleep(d)
    log("EngineCore", f"Starting to load model {model}...")
    time.sleep(d)
    if args.fake_gpu_gib > 0:
        load = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("gpu_load.py")),
                "--gib",
                str(args.fake_gpu_gib),
                "--seconds",
                "3600",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = load.stdout.readline() if load.stdout else ""
        if not line.startswith("ready"):
            print(
                f"(EngineCore pid=1) ERROR RuntimeError: the GPU load did not start ({line.strip() or 'exit ' + str(load.wait())})",
                flush=True,
            )
            return 1
    if args.fake_mode == "oom":
        print(
            "(EngineCore pid=1) ERROR torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. "
            "GPU 0 has a total capacity of 11.66 GiB of which 98.56 MiB is free.",
            flush=True,
        )
        print(
            "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
            flush=True,
        )
        return 1
    for pct, n in ((50, 1), (100, 2)):
        print(
            f"Loading safetensors checkpoint shards: {pct}% Completed | {n}/2 [00:0{n}<00:00]",
            flush=True,
        )
        time.sleep(d)
    log("EngineCore", "Model loading took 4.1456 GiB and 2.13 seconds")
    time.sleep(d)
    log("EngineCore", "Memory profiling takes 1.21 seconds")
    if args.fake_mode == "kv-too-small":
        print(
            "(EngineCore pid=1) ERROR ValueError: To serve at least one request with the models's max seq len (131072), "
            "(16.00 GiB KV cache is needed, which is larger than the available KV cache memory (5.73 GiB). "
            "Based on the available memory, the estimated maximum model length is 46896. Try increasing "
            "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
            flush=True,
        )
        print(
            "RuntimeError: Engine core initialization failed. See root cause above.",
            flush=True,
        )
        return 1
    log("EngineCore", "GPU KV cache size: 47,712 tokens")
    log(
        "EngineCore",
        f"Maximum concurrency for {args.max_model_len} tokens per request: 11.65x",
    )
    time.sleep(d)
    log("EngineCore", "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%")
    time.sleep(d)
    log("EngineCore", "Graph capturing finished in 3 secs, took 0.52 GiB")
    log("APIServer", f"Starting vLLM server on http://{args.host}:{args.port}")

    async def serve() -> int:
        srv = FakeLLMServer(
            "vllm",
            [Reply(text="Hello from fake vLLM.")],
            models=[model],
            max_model_len=int(str(args.max_model_len).rstrip("k") or 4096),
            port=args.port,
        )
        log("APIServer", f"Started server process [{os.getpid()}]")
        log("APIServer", "Application startup complete.")  # uvicorn logs it before it accepts connections
        await srv.start()
        if os.environ.get("FAKE_VLLM_READY_FILE"):  # for the benchmark: when /health starts answering 200
            Path(os.environ["FAKE_VLLM_READY_FILE"]).write_text(repr(time.monotonic()))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if args.fake_mode != "ignore-sigterm":
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        if args.fake_mode == "crash-after-ready":
            await asyncio.sleep(args.fake_crash_after)
            print(
                "(EngineCore pid=1) ERROR RuntimeError: CUDA error: an illegal memory access was encountered",
                flush=True,
            )
            if os.environ.get("FAKE_VLLM_READY_FILE"):  # for the benchmark: the moment of the crash
                Path(os.environ["FAKE_VLLM_READY_FILE"] + ".crash").write_text(repr(time.monotonic()))
            os._exit(1)
        await stop.wait()
        log("APIServer", "Shutting down")
        await srv.stop()
        return 0

    return asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
