"""Server-side metrics: vLLM's Prometheus ``/metrics`` and Ollama's ``/api/ps``.

vLLM's metric names moved between releases; both spellings are accepted and a metric that is
missing is simply absent (``None``):

=============================  ===========================================  ======================
figure                         newer vLLM                                    older vLLM
=============================  ===========================================  ======================
requests running / waiting     vllm:num_requests_running / _waiting          same
KV-cache usage (0–1 fraction)  vllm:kv_cache_usage_perc                      vllm:gpu_cache_usage_perc
prompt / generated tokens      vllm:prompt_tokens_total / generation_…       same
prefix-cache hit rate          vllm:prefix_cache_hits_total / _queries_total vllm:gpu_prefix_cache_hit_rate
TTFT histogram                 vllm:time_to_first_token_seconds              same
inter-token latency histogram  vllm:inter_token_latency_seconds              vllm:time_per_output_token_seconds
=============================  ===========================================  ======================

Counters and histograms become rates and recent means from two scrapes (:func:`rates`).
Parsing uses prometheus_client's text parser, fed only the lines that matter: histogram buckets
(means come from ``_sum``/``_count``) and non-``vllm:`` families (the Python process metrics) are
dropped first, which makes a 300-series scrape several times cheaper. Text that is not Prometheus
format raises ``BackendProtocolError``; NaN/Inf values count as absent.

Ollama has no ``/metrics``; ``/api/ps`` tells which models are loaded and how much of each is in
VRAM (``size_vram < size`` = partly on the CPU).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import BackendProtocolError

_KV = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
_ITL = ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")


def _relevant_lines(text: str) -> str:
    """The exposition without bucket samples and without families other than ``vllm:*``."""
    keep = [ln for ln in text.splitlines() if "vllm:" in ln and "_bucket{" not in ln]
    return "\n".join(keep) + "\n"


@dataclass(frozen=True)
class VLLMMetrics:
    timestamp: float
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    prefix_hits: float | None = None
    prefix_queries: float | None = None
    prefix_hit_rate_gauge: float | None = None
    ttft_sum: float | None = None
    ttft_count: float | None = None
    itl_sum: float | None = None
    itl_count: float | None = None
    model_name: str | None = None

    @classmethod
    def parse(cls, text: str, timestamp: float | None = None) -> VLLMMetrics:
        """Raises :class:`BackendProtocolError` (one line) for text that is not Prometheus format."""
        from prometheus_client.parser import text_string_to_metric_families

        values: dict[str, float] = {}
        model: str | None = None
        try:
            for family in text_string_to_metric_families(_relevant_lines(text)):
                if not family.name.startswith("vllm:"):
                    continue
                for sample in family.samples:
                    name = sample.name
                    if name.endswith(("_bucket", "_created")) or not math.isfinite(sample.value):
                        continue  # NaN / Inf (an idle gauge): absent, and the JSON stays valid
                    values[name] = values.get(name, 0.0) + float(sample.value)
                    model = model or sample.labels.get("model_name")
        except ValueError as exc:
            raise BackendProtocolError(
                f"/metrics is not Prometheus text: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            ) from exc

        def first(*names: str) -> float | None:
            for n in names:
                if n in values:
                    return values[n]
            return None

        itl = next((n for n in _ITL if n + "_count" in values), _ITL[0])
        return cls(
            timestamp=time.monotonic() if timestamp is None else timestamp,
            running=first("vllm:num_requests_running"),
            waiting=first("vllm:num_requests_waiting"),
            kv_cache_usage=first(*_KV),
            prompt_tokens=first("vllm:prompt_tokens_total", "vllm:prompt_tokens"),
            generation_tokens=first("vllm:generation_tokens_total", "vllm:generation_tokens"),
            prefix_hits=first("vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits"),
            prefix_queries=first("vllm:prefix_cache_queries_total", "vllm:prefix_cache_queries"),
            prefix_hit_rate_gauge=first("vllm:gpu_prefix_cache_hit_rate"),
            ttft_sum=first("vllm:time_to_first_token_seconds_sum"),
            ttft_count=first("vllm:time_to_first_token_seconds_count"),
            itl_sum=first(itl + "_sum"),
            itl_count=first(itl + "_count"),
            model_name=model,
        )


@dataclass(frozen=True)
class VLLMRates:
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    prefix_cache_hit_rate: float | None = None
    ttft_mean_s: float | None = None
    itl_mean_s: float | None = None


def _delta(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    d = b - a
    return d if d >= 0 else None  # a counter reset (server restart): no rate this time


def _mean(s0: float | None, c0: float | None, s1: float | None, c1: float | None) -> float | None:
    ds, dc = _delta(s0, s1), _delta(c0, c1)
    if ds is None or not dc:
        return None
    return ds / dc


def rates(prev: VLLMMetrics, cur: VLLMMetrics) -> VLLMRates:
    """Rates over the interval between two scrapes, and the recent means of the histograms."""
    dt = cur.timestamp - prev.timestamp
    if dt <= 0:
        return VLLMRates()
    dp, dg = _delta(prev.prompt_tokens, cur.prompt_tokens), _delta(prev.generation_tokens, cur.generation_tokens)
    hits, queries = _delta(prev.prefix_hits, cur.prefix_hits), _delta(prev.prefix_queries, cur.prefix_queries)
    hit_rate = hits / queries if hits is not None and queries else cur.prefix_hit_rate_gauge
    return VLLMRates(
        prompt_tokens_per_s=dp / dt if dp is not None else None,
        generation_tokens_per_s=dg / dt if dg is not None else None,
        prefix_cache_hit_rate=hit_rate,
        ttft_mean_s=_mean(prev.ttft_sum, prev.ttft_count, cur.ttft_sum, cur.ttft_count),
        itl_mean_s=_mean(prev.itl_sum, prev.itl_count, cur.itl_sum, cur.itl_count),
    )


@dataclass(frozen=True)
class LoadedModel:
    name: str
    size: int
    size_vram: int
    expires_at: str | None = None
    context_length: int | None = None

    @property
    def on_gpu_fraction(self) -> float:
        return self.size_vram / self.size if self.size else 0.0


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def parse_ollama_ps(body: Any) -> list[LoadedModel]:
    """``/api/ps`` → loaded models. Missing or malformed fields become 0 / None (older Ollama
    versions have no ``size_vram`` or ``context_length``); entries that are not objects are skipped."""
    models = body.get("models") if isinstance(body, dict) else None
    out = []
    for m in models if isinstance(models, list) else []:
        if not isinstance(m, dict):
            continue
        expires = m.get("expires_at")
        ctx = m.get("context_length")
        out.append(
            LoadedModel(
                name=str(m.get("name") or m.get("model") or "?"),
                size=_int(m.get("size")),
                size_vram=_int(m.get("size_vram")),
                expires_at=expires if isinstance(expires, str) else None,
                context_length=ctx if isinstance(ctx, int) and not isinstance(ctx, bool) else None,
            )
        )
    return out


def server_root(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class MetricsPoller:
    """Scrapes one server: ``await poller.poll()`` → ``(VLLMMetrics | None, VLLMRates | None,
    list[LoadedModel] | None)`` depending on ``kind`` ("vllm" or "ollama"). Never raises: an
    unreachable server yields Nones and ``poller.error`` says why."""

    def __init__(
        self, kind: str, base_url: str, *, timeout_s: float = 2.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.kind = kind
        self.root = server_root(base_url)
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport, trust_env=False)
        self._prev: VLLMMetrics | None = None
        self.error = ""

    async def poll(self) -> tuple[VLLMMetrics | None, VLLMRates | None, list[LoadedModel] | None]:
        try:
            if self.kind == "ollama":
                resp = await self._http.get(self.root + "/api/ps")
                resp.raise_for_status()
                self.error = ""
                return None, None, parse_ollama_ps(resp.json())
            resp = await self._http.get(self.root + "/metrics")
            resp.raise_for_status()
            cur = VLLMMetrics.parse(resp.text)
        except Exception as exc:  # noqa: BLE001 - monitoring never breaks anything
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, None, None
        self.error = ""
        r = rates(self._prev, cur) if self._prev is not None else None
        self._prev = cur
        return cur, r, None

    async def aclose(self) -> None:
        await self._http.aclose()
