"""Non-streamed ``chat()`` (``stream: false``) against the loopback server, both wire formats."""

from __future__ import annotations

import pytest

from a2ia_tui.core.errors import BackendHTTPError
from a2ia_tui.core.llm import OllamaClient, OpenAIClient, VLLMClient
from a2ia_tui.core.llm.types import Message, ToolSpec
from tests.fakes.llm_server import FakeLLMServer, Reply

USER = [Message(role="user", content="hi")]


async def test_openai_chat_is_one_request_with_reasoning_calls_and_usage():
    reply = Reply(
        text="Voilà",
        thinking="pensons",
        tool_calls=[("f", {"k": "ñ"}), ("g", "{broken")],
    )
    async with FakeLLMServer("vllm", [reply]) as srv:
        async with VLLMClient(srv.url, model="fake-model") as client:
            resp = await client.chat(USER, [ToolSpec("f"), ToolSpec("g")], temperature=0)
    body = srv.requests[-1].body
    assert body["stream"] is False and "stream_options" not in body and body["temperature"] == 0
    assert resp.message.content == "Voilà" and resp.message.thinking == "pensons"
    f, g = resp.message.tool_calls
    assert (f.function.name, f.function.arguments, f.valid) == ("f", {"k": "ñ"}, True)
    assert g.function.name == "g" and not g.valid and g.function.raw_arguments == "{broken"
    assert resp.done_reason == "tool_calls" and (
        resp.prompt_eval_count,
        resp.eval_count,
    ) == (12, 5)


async def test_ollama_chat_is_one_object_with_statistics():
    reply = Reply(text="Hallo Welt", thinking="hm", tool_calls=[("read_file", {"path": "ä.txt"})])
    async with FakeLLMServer("ollama", [reply], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            resp = await client.chat(USER, options={"think": True})
    body = srv.requests[-1].body
    assert body["stream"] is False and body["think"] is True
    assert resp.message.content == "Hallo Welt" and resp.message.thinking == "hm"
    (call,) = resp.message.tool_calls
    assert call.function.arguments == {"path": "ä.txt"} and call.id
    assert resp.done_reason == "stop" and resp.prompt_eval_count == 12 and resp.eval_duration > 0


@pytest.mark.parametrize("flavor, cls", [("openai", OpenAIClient), ("ollama", OllamaClient)])
async def test_chat_http_error_carries_the_message(flavor, cls):
    body = {"error": "rate limited"} if flavor == "ollama" else {"error": {"message": "rate limited", "code": 429}}
    async with FakeLLMServer(flavor, [Reply(status=429, error_body=body)], models=["m"]) as srv:
        async with cls(srv.url, model="m") as client:
            with pytest.raises(BackendHTTPError) as info:
                await client.chat(USER)
    assert info.value.status == 429 and "rate limited" in str(info.value)
