"""Ollama's model store against the loopback fake speaking Ollama's NDJSON pull, delete, show, ps."""

from __future__ import annotations

import pytest

from a2ia_tui.core.errors import ModelError
from a2ia_tui.core.models.ollama_store import OllamaModels
from tests.fakes.llm_server import FakeLLMServer, PullPlan


async def test_pull_streams_progress_then_the_model_is_listed():
    async with FakeLLMServer("ollama", models=["qwen2.5:7b"]) as srv:
        srv.catalog["smollm2:135m"] = PullPlan(layers=[8_000, 100])
        async with OllamaModels(srv.url) as om:
            seen = [s async for s in om.pull("smollm2:135m")]
            assert seen[0].status == "pulling manifest" and seen[-1].status == "success"
            layer = [s for s in seen if s.total == 8_000]
            assert layer and layer[-1].fraction == 1.0 and layer[0].digest.startswith("sha256:")
            assert "writing manifest" in [s.status for s in seen]
            assert "smollm2:135m" in [m.name for m in await om.list()]
        (req,) = [r for r in srv.requests if r.path == "/api/pull"]
        assert req.method == "POST" and req.body == {"model": "smollm2:135m", "stream": True}


@pytest.mark.parametrize("drop", [False, True])
async def test_a_pull_failing_half_way_says_why_and_registers_nothing(drop):
    async with FakeLLMServer("ollama", models=["qwen2.5:7b"]) as srv:
        srv.catalog["big:70b"] = PullPlan(layers=[10_000_000], fail_after=3, drop=drop)
        async with OllamaModels(srv.url) as om:
            seen = []
            with pytest.raises(ModelError) as info:
                async for s in om.pull("big:70b"):
                    seen.append(s)
            assert any(s.completed for s in seen)  # it failed half way, not at the start
            text = str(info.value)
            assert "big:70b" in text and "\n" not in text
            assert ("cut off" in text) if drop else ("unexpected EOF" in text)
            assert [m.name for m in await om.list()] == ["qwen2.5:7b"]


async def test_an_unknown_model_is_a_one_line_reason():
    async with FakeLLMServer("ollama") as srv, OllamaModels(srv.url) as om:
        with pytest.raises(ModelError, match="file does not exist") as info:
            async for _ in om.pull("nope:1b"):
                pass
        assert info.value.kind == "missing"


async def test_delete_and_details():
    async with FakeLLMServer("ollama", models=["qwen2.5:7b", "llama3.2:3b"], max_model_len=32768) as srv:
        srv.sizes["llama3.2:3b"] = 2_019_393_189
        srv.quantization["llama3.2:3b"] = "Q8_0"
        async with OllamaModels(srv.url) as om:
            d = await om.details("qwen2.5:7b")  # the fake's /api/ps has the first model loaded
            assert (d.parameter_size, d.quantization, d.context_length) == ("7.6B", "Q4_K_M", 32768)
            assert d.loaded and d.size_vram == 5_000_000_000 and d.loaded_size == 6_000_000_000
            assert "tools" in d.capabilities
            other = await om.details("llama3.2:3b")
            assert other.size == 2_019_393_189 and other.quantization == "Q8_0" and not other.loaded
            await om.delete("llama3.2:3b")
            assert [m.name for m in await om.list()] == ["qwen2.5:7b"]
            with pytest.raises(ModelError, match="not found") as info:
                await om.delete("llama3.2:3b")
            assert info.value.kind == "missing"
            with pytest.raises(ModelError, match="not found"):
                await om.details("llama3.2:3b")
        (req,) = [r for r in srv.requests if r.method == "DELETE" and r.path == "/api/delete"][:1]
        assert req.body == {"model": "llama3.2:3b"}


async def test_unreachable_server():
    async with OllamaModels("http://127.0.0.1:9") as om:
        with pytest.raises(ModelError, match="cannot reach Ollama") as info:
            await om.list()
        assert info.value.kind == "network"
        with pytest.raises(ModelError, match="cut off"):
            async for _ in om.pull("x"):
                pass
