"""Throughput under load: drive one backend with concurrent streamed requests, level by level.

``await run_bench(client, BenchConfig(levels=(1, 2, 4, 8)))`` sends, at each concurrency level,
``requests`` streamed chats of the same fixed prompt, ``concurrency`` at a time, through the
app's own :class:`~a2ia_tui.core.llm.base.LLMClient` (what a user's chat goes through), and
returns a :class:`BenchReport`: per level the total tokens/s (all tokens over the level's wall
time), the mean per-request decode rate (a request's tokens over the time from its first token to
its end), time to first token (p50/p95) and the errors.

Runs compare only at a fixed output length, so every request asks for exactly ``max_tokens``
where the server can be told to ignore its end-of-sequence token (:func:`fixed_length_options`):
vLLM takes ``ignore_eos`` and ``min_tokens``, llama-cpp-python's server ``min_tokens``; Ollama
has only ``num_predict`` (an upper bound) and a generic OpenAI server only ``max_tokens``: there
a reply may stop early, and the report says so.

Tokens are the server's count when it reports one (vLLM's usage chunk, Ollama's ``eval_count``),
else the number of streamed content events (llama-cpp-python sends one token per event).

A failed request (unreachable server, HTTP error, cut stream) is counted with its one-line reason
and the level goes on; nothing here raises for a server's behaviour.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import A2IAError
from .llm.base import LLMClient
from .llm.types import Message
from .redact import mask_url

#: The fixed prompt: open-ended, so a model has reason to go on for ``max_tokens``.
PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. "
    "Describe the sea, the weather and every room of the lighthouse."
)
DEFAULT_LEVELS = (1, 2, 4, 8)
DEFAULT_MAX_TOKENS = 128
#: Errors kept per level (the count is always complete).
MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class BenchConfig:
    levels: Sequence[int] = DEFAULT_LEVELS
    #: Requests per level; None = twice the concurrency, at least 4.
    requests: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    prompt: str = PROMPT
    #: One short request before the first level (loads the model, opens the connection).
    warmup: bool = True

    def requests_for(self, concurrency: int) -> int:
        return self.requests if self.requests is not None else max(4, 2 * concurrency)


@dataclass(frozen=True)
class RequestResult:
    ok: bool
    tokens: int = 0
    #: Seconds from sending to the first content token (None: none arrived).
    ttft_s: float | None = None
    #: Seconds from sending to the end of the stream.
    total_s: float = 0.0
    #: ``usage`` (the server's count) or ``events`` (streamed content events).
    counted: str = "events"
    error: str | None = None

    @property
    def decode_tok_s(self) -> float | None:
        if self.ttft_s is None or self.tokens < 2:
            return None
        span = self.total_s - self.ttft_s
        # the first token ends the TTFT; the rate is over the tokens after it
        return (self.tokens - 1) / span if span > 0 else None


@dataclass(frozen=True)
class LevelResult:
    concurrency: int
    requests: int
    ok: int
    errors: int
    tokens: int
    wall_s: float
    total_tok_s: float
    per_request_tok_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    #: How the tokens were counted: ``usage``, ``events`` or ``mixed``.
    counted: str
    error_samples: list[str] = field(default_factory=list)


@dataclass
class BenchReport:
    backend: str
    kind: str
    model: str | None
    url: str
    max_tokens: int
    prompt: str
    #: What fixes the output length on this server (the request fields sent), and whether it is exact.
    length_fields: dict[str, Any]
    length_exact: bool
    started_at: str
    levels: list[LevelResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fixed_length_options(kind: str, max_tokens: int) -> tuple[dict[str, Any], bool]:
    """The request fields that make a reply exactly ``max_tokens`` long on a backend ``kind``,
    and whether the server honours an exact length (False: ``max_tokens`` is only a ceiling)."""
    if kind == "vllm":
        return {"max_tokens": max_tokens, "min_tokens": max_tokens, "ignore_eos": True}, True
    if kind == "local":  # llama-cpp-python's server: min_tokens holds back the end-of-sequence token
        return {"max_tokens": max_tokens, "min_tokens": max_tokens}, True
    if kind == "ollama":
        return {"num_predict": max_tokens}, False
    return {"max_tokens": max_tokens}, False


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def one_request(client: LLMClient, messages: list[Message], options: dict[str, Any]) -> RequestResult:
    """One streamed chat, timed; never raises for what the server does."""
    t0 = time.perf_counter()
    ttft: float | None = None
    events = 0
    reported: int | None = None
    try:
        async for chunk in client.stream_chat(messages, None, temperature=0.0, options=options):
            if chunk.message.content:
                if ttft is None:
                    ttft = time.perf_counter() - t0
                events += chunk.pieces
            if chunk.done:
                reported = chunk.eval_count
    except A2IAError as exc:
        return RequestResult(
            ok=False, tokens=events, ttft_s=ttft, total_s=time.perf_counter() - t0, error=_one_line(str(exc))
        )
    total = time.perf_counter() - t0
    if reported is not None:
        return RequestResult(ok=True, tokens=reported, ttft_s=ttft, total_s=total, counted="usage")
    return RequestResult(ok=True, tokens=events, ttft_s=ttft, total_s=total, counted="events")


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def summarize(concurrency: int, results: Sequence[RequestResult], wall_s: float) -> LevelResult:
    good = [r for r in results if r.ok]
    tokens = sum(r.tokens for r in good)
    rates = [rate for r in good if (rate := r.decode_tok_s) is not None]
    ttfts = [r.ttft_s for r in good if r.ttft_s is not None]
    kinds = {r.counted for r in good}
    errors = [r.error or "error" for r in results if not r.ok]
    return LevelResult(
        concurrency=concurrency,
        requests=len(results),
        ok=len(good),
        errors=len(errors),
        tokens=tokens,
        wall_s=wall_s,
        total_tok_s=tokens / wall_s if wall_s > 0 else 0.0,
        per_request_tok_s=sum(rates) / len(rates) if rates else None,
        ttft_p50_s=percentile(ttfts, 50),
        ttft_p95_s=percentile(ttfts, 95),
        counted=kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "none"),
        error_samples=list(dict.fromkeys(errors))[:MAX_ERROR_SAMPLES],
    )


async def run_level(
    client: LLMClient,
    concurrency: int,
    requests: int,
    options: dict[str, Any],
    prompt: str = PROMPT,
    on_request: Callable[[RequestResult], None] | None = None,
) -> LevelResult:
    """``requests`` streamed chats, ``concurrency`` in flight at once (a new one starts as soon as
    one ends, so the server sees a steady load)."""
    messages = [Message(role="user", content=prompt)]
    results: list[RequestResult] = []
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            r = await one_request(client, messages, options)
            results.append(r)
            if on_request is not None:
                on_request(r)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, requests))))
    return summarize(concurrency, results, time.perf_counter() - t0)


async def run_bench(
    client: LLMClient,
    config: BenchConfig,
    *,
    on_level_start: Callable[[int, int], None] | None = None,
    on_request: Callable[[RequestResult], None] | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
) -> BenchReport:
    """Every level of ``config`` against ``client``, in order. Callbacks report progress:
    ``on_level_start(concurrency, requests)``, ``on_request(result)``, ``on_level(result)``."""
    options, exact = fixed_length_options(client.kind, config.max_tokens)
    report = BenchReport(
        backend=client.name,
        kind=client.kind,
        model=client.model,
        url=mask_url(client.base_url),
        max_tokens=config.max_tokens,
        prompt=config.prompt,
        length_fields=options,
        length_exact=exact,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    if config.warmup:
        short, _ = fixed_length_options(client.kind, min(8, config.max_tokens))
        await one_request(client, [Message(role="user", content=config.prompt)], short)
    for c in config.levels:
        n = config.requests_for(c)
        if on_level_start is not None:
            on_level_start(c, n)
        level = await run_level(client, c, n, options, config.prompt, on_request)
        report.levels.append(level)
        if on_level is not None:
            on_level(level)
    return report


def parse_levels(text: str) -> tuple[int, ...]:
    """``"1,2,4,8"`` → ``(1, 2, 4, 8)``; ValueError with a one-line reason otherwise."""
    levels: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"concurrency levels are whole numbers from 1 up, separated by commas: {text!r}")
        levels.append(int(part))
    if not levels:
        raise ValueError("no concurrency level given")
    if max(levels) > 256:
        raise ValueError("at most 256 requests at once")
    return tuple(levels)


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


TABLE_HEADER = ("conc", "reqs", "total tok/s", "per-req tok/s", "TTFT p50", "TTFT p95", "errors")


def table_rows(report: BenchReport) -> list[tuple[str, ...]]:
    """One row of text cells per level (the CLI's table and the app's screen show the same)."""
    rows: list[tuple[str, ...]] = []
    for lv in report.levels:
        rows.append(
            (
                str(lv.concurrency),
                str(lv.requests),
                f"{lv.total_tok_s:.1f}",
                _fmt(lv.per_request_tok_s, ".1f"),
                _fmt(None if lv.ttft_p50_s is None else lv.ttft_p50_s * 1000, ".0f", " ms"),
                _fmt(None if lv.ttft_p95_s is None else lv.ttft_p95_s * 1000, ".0f", " ms"),
                str(lv.errors),
            )
        )
    return rows


def describe(report: BenchReport) -> str:
    """The line above the table: what was measured, and how far the figures compare."""
    fields = ", ".join(f"{k}={v}" for k, v in report.length_fields.items())
    length = "fixed" if report.length_exact else "at most (this server cannot be told to ignore end-of-sequence)"
    return (
        f"{report.backend} ({report.kind}) {report.url} model {report.model or '?'}: "
        f"{report.max_tokens} tokens per reply, {length}; sent {fields}"
    )


def save_report(report: BenchReport, data_dir: Path) -> Path:
    """Write ``report`` as JSON under ``<data_dir>/bench/`` (private, like the rest of the user's
    data); returns the file's path. Raises OSError when it cannot be written."""
    from .paths import private_dir

    folder = private_dir(data_dir / "bench")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in report.backend)[:40] or "backend"
    path = folder / f"{stamp}-{safe}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{safe}-{n}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(report.to_dict(), fh, indent=2)
        fh.write("\n")
    return path
