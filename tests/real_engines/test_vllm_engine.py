"""The real vLLM (CPU build) through a2ia's engine manager: one engine shared by the tests of
this module, in order: the start-up phases, a streamed answer with the server's usage, the
``/metrics`` figures, the thinking-switch probe (``/tokenize``), a stopped answer aborted on the server, then a killed engine core noticed,
stop leaving no process, and a second start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import pytest_asyncio

from a2ia_tui.core.config import LoadedSettings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.llm.registry import make_client
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.monitor.metrics import MetricsPoller, VLLMMetrics
from a2ia_tui.core.monitor.tokens import TokenMeter
from tests.helpers.processes import alive, process_tree
from tests.helpers.real_vllm import SERVED, START_TIMEOUT_S, engine_core, manager_for, phase_log, vllm_settings

pytestmark = [
    pytest.mark.real_vllm,
    pytest.mark.timeout(int(START_TIMEOUT_S) + 300),
    pytest.mark.asyncio(loop_scope="module"),
]

#: vLLM's start-up phases as a2ia names them, in the order they must arrive (some may be skipped:
#: the log is read in chunks, and a CPU build captures no CUDA graphs).
PHASE_ORDER = [
    "launching",
    "loading weights",
    "weights loaded",
    "memory profiling",
    "KV cache allocated",
    "CUDA graph capture",
    "CUDA graphs captured",
    "API server starting",
    "API server up",
    "ready",
]


class Shared:
    loaded: LoadedSettings
    manager: EngineManager
    phases: list[tuple[str, str, float]]
    tree: list[psutil.Process]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(real_vllm: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    python, model = real_vllm
    s = Shared()
    # --trust-request-chat-template: lets the probe test render a template that has the switch
    # (SmolLM2's has none); it changes nothing for requests that bring no template.
    extra = {"A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(["--trust-request-chat-template"])}
    s.loaded = vllm_settings(tmp_path_factory.mktemp("vllm-home"), python, model, **extra)
    s.manager = manager_for(s.loaded)
    s.phases = phase_log(s.manager)
    try:
        state = await s.manager.start("vllm")
        assert state.status == "ready", state
        s.tree = process_tree(state.pid or 0)
        yield s
    finally:
        await s.manager.stop("vllm")


async def answer(loaded: LoadedSettings, prompt: str, max_tokens: int, **options: Any) -> tuple[str, TokenMeter]:
    client = make_client(loaded.settings, "vllm", model=SERVED)
    meter = TokenMeter()
    meter.start()
    text = []
    try:
        async for chunk in client.stream_chat(
            [Message(role="user", content=prompt)], temperature=0.0, options={"max_tokens": max_tokens, **options}
        ):
            meter.observe(chunk)
            text.append(chunk.message.content or "")
    finally:
        await client.aclose()
    return "".join(text), meter


async def scrape(url: str) -> VLLMMetrics:
    poller = MetricsPoller("vllm", url)
    try:
        metrics, _rates, _ = await poller.poll()
    finally:
        await poller.aclose()
    assert metrics is not None, "no /metrics"
    return metrics


async def until(cond: Any, timeout: float, what: str) -> None:
    """Poll ``cond()`` (sync or async) until true; a generous bound, never a timing assertion."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return
        if loop.time() > end:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.5)


async def test_phases_arrive_in_order(shared: Shared) -> None:
    names = [phase for status, phase, _ in shared.phases if status in ("starting", "ready")]
    assert names[0] == "launching" and names[-1] == "ready", shared.phases
    # every phase is a known one, each after the one before it, and progress never goes back
    positions = [PHASE_ORDER.index(n) for n in names]
    assert positions == sorted(positions), shared.phases
    progress = [p for _, _, p in shared.phases]
    assert progress == sorted(progress), shared.phases
    # the real log of this vLLM version is read: the weights, the KV cache and the API server are seen
    for needed in ("loading weights", "KV cache allocated", "API server starting"):
        assert needed in names, f"{needed!r} never seen: {shared.phases}"
    state = shared.manager.states()["vllm"]
    assert (
        state.status == "ready"
        and state.model == SERVED
        and state.url == shared.loaded.settings.backends["vllm"].base_url
    )


async def test_a_streamed_answer_carries_the_servers_usage(shared: Shared) -> None:
    text, meter = await answer(shared.loaded, "Name three colours.", 24)
    assert text.strip(), "the model produced no text"
    stats = meter.finish()
    # vLLM sends usage (include_usage): the token counts are the server's, not estimates
    assert meter.exact and 1 <= stats.completion_tokens <= 24, stats
    assert stats.prompt_tokens and stats.prompt_tokens > 5, stats


async def test_metrics_of_this_version_are_read(shared: Shared) -> None:
    url = shared.loaded.settings.backends["vllm"].base_url or ""
    before = await scrape(url)
    await answer(shared.loaded, "Count from one to ten.", 16)
    after = await scrape(url)
    assert after.model_name == SERVED
    assert after.running == 0 and after.waiting == 0
    # KV usage is a 0-1 fraction under either name (vllm:kv_cache_usage_perc, earlier gpu_cache_…)
    assert after.kv_cache_usage is not None and 0.0 <= after.kv_cache_usage <= 1.0
    assert before.generation_tokens is not None and after.generation_tokens is not None
    assert after.generation_tokens - before.generation_tokens >= 1
    assert after.prompt_tokens is not None and before.prompt_tokens is not None
    assert after.prompt_tokens > before.prompt_tokens
    assert after.ttft_count and after.itl_count is not None  # histograms read (sum/count)


#: A template that reads enable_thinking as Qwen3's does: an empty think block when it is false.
SWITCH_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


async def test_the_thinking_switch_probe_reads_this_versions_tokenize(shared: Shared) -> None:
    client = make_client(shared.loaded.settings, "vllm", model=SERVED)
    try:
        # SmolLM2's template has no switch: a definite "no" (None would mean /tokenize failed)
        assert await client.thinking_switch() is False
    finally:
        await client.aclose()
    # the probe's premise on this version: /tokenize renders chat_template_kwargs into the prompt
    root = (shared.loaded.settings.backends["vllm"].base_url or "").removesuffix("/v1")
    tokens = []
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for thinking in (True, False):
            body = {
                "model": SERVED,
                "messages": [{"role": "user", "content": "Hi"}],
                "add_generation_prompt": True,
                "chat_template": SWITCH_TEMPLATE,
                "chat_template_kwargs": {"enable_thinking": thinking},
            }
            r = await http.post(root + "/tokenize", json=body)
            assert r.status_code == 200, r.text
            tokens.append(r.json()["tokens"])
    assert tokens[0] != tokens[1] and tokens[1][: len(tokens[0])] == tokens[0], tokens


async def test_a_stopped_answer_is_aborted_on_the_server(shared: Shared) -> None:
    url = shared.loaded.settings.backends["vllm"].base_url or ""
    before = await scrape(url)
    client = make_client(shared.loaded.settings, "vllm", model=SERVED)
    stream = client.stream_chat(
        [Message(role="user", content="Write a very long story about the sea.")],
        temperature=0.0,
        options={"max_tokens": 1500, "ignore_eos": True},
    )
    pieces = 0
    running_seen = False
    try:
        async for chunk in stream:
            pieces += chunk.pieces
            if pieces == 3:
                running_seen = (await scrape(url)).running == 1
            if pieces >= 8:
                break  # what the app's Stop does: the turn's task stops consuming and closes the stream
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await client.aclose()
    assert running_seen, "the request was not running on the server"

    async def back_to_zero() -> bool:
        return (await scrape(url)).running == 0

    await until(back_to_zero, 120, "running requests back to 0 after the stop")
    settled = await scrape(url)
    await asyncio.sleep(2)
    later = await scrape(url)
    assert later.generation_tokens == settled.generation_tokens, "tokens still being generated"
    generated = (later.generation_tokens or 0) - (before.generation_tokens or 0)
    assert generated < 1500, f"the whole answer was generated ({generated} tokens): not aborted"


async def test_stop_leaves_no_process_then_a_second_start_works(shared: Shared) -> None:
    manager = shared.manager
    first = manager.states()["vllm"]
    assert first.status == "ready" and first.pid
    assert len(shared.tree) >= 2, f"no child processes below the API server: {alive(shared.tree)}"
    await manager.stop("vllm")
    assert manager.states()["vllm"].status == "stopped"
    # the API server and its children (engine core, workers) are all gone, and the pid file too
    await until(lambda: not alive(shared.tree), 60, "every process of the first start gone")
    assert not manager.engines()["vllm"].pidfile.exists()
    await assert_port_closed(shared.loaded)

    again = await manager.start("vllm")
    assert again.status == "ready" and again.pid != first.pid
    shared.tree = process_tree(again.pid or 0)
    text, _ = await answer(shared.loaded, "Say hi.", 8)
    assert text.strip()


async def test_a_killed_engine_core_is_noticed_with_the_last_lines_of_its_log(shared: Shared) -> None:
    from a2ia_tui.tui.widgets.engine_row import _view

    manager = shared.manager
    state = manager.states()["vllm"]
    assert state.status == "ready" and state.pid
    core = engine_core(state.pid)
    os.kill(core.pid, signal.SIGKILL)
    await until(lambda: manager.states()["vllm"].status == "failed", 180, "the engine noticed as failed")
    failed = manager.states()["vllm"]
    seen = f"cause: {failed.cause!r}; last lines:\n" + "\n".join(failed.last_lines)
    assert "after it was ready" in failed.cause, seen
    assert failed.last_lines, seen
    assert failed.cause == "vLLM's engine core died (after it was ready)", seen
    # the last lines shown are the log's last error lines (not the noise printed after them at exit)
    assert "EngineDeadError" in failed.last_lines[-1] or "died" in failed.last_lines[-1], seen
    row = _view("vllm", failed)
    assert str(row.title).endswith("failed") and row.cause.startswith("cause: "), row
    await manager.stop("vllm")
    await until(lambda: not alive(shared.tree), 60, "every process of the crashed engine gone")
    assert not manager.engines()["vllm"].pidfile.exists()
    await assert_port_closed(shared.loaded)


async def assert_port_closed(loaded: LoadedSettings) -> None:
    url = (loaded.settings.backends["vllm"].base_url or "") + "/models"
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(trust_env=False, timeout=2) as http:
            r = await http.get(url)
            raise AssertionError(f"something still answers on the engine's port: {r.status_code}")
