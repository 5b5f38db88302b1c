"""OpenAI/vLLM client against a real loopback server speaking SSE."""

from __future__ import annotations

import asyncio

import pytest

from a2ia_tui.core.errors import (
    BackendHTTPError,
    BackendUnreachable,
    StreamInterrupted,
    ToolsUnsupported,
)
from a2ia_tui.core.llm.base import gather_stream
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message, ToolSpec
from a2ia_tui.core.llm.vllm import VLLMClient
from tests.fakes.llm_server import FakeLLMServer, Reply

USER = [Message(role="user", content="hi")]
TOOLS = [
    ToolSpec(
        "get_weather",
        "weather",
        {"type": "object", "properties": {"city": {"type": "string"}}},
    )
]


async def collect(client, messages=USER, tools=None):
    return [c async for c in client.stream_chat(messages, tools)]


@pytest.mark.parametrize("flavor", ["openai", "vllm"])
async def test_text_thinking_usage_and_one_done_chunk(flavor):
    text = "Bonjour — ça va? 你好 🌍 fine"
    async with FakeLLMServer(flavor, [Reply(text=text, thinking="let me think")]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            chunks = await collect(client)
    assert "".join(c.message.content for c in chunks) == text
    assert "".join(c.message.thinking or "" for c in chunks) == "let me think"
    done = [c for c in chunks if c.done]
    assert len(done) == 1 and chunks[-1].done
    assert done[0].done_reason == "stop"
    assert done[0].prompt_eval_count == 12 and done[0].eval_count is not None


async def test_two_parallel_tool_calls_split_across_chunks_arrive_once_each():
    calls = [
        (
            "get_weather",
            {"city": "Zürich", "units": {"deg": "C", "nested": [1, 2, {"k": "v"}]}},
        ),
        ("get_time", {"tz": "Europe/Paris"}),
    ]
    async with FakeLLMServer("vllm", [Reply(text="", tool_calls=calls, arg_fragment=3)]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            chunks = await collect(client, tools=TOOLS)
    got = [tc for c in chunks for tc in c.message.tool_calls]
    assert [tc.function.name for tc in got] == ["get_weather", "get_time"]
    assert got[0].function.arguments == calls[0][1]
    assert got[1].function.arguments == calls[1][1]
    assert all(tc.valid for tc in got)
    assert got[0].id != got[1].id
    assert chunks[-1].done and chunks[-1].done_reason == "tool_calls"
    # the request asked for usage and tools the way vLLM wants
    body = srv.requests[-1].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["tool_choice"] == "auto" and body["tools"][0]["function"]["name"] == "get_weather"


async def test_invalid_json_arguments_are_delivered_marked_invalid():
    async with FakeLLMServer("openai", [Reply(tool_calls=[("write_file", '{"path": "a.txt", "content": ')])]) as srv:
        async with OpenAIClient(srv.url, model="fake-model") as client:
            chunks = await collect(client)
    (call,) = [tc for c in chunks for tc in c.message.tool_calls]
    assert call.function.name == "write_file" and not call.valid
    assert call.function.raw_arguments == '{"path": "a.txt", "content": '
    assert "invalid JSON" in call.function.error


async def test_vllm_without_auto_tool_choice_raises_tools_unsupported_with_hint():
    async with FakeLLMServer("vllm", auto_tool_choice=False) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            with pytest.raises(ToolsUnsupported) as info:
                await collect(client, tools=TOOLS)
    assert info.value.status == 400
    assert "--enable-auto-tool-choice" in str(info.value) and "hint" in str(info.value)


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            {
                "error": {
                    "message": "model x does not exist",
                    "type": "NotFoundError",
                    "code": 404,
                }
            },
            "model x does not exist",
        ),
        ({"object": "error", "message": "old style failure"}, "old style failure"),
        ({"error": "Unauthorized"}, "Unauthorized"),
    ],
)
async def test_http_errors_carry_the_servers_message(body, expected):
    async with FakeLLMServer(
        "vllm",
        [
            Reply(
                status=401 if body.get("error") == "Unauthorized" else 404,
                error_body=body,
            )
        ],
    ) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            with pytest.raises(BackendHTTPError) as info:
                await collect(client)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


async def test_connection_dropped_mid_stream_keeps_partial_text():
    async with FakeLLMServer("vllm", [Reply(text="one two three four five six", drop_after=4)]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            with pytest.raises(StreamInterrupted) as info:
                await collect(client)
    assert info.value.partial_text.startswith("one")
    assert "closed the connection" in str(info.value)


async def test_stalled_server_hits_the_read_timeout():
    async with FakeLLMServer("openai", [Reply(text="a b c d e f", stall_after=3)]) as srv:
        async with OpenAIClient(srv.url, model="fake-model", read_timeout_s=0.5) as client:
            with pytest.raises(StreamInterrupted) as info:
                await collect(client)
    assert "no data for 0.5 s (read timeout" in str(info.value)
    assert info.value.partial_text == "a b"  # role chunk + 2 words sent before the stall


async def test_a_server_that_never_answers_is_unreachable_after_the_read_timeout():
    import socket

    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        async with OpenAIClient(url, model="m", read_timeout_s=0.3) as client:
            with pytest.raises(BackendUnreachable) as info:
                await collect(client)
    assert url in str(info.value) and "read timeout" in str(info.value)


async def test_unreachable_names_the_url():
    async with FakeLLMServer("openai") as srv:
        url = srv.url
    async with OpenAIClient(url, model="m") as client:
        with pytest.raises(BackendUnreachable) as info:
            await collect(client)
        health = await client.health()
    assert url in str(info.value) and "refused" in str(info.value)
    assert not health.ok and "refused" in health.detail


async def test_slow_chunks_stream_and_cancelling_closes_the_response():
    async with FakeLLMServer("vllm", [Reply(text=" ".join(["w"] * 200), tokens_per_s=50)]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            got: list[str] = []

            async def consume():
                async for c in client.stream_chat(USER):
                    got.append(c.message.content)

            task = asyncio.create_task(consume())
            while len(got) < 3:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # the pool has no connection left checked out
            pool = client._backend.http._transport._pool
            assert all(not c.is_available() or c.is_idle() for c in pool.connections) or not pool.connections
            # and the client still works for the next request
            srv.add(Reply(text="again"))
            chunks = await collect(client)
            assert "".join(c.message.content for c in chunks) == "again"


async def test_models_context_length_and_health():
    async with FakeLLMServer("vllm", models=["a", "b"], max_model_len=32768) as srv:
        async with VLLMClient(srv.url, model="b") as client:
            models = await client.list_models()
            assert [m.name for m in models] == ["a", "b"]
            assert await client.context_length() == 32768
            health = await client.health()
            assert health.ok and "a" in health.detail


async def test_non_streamed_chat_gathers_the_stream():
    async with FakeLLMServer("vllm", [Reply(text="all at once", tool_calls=[("f", {"x": 1})])]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            resp = await client.chat(USER)
    assert resp.message.content == "all at once"
    assert resp.message.tool_calls[0].function.arguments == {"x": 1}
    assert resp.done_reason == "tool_calls"


async def test_gather_stream_on_tool_conversation_round_trip():
    # A whole tool round-trip: the second request carries the assistant call and the tool result.
    async with FakeLLMServer("vllm", [Reply(tool_calls=[("f", {"q": "é"})]), Reply(text="done")]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            first = await gather_stream(client.stream_chat(USER))
            call = first.message.tool_calls[0]
            history = [
                *USER,
                first.message,
                Message(role="tool", content="résultat", tool_call_id=call.id, tool_name="f"),
            ]
            await gather_stream(client.stream_chat(history))
    sent = srv.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"q": "é"}'
    assert sent[2] == {"role": "tool", "content": "résultat", "tool_call_id": call.id}
