"""Monitoring costs: one GPU sample, the CPU share of sampling at 1 Hz, and parsing vLLM /metrics.

Measured in the same run, each against a baseline:

  sample      ``GPUSampler.sample()`` on the scripted fake NVML (``two_gpus``: 2 devices, processes
              refreshed on every call = the worst case; and devices only, the 1 s path between
              process refreshes) vs the floor: the raw fake NVML calls for memory + utilisation.
              With ``pynvml`` and a driver present, the same on the real NVML.
  cpu@1Hz     process CPU time / wall time while ``GPUSampler.samples()`` runs at 1 Hz for
              ``--duration`` seconds (the TUI's pane path: the blocking calls in a thread) vs an
              asyncio loop that only sleeps 1 s for the same time. Goal: under 0.5 % of one core.
  parse       ``VLLMMetrics.parse`` on a generated vLLM-format text of 300+ series (gauges,
              counters, histograms with buckets, two engines) vs prometheus_client's bare
              ``text_string_to_metric_families`` consumed into a list. Goal: under 5 ms.

Run: .venv/bin/python tests/benchmarks/bench_monitor.py [--duration 20] [--samples 2000] [--real-only]
On a GPU machine the same command also measures the real NVML (it says so when it cannot).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.monitor.fake_nvml import FakeNVML, load_scenario
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.core.monitor.metrics import VLLMMetrics

BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]


def metrics_text(engines: int = 2) -> tuple[str, int]:
    """A vLLM-0.8+-style exposition; returns (text, number of series)."""
    out: list[str] = []
    series = 0
    for e in range(engines):
        lab = f'engine="{e}",model_name="Qwen/Qwen2.5-7B-Instruct"'
        for name, kind, value in (
            ("vllm:num_requests_running", "gauge", 3),
            ("vllm:num_requests_waiting", "gauge", 1),
            ("vllm:kv_cache_usage_perc", "gauge", 0.42),
            ("vllm:prompt_tokens_total", "counter", 123456),
            ("vllm:generation_tokens_total", "counter", 654321),
            ("vllm:prefix_cache_queries_total", "counter", 10000),
            ("vllm:prefix_cache_hits_total", "counter", 7000),
            ("vllm:num_preemptions_total", "counter", 2),
        ):
            if e == 0:
                out.append(f"# HELP {name} {name}.\n# TYPE {name} {kind}")
            out.append(f"{name}{{{lab}}} {float(value)}")
            series += 1
        for reason in ("stop", "length", "abort"):
            if e == 0 and reason == "stop":
                out.append("# TYPE vllm:request_success_total counter")
            out.append(f'vllm:request_success_total{{{lab},finished_reason="{reason}"}} 42.0')
            series += 1
        for hist in (
            "time_to_first_token_seconds",
            "inter_token_latency_seconds",
            "e2e_request_latency_seconds",
            "request_queue_time_seconds",
            "request_prefill_time_seconds",
            "request_decode_time_seconds",
            "request_inference_time_seconds",
        ):
            name = f"vllm:{hist}"
            if e == 0:
                out.append(f"# HELP {name} {hist}.\n# TYPE {name} histogram")
            edges: list[float | str] = [*BUCKETS, "+Inf"]
            for i, le in enumerate(edges):
                out.append(f'{name}_bucket{{{lab},le="{float(le) if le != "+Inf" else le}"}} {float(i * 10)}')
                series += 1
            out.append(f"{name}_sum{{{lab}}} 123.4")
            out.append(f"{name}_count{{{lab}}} 190.0")
            series += 2
    return "\n".join(out) + "\n", series


def _per_call(fn, n: int) -> float:
    """Median over 5 blocks of the mean seconds per call (blocks soak up load spikes)."""
    block = max(1, n // 5)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(block):
            fn()
        times.append((time.perf_counter() - t0) / block)
    return statistics.median(times)


def _sampler_cost(make_nvml, process_interval_s: float, n: int, *, forget_unsupported: bool = False) -> float:
    """Seconds per ``sample()``; ``forget_unsupported``: ask the fields the device does not support
    at every sample again (as the sampler did before it remembered them)."""
    settings = load_settings(env={}).settings.monitor
    settings.process_interval_s = process_interval_s
    sampler = GPUSampler(settings, nvml=make_nvml())
    sampler.sample()  # init and static facts happen once, outside the timing
    try:
        if forget_unsupported:

            def sample() -> None:
                sampler._unsupported.clear()
                sampler.sample()

            return _per_call(sample, n)
        return _per_call(sampler.sample, n)
    finally:
        sampler.close()


def bench_sample(n: int) -> None:
    fake = FakeNVML(load_scenario("two_gpus"))
    fake.nvmlInit()
    handles = [fake.nvmlDeviceGetHandleByIndex(i) for i in range(fake.nvmlDeviceGetCount())]

    def raw() -> None:
        for h in handles:
            fake.nvmlDeviceGetMemoryInfo(h)
            fake.nvmlDeviceGetUtilizationRates(h)

    with_procs = _sampler_cost(lambda: FakeNVML(load_scenario("two_gpus")), 1e-9, n)  # processes on every call
    devices_only = _sampler_cost(lambda: FakeNVML(load_scenario("two_gpus")), 1e9, n)  # the 1 s path
    base = _per_call(raw, n)
    print(
        f"sample (fake, 2 GPUs)   devices+processes {with_procs * 1e6:8.1f} us   devices only {devices_only * 1e6:8.1f} us"
    )
    print(
        f"  baseline raw fake memory+util calls    {base * 1e6:8.1f} us   ratios {with_procs / base:.1f}x / {devices_only / base:.1f}x"
    )
    bench_real_sample(n)


def bench_real_sample(n: int) -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001
        print(f"sample (real NVML)      not measured: {type(exc).__name__}: {exc}")
        return
    try:
        settings = load_settings(env={}).settings.monitor
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def raw() -> None:
            for h in handles:
                pynvml.nvmlDeviceGetMemoryInfo(h)
                pynvml.nvmlDeviceGetUtilizationRates(h)

        sampler = GPUSampler(settings, nvml=pynvml)
        t0 = time.perf_counter()
        first = sampler.sample()
        print(
            f"real NVML: {len(first.devices)} device(s), first sample (static facts) {(time.perf_counter() - t0) * 1e3:.1f} ms"
        )
        for d in first.devices:
            print(
                f"  GPU{d.index} {d.name} {d.memory_used}/{d.memory_total} B util {d.util_gpu}% {d.temperature_c}C "
                f"{d.power_w}/{d.power_limit_w} W procs {[(p.pid, p.display_name, p.used_bytes) for p in d.processes]}"
            )
        sampler.close()
        m = max(50, n // 10)
        with_procs = _sampler_cost(lambda: pynvml, 1e-9, m)
        devices_only = _sampler_cost(lambda: pynvml, 1e9, m)
        base = _per_call(raw, m)
        print(
            f"sample (real NVML)      devices+processes {with_procs * 1e6:8.1f} us   devices only {devices_only * 1e6:8.1f} us"
        )
        print(
            f"  baseline raw NVML memory+util calls    {base * 1e6:8.1f} us   ratios {with_procs / base:.1f}x / {devices_only / base:.1f}x"
        )
        asking = _sampler_cost(lambda: pynvml, 1e9, m, forget_unsupported=True)
        print(
            f"  devices only, asking unsupported fields every time {asking * 1e6:8.1f} us   "
            f"(remembering them: {devices_only / asking:.2f}x of that)"
        )
        # where a sample's time goes: each NVML call the sampler makes, on the first device
        h = handles[0]
        nv = pynvml
        calls = {
            "memory": lambda: nv.nvmlDeviceGetMemoryInfo(h),
            "utilisation": lambda: nv.nvmlDeviceGetUtilizationRates(h),
            "power": lambda: nv.nvmlDeviceGetPowerUsage(h),
            "temperature": lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU),
            "fan": lambda: nv.nvmlDeviceGetFanSpeed(h),
            "clock sm": lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM),
            "clock mem": lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM),
            "processes": lambda: (
                nv.nvmlDeviceGetComputeRunningProcesses(h),
                nv.nvmlDeviceGetGraphicsRunningProcesses(h),
            ),
        }
        parts = []
        for label, fn in calls.items():

            def safe(fn=fn) -> None:
                try:
                    fn()
                except nv.NVMLError:
                    pass

            try:
                fn()
                note = ""
            except nv.NVMLError as exc:
                note = f" ({type(exc).__name__.replace('NVMLError_', '')})"
            parts.append(f"{label}{note} {_per_call(safe, m) * 1e6:.1f}")
        print("  per NVML call (us):   " + ", ".join(parts))
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


async def _cpu_share(duration: float, sampler: GPUSampler | None) -> tuple[float, int]:
    n = 0
    c0, w0 = time.process_time(), time.monotonic()
    if sampler is None:
        while time.monotonic() - w0 < duration:
            await asyncio.sleep(1.0)
            n += 1
    else:
        async for _snap in sampler.samples():
            n += 1
            if time.monotonic() - w0 >= duration:
                break
    return (time.process_time() - c0) / (time.monotonic() - w0), n


def bench_cpu(duration: float, real: bool) -> None:
    settings = load_settings(env={}).settings.monitor
    settings.gpu_interval_s = 1.0
    base, _ = asyncio.run(_cpu_share(duration, None))
    label, nvml = ("fake", FakeNVML(load_scenario("two_gpus")))
    if real:
        import pynvml

        label, nvml = "real", pynvml
    sampler = GPUSampler(settings, nvml=nvml)
    share, n = asyncio.run(_cpu_share(duration, sampler))
    sampler.close()
    goal = "OK" if share < 0.005 else "over the 0.5 % goal"
    print(f"cpu@1Hz ({label})          {share * 100:.3f} % of one core over {n} samples ({goal})")
    print(
        f"  baseline sleeping loop               {base * 100:.3f} %   difference {(share - base) * 100:+.3f} points"
        f"   ratio {share / base if base else float('inf'):.1f}x"
    )


def bench_parse(n: int) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text, series = metrics_text()
    parsed = VLLMMetrics.parse(text)
    assert parsed.kv_cache_usage is not None and parsed.itl_count is not None
    ours = _per_call(lambda: VLLMMetrics.parse(text), n)
    base = _per_call(lambda: list(text_string_to_metric_families(text)), n)
    goal = "OK" if ours < 0.005 else "over the 5 ms goal"
    print(f"parse /metrics ({series} series, {len(text)} bytes)  {ours * 1e3:.3f} ms ({goal})")
    print(f"  baseline bare text_string_to_metric_families  {base * 1e3:.3f} ms   ratio {ours / base:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of 1 Hz sampling for the CPU share")
    ap.add_argument("--samples", type=int, default=2000, help="calls per timed figure")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}")
    bench_parse(max(50, args.samples // 10))
    bench_sample(args.samples)
    bench_cpu(args.duration, real=False)
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        real = True
    except Exception:  # noqa: BLE001
        real = False
    if real:
        bench_cpu(args.duration, real=True)
    else:
        print("cpu@1Hz (real)          not measured: no NVIDIA driver here")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
