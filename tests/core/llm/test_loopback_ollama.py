"""Ollama client against a real loopback server speaking NDJSON."""

from __future__ import annotations

import pytest

from a2ia_tui.core.errors import BackendHTTPError, StreamInterrupted
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.types import Message
from tests.fakes.llm_server import FakeLLMServer, Reply

USER = [Message(role="user", content="hi")]


async def collect(client, messages=USER, **kw):
    return [c async for c in client.stream_chat(messages, **kw)]


async def test_text_thinking_and_final_statistics():
    async with FakeLLMServer("ollama", [Reply(text="Grüße aus Köln ✓", thinking="hmm")], models=["a2ia-qwen"]) as srv:
        async with OllamaClient(srv.url, model="a2ia-qwen") as client:
            chunks = await collect(client, options={"think": True, "num_ctx": 4096}, temperature=0.2)
    assert "".join(c.message.content for c in chunks) == "Grüße aus Köln ✓"
    assert "".join(c.message.thinking or "" for c in chunks) == "hmm"
    last = chunks[-1]
    assert last.done and last.done_reason == "stop"
    assert last.eval_count == 5 and last.prompt_eval_count == 12 and last.eval_duration > 0
    body = srv.requests[-1].body
    assert body["think"] is True and body["options"] == {
        "num_ctx": 4096,
        "temperature": 0.2,
    }
    assert body["stream"] is True


async def test_tool_calls_arrive_whole_with_object_arguments_and_ids():
    calls = [("read_file", {"path": "naïve.txt"}), ("list_directory", {"path": "."})]
    async with FakeLLMServer("ollama", [Reply(tool_calls=calls)], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            chunks = await collect(client)
    got = [tc for c in chunks for tc in c.message.tool_calls]
    assert [(t.function.name, t.function.arguments) for t in got] == calls
    assert len({t.id for t in got}) == 2


async def test_error_line_mid_stream_is_an_error_not_text():
    async with FakeLLMServer("ollama", [Reply(text="partial answer here", error_line_after=2)], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            with pytest.raises(StreamInterrupted) as info:
                await collect(client)
    assert "unexpected EOF" in str(info.value)
    assert info.value.partial_text == "partial answer"


async def test_unknown_model_is_404_with_the_servers_message():
    async with FakeLLMServer("ollama", models=["m"]) as srv:
        async with OllamaClient(srv.url, model="nope") as client:
            with pytest.raises(BackendHTTPError) as info:
                await collect(client)
    assert info.value.status == 404 and "model 'nope' not found" in str(info.value)


async def test_dropped_connection():
    async with FakeLLMServer("ollama", [Reply(text="a b c d e f g", drop_after=3)], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            with pytest.raises(StreamInterrupted) as info:
                await collect(client)
    assert info.value.partial_text.startswith("a")


async def test_tags_ps_show_version_health():
    async with FakeLLMServer("ollama", models=["qwen:7b", "llama3"], max_model_len=32768) as srv:
        async with OllamaClient(srv.url, model="qwen:7b") as client:
            assert [m.name for m in await client.list_models()] == ["qwen:7b", "llama3"]
            assert await client.context_length() == 32768
            ps = await client.running_models()
            assert ps[0]["size_vram"] < ps[0]["size"]
            health = await client.health()
            assert health.ok and health.version == "0.33.0"


async def test_tool_result_goes_back_with_tool_name():
    async with FakeLLMServer("ollama", [Reply(text="ok")], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            from a2ia_tui.core.llm.scripted import make_call

            call = make_call("read_file", {"path": "x"})
            history = [
                *USER,
                Message(role="assistant", tool_calls=[call]),
                Message(
                    role="tool",
                    content="data",
                    tool_name="read_file",
                    tool_call_id=call.id,
                ),
            ]
            await collect(client, history)
    sent = srv.requests[-1].body["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "read_file", "arguments": {"path": "x"}}}]
    assert sent[2] == {"role": "tool", "content": "data", "tool_name": "read_file"}


async def test_stalled_stream_is_interrupted_with_the_partial_text():
    async with FakeLLMServer("ollama", [Reply(text="slow and then nothing", stall_after=2)], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m", read_timeout_s=0.4) as client:
            with pytest.raises(StreamInterrupted) as info:
                await collect(client)
    assert info.value.partial_text == "slow and" and "read timeout" in str(info.value)
