"""vLLM /metrics (older and newer names) and Ollama /api/ps."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from a2ia_tui.core.monitor.metrics import MetricsPoller, VLLMMetrics, parse_ollama_ps, rates

pytestmark = pytest.mark.filterwarnings("error")
FIX = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"


def bump(text: str, **scale: float) -> str:
    out = []
    for line in text.splitlines():
        for name, factor in scale.items():
            if line.startswith((name + "{", name + " ")):
                head, value = line.rsplit(" ", 1)
                line = f"{head} {float(value) * factor}"
        out.append(line)
    return "\n".join(out) + "\n"


def test_newer_vllm_names():
    m = VLLMMetrics.parse((FIX / "vllm_0_33.txt").read_text(), timestamp=0)
    assert (m.running, m.waiting, m.kv_cache_usage) == (2.0, 0.0, 0.0612)
    assert m.prompt_tokens == 81200 and m.generation_tokens == 20500
    assert m.itl_count == 20400 and m.itl_sum == 204.0 and m.model_name == "Qwen/Qwen2.5-7B-Instruct-AWQ"


def test_older_vllm_names():
    m = VLLMMetrics.parse((FIX / "vllm_0_6.txt").read_text(), timestamp=0)
    assert m.kv_cache_usage == 0.4375 and m.prefix_hit_rate_gauge == 0.25
    assert m.itl_count == 4980 and m.itl_sum == pytest.approx(99.6)
    assert m.prefix_hits is None  # simply absent


def test_rates_from_two_scrapes():
    text = (FIX / "vllm_0_33.txt").read_text()
    a = VLLMMetrics.parse(text, timestamp=10.0)
    later = bump(
        text,
        **{
            "vllm:generation_tokens_total": 1.1,  # +2050 tokens
            "vllm:prefix_cache_queries_total": 1.5,  # +20000
            "vllm:prefix_cache_hits_total": 1.5,  # +15000
            "vllm:inter_token_latency_seconds_count": 2.0,  # +20400
            "vllm:inter_token_latency_seconds_sum": 3.0,  # +408
        },
    )
    b = VLLMMetrics.parse(later, timestamp=12.0)
    r = rates(a, b)
    assert r.generation_tokens_per_s == pytest.approx(1025.0)
    assert r.prompt_tokens_per_s == 0
    assert r.prefix_cache_hit_rate == pytest.approx(0.75)
    assert r.itl_mean_s == pytest.approx(0.02)
    assert r.ttft_mean_s is None  # no new requests in the interval
    assert rates(b, a).generation_tokens_per_s is None  # time went backwards / counter reset


def test_ollama_ps():
    models = parse_ollama_ps(json.loads((FIX / "ollama_ps.json").read_text()))
    assert models[0].name == "qwen2.5:14b" and models[0].on_gpu_fraction == pytest.approx(9663676416 / 11560824832)
    assert models[1].on_gpu_fraction == 1.0


async def test_poller_against_a_transport():
    text = (FIX / "vllm_0_33.txt").read_text()

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.path == "/metrics"
        return httpx.Response(200, text=text)

    poller = MetricsPoller("vllm", "http://gpu:8000/v1", transport=httpx.MockTransport(handler))
    m, r, _ = await poller.poll()
    assert m.kv_cache_usage == 0.0612 and r is None
    _m2, r2, _ = await poller.poll()
    assert r2 is not None
    await poller.aclose()
    dead = MetricsPoller("vllm", "http://127.0.0.1:9/v1")
    assert await dead.poll() == (None, None, None) and dead.error
    await dead.aclose()


def test_dropping_buckets_and_other_families_changes_nothing():
    """The pre-filter must give what prometheus_client gives on the whole text (sums over engines)."""
    from prometheus_client.parser import text_string_to_metric_families

    import tests.benchmarks.bench_monitor as bench

    text, series = bench.metrics_text(engines=3)
    text = (
        "# HELP python_gc_objects_collected_total Objects collected during gc\n"
        "# TYPE python_gc_objects_collected_total counter\n"
        'python_gc_objects_collected_total{generation="0"} 1234.0\n'
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4.2e+09\n"
    ) + text
    m = VLLMMetrics.parse(text, timestamp=0)
    full = {s.name: 0.0 for f in text_string_to_metric_families(text) for s in f.samples}
    for f in text_string_to_metric_families(text):
        for s in f.samples:
            full[s.name] += s.value
    assert series >= 300
    assert m.running == full["vllm:num_requests_running"] == 9.0
    assert m.generation_tokens == full["vllm:generation_tokens_total"]
    assert m.ttft_count == full["vllm:time_to_first_token_seconds_count"] and m.ttft_sum == pytest.approx(
        full["vllm:time_to_first_token_seconds_sum"]
    )
    assert m.itl_count == full["vllm:inter_token_latency_seconds_count"]
    assert m.prefix_hits == full["vllm:prefix_cache_hits_total"] and m.model_name == "Qwen/Qwen2.5-7B-Instruct"


def test_empty_or_foreign_text_is_all_absent():
    m = VLLMMetrics.parse("# TYPE up gauge\nup 1\n", timestamp=0)
    assert (m.running, m.kv_cache_usage, m.generation_tokens, m.itl_count) == (None, None, None, None)
    assert VLLMMetrics.parse("", timestamp=0).running is None


def test_ollama_ps_cpu_only_older_and_empty_bodies():
    cpu, old = parse_ollama_ps(json.loads((FIX / "ollama_ps_cpu_old.json").read_text()))
    assert cpu.on_gpu_fraction == 0.0 and cpu.size == 3355443200  # all on the CPU
    assert (
        old.size_vram == 0 and old.context_length is None and old.expires_at.startswith("0001")
    )  # older Ollama: no size_vram
    assert parse_ollama_ps(json.loads((FIX / "ollama_ps_empty.json").read_text())) == []


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "x",
        {"models": None},
        {"models": "x"},
        {"models": [1, None, {"size": "big", "size_vram": -5, "context_length": True, "expires_at": 3}]},
    ],
)
def test_ollama_ps_junk_never_raises(body):
    models = parse_ollama_ps(body)
    for m in models:
        assert (m.name, m.size, m.size_vram, m.context_length, m.expires_at, m.on_gpu_fraction) == (
            "?",
            0,
            0,
            None,
            None,
            0.0,
        )


async def test_poller_errors_are_one_line_states():
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="Not Found\nmore")  # e.g. an OpenAI proxy with no /metrics

    poller = MetricsPoller("vllm", "http://proxy:8000/v1", transport=httpx.MockTransport(handler))
    assert await poller.poll() == (None, None, None)
    assert "404" in poller.error and "\n" not in poller.error
    await poller.aclose()

    ollama = MetricsPoller(
        "ollama",
        "http://127.0.0.1:11434",
        transport=httpx.MockTransport(
            lambda req: httpx.Response(200, json=json.loads((FIX / "ollama_ps.json").read_text()))
        ),
    )
    m, r, ps = await ollama.poll()
    assert m is None and r is None and [x.name for x in ps] == ["qwen2.5:14b", "nomic-embed-text:latest"]
    await ollama.aclose()


def test_malformed_text_is_a_protocol_error_and_nan_is_absent():
    from a2ia_tui.core.errors import BackendProtocolError

    with pytest.raises(BackendProtocolError, match="not Prometheus text") as info:
        VLLMMetrics.parse('vllm:num_requests_running{engine="0" 2\n')
    assert "\n" not in str(info.value)
    m = VLLMMetrics.parse(
        "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc NaN\n"
        "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n",
        timestamp=0,
    )
    assert m.kv_cache_usage is None and m.running == 1.0
