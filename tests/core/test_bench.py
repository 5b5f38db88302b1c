"""``a2ia-tui bench``: the core against the loopback fakes (vLLM, llama-cpp-python-like OpenAI,
Ollama), and the subcommand end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from a2ia_tui.core.bench import (
    BenchConfig,
    fixed_length_options,
    parse_levels,
    percentile,
    run_bench,
    save_report,
    table_rows,
)
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.vllm import VLLMClient
from tests.fakes.llm_server import FakeLLMServer, Reply

SHORT = Reply(text="one two three four five")  # 5 words: ends long before max_tokens


def _chat_bodies(srv: FakeLLMServer) -> list[dict]:
    return [r.body for r in srv.requests if r.path in ("/v1/chat/completions", "/api/chat")]


async def test_vllm_levels_fixed_length_and_usage_counts():
    async with FakeLLMServer("vllm", [SHORT]) as srv:
        client = VLLMClient(srv.url, model="fake-model")
        report = await run_bench(client, BenchConfig(levels=(1, 3), requests=6, max_tokens=20))
        await client.aclose()
        bodies = _chat_bodies(srv)
    # warm-up + 6 per level; every measured request asked vLLM for exactly 20 tokens
    assert len(bodies) == 13
    measured = bodies[1:]
    assert all(b["ignore_eos"] is True and b["min_tokens"] == 20 and b["max_tokens"] == 20 for b in measured)
    assert all(b["stream"] is True and b["temperature"] == 0.0 for b in measured)
    assert [lv.concurrency for lv in report.levels] == [1, 3]
    for lv in report.levels:
        assert (lv.requests, lv.ok, lv.errors) == (6, 6, 0)
        # the fake honours ignore_eos: 20 tokens each, counted from vLLM's usage chunk
        assert lv.tokens == 120 and lv.counted == "usage"
        assert lv.total_tok_s > 0 and lv.per_request_tok_s and lv.per_request_tok_s > 0
        assert lv.ttft_p50_s is not None and lv.ttft_p95_s is not None and lv.ttft_p50_s <= lv.ttft_p95_s
    assert report.length_exact and report.kind == "vllm"


async def test_concurrency_is_really_concurrent():
    """At level 4 the server has 4 streams open at once (paced replies overlap)."""
    peak = 0
    async with FakeLLMServer("vllm", [Reply(text="a b c d e f g h", tokens_per_s=40)]) as srv:
        client = VLLMClient(srv.url, model="fake-model")

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, srv.running)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        report = await run_bench(client, BenchConfig(levels=(4,), requests=8, max_tokens=8, warmup=False))
        watcher.cancel()
        await client.aclose()
    assert report.levels[0].ok == 8
    assert peak == 4


async def test_llamacpp_like_server_counts_events_and_gets_min_tokens():
    # usage=False: like llama-cpp-python, which ignores stream_options.include_usage
    async with FakeLLMServer("openai", [Reply(text=SHORT.text, usage=False)]) as srv:
        client = OpenAIClient(srv.url, model="fake-model")
        client.kind = "local"  # what the registry makes for the bundled engine
        report = await run_bench(client, BenchConfig(levels=(2,), requests=4, max_tokens=12, warmup=False))
        await client.aclose()
        bodies = _chat_bodies(srv)
    assert all(b["min_tokens"] == 12 and b["max_tokens"] == 12 and "ignore_eos" not in b for b in bodies)
    lv = report.levels[0]
    # llama-cpp-python sends no usage chunk: tokens are the streamed events
    assert lv.counted == "events" and lv.tokens == 48


async def test_ollama_gets_num_predict_and_the_report_says_the_length_is_a_ceiling():
    async with FakeLLMServer("ollama", [SHORT]) as srv:
        client = OllamaClient(srv.url, model="fake-model")
        report = await run_bench(client, BenchConfig(levels=(1,), requests=2, max_tokens=3, warmup=False))
        await client.aclose()
        bodies = _chat_bodies(srv)
    assert all(b["options"]["num_predict"] == 3 for b in bodies)
    assert not report.length_exact
    assert report.levels[0].tokens == 6 and report.levels[0].counted == "usage"


async def test_errors_are_counted_with_their_reason_and_the_level_goes_on():
    failing = Reply(status=500)
    async with FakeLLMServer("vllm", [failing, SHORT]) as srv:
        client = VLLMClient(srv.url, model="fake-model")
        report = await run_bench(client, BenchConfig(levels=(1,), requests=3, max_tokens=5, warmup=False))
        await client.aclose()
    lv = report.levels[0]
    assert (lv.ok, lv.errors) == (2, 1)
    assert lv.error_samples and "fake failure" in lv.error_samples[0]
    assert table_rows(report)[0][-1] == "1"


async def test_a_cut_stream_is_an_error_not_a_short_success():
    async with FakeLLMServer("vllm", [Reply(text="a b c d e f", drop_after=3)]) as srv:
        client = VLLMClient(srv.url, model="fake-model")
        report = await run_bench(client, BenchConfig(levels=(2,), requests=2, max_tokens=6, warmup=False))
        await client.aclose()
    assert report.levels[0].errors == 2 and report.levels[0].ok == 0


def test_fixed_length_options_per_kind():
    assert fixed_length_options("vllm", 64) == ({"max_tokens": 64, "min_tokens": 64, "ignore_eos": True}, True)
    assert fixed_length_options("local", 64) == ({"max_tokens": 64, "min_tokens": 64}, True)
    assert fixed_length_options("ollama", 64) == ({"num_predict": 64}, False)
    assert fixed_length_options("openai", 64) == ({"max_tokens": 64}, False)


def test_parse_levels_and_percentile():
    assert parse_levels("1, 2,4,8") == (1, 2, 4, 8)
    for bad in ("", "0", "1,x", "-1", "1000"):
        with pytest.raises(ValueError):
            parse_levels(bad)
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


async def test_report_saved_as_private_json(tmp_path):
    async with FakeLLMServer("vllm", [SHORT]) as srv:
        client = VLLMClient(srv.url, model="fake-model", name="my/../backend")
        report = await run_bench(client, BenchConfig(levels=(1,), requests=1, max_tokens=4, warmup=False))
        await client.aclose()
    path = save_report(report, tmp_path)
    assert path.parent == tmp_path / "bench" and "/" not in path.name[:-5].replace("..", "")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    data = json.loads(path.read_text())
    assert data["levels"][0]["tokens"] == 4 and data["length_fields"]["ignore_eos"] is True


# -- the subcommand ------------------------------------------------------------------------------


def _bench(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "bench", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "A2IA_HOME": str(home)},
        timeout=120,
    )


def test_cli_table_json_and_saved_report(tmp_path):
    with FakeLLMServer("vllm", [SHORT]).threaded() as srv:
        table = _bench(
            "--backend", "vllm", "--vllm-url", srv.url, "-c", "1,2", "-n", "2", "--max-tokens", "7", home=tmp_path
        )
        as_json = _bench(
            "--backend",
            "vllm",
            "--vllm-url",
            srv.url,
            "-c",
            "2",
            "--max-tokens",
            "5",
            "--json",
            "--no-save",
            home=tmp_path,
        )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "7 tokens per reply, fixed" in lines[0] and "ignore_eos=True" in lines[0]
    assert lines[1].split()[:3] == ["conc", "reqs", "total"]
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    assert "saved " in table.stderr
    saved = list((tmp_path).rglob("bench/*.json"))
    assert len(saved) == 1  # --no-save saved nothing
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["levels"][0]["concurrency"] == 2 and report["levels"][0]["requests"] == 4
    assert report["levels"][0]["tokens"] == 20


def test_cli_unreachable_backend_is_one_line_and_exit_1(tmp_path):
    proc = _bench("--backend", "vllm", "--vllm-url", "http://127.0.0.1:9/v1", "-c", "1", home=tmp_path)
    assert proc.returncode == 1
    assert "not reachable" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_every_request_failing_is_exit_1(tmp_path):
    with FakeLLMServer("vllm", [Reply(status=500)]).threaded() as srv:
        proc = _bench("--backend", "vllm", "--vllm-url", srv.url, "-c", "1", "-n", "2", "--no-warmup", home=tmp_path)
    assert proc.returncode == 1
    assert "every request failed" in proc.stderr and "fake failure" in proc.stderr


def test_cli_bad_levels_exit_2(tmp_path):
    proc = _bench("-c", "1,zero", home=tmp_path)
    assert proc.returncode == 2 and "whole numbers" in proc.stderr
