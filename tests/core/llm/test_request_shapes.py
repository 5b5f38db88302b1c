"""Request shapes (respx): headers, bodies, tools, stream_options."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.registry import make_client
from a2ia_tui.core.llm.types import Message, ToolSpec

SSE_OK = b'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


@respx.mock
async def test_openai_headers_bearer_and_extra_headers():
    route = respx.post("http://h:1/v1/chat/completions").mock(return_value=httpx.Response(200, content=SSE_OK))
    client = OpenAIClient("http://h:1/v1", model="m", api_key="sk-abc", headers={"X-Org": "lab"})
    tools = [ToolSpec("f", "does f", {"type": "object", "properties": {}})]
    _ = [
        c
        async for c in client.stream_chat(
            [Message(role="user", content="é")],
            tools,
            temperature=0.1,
            options={"max_tokens": 5},
        )
    ]
    req = route.calls.last.request
    assert req.headers["authorization"] == "Bearer sk-abc"
    assert req.headers["x-org"] == "lab"
    body = json.loads(req.content)
    assert body["messages"] == [{"role": "user", "content": "é"}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "does f",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert body["tool_choice"] == "auto" and body["temperature"] == 0.1 and body["max_tokens"] == 5
    assert "é".encode() in req.content  # UTF-8 on the wire, never \\u escapes
    await client.aclose()


@respx.mock
async def test_no_tools_means_no_tool_choice_and_no_auth_header():
    route = respx.post("http://h:1/v1/chat/completions").mock(return_value=httpx.Response(200, content=SSE_OK))
    client = OpenAIClient("http://h:1/v1", model="m")
    _ = [c async for c in client.stream_chat([Message(role="user", content="x")])]
    req = route.calls.last.request
    body = json.loads(req.content)
    assert "tools" not in body and "tool_choice" not in body
    assert "authorization" not in req.headers
    await client.aclose()


@respx.mock
async def test_ollama_body_shape():
    line = b'{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n'
    route = respx.post("http://o:2/api/chat").mock(return_value=httpx.Response(200, content=line))
    client = OllamaClient("http://o:2", model="m")
    tools = [ToolSpec("g")]
    _ = [
        c
        async for c in client.stream_chat(
            [Message(role="system", content="s"), Message(role="user", content="u")],
            tools,
            options={"think": "high", "keep_alive": "5m", "top_k": 3},
        )
    ]
    body = json.loads(route.calls.last.request.content)
    assert body["think"] == "high" and body["keep_alive"] == "5m" and body["options"] == {"top_k": 3}
    assert body["tools"][0]["function"]["name"] == "g"
    assert "stream_options" not in body
    await client.aclose()


@respx.mock
async def test_registry_builds_clients_from_settings(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[backends.remote]\nkind='vllm'\nbase_url='http://gpu-box:8000/v1'\napi_key='sk-remote'\nmodel='big'\n"
        "[engines.local]\nport=9999\n"
    )
    s = load_settings(cfg, env={}).settings
    remote = make_client(s, "remote")
    assert remote.kind == "vllm" and remote.model == "big" and remote.base_url == "http://gpu-box:8000/v1"
    local = make_client(s, "local")
    assert local.base_url == "http://127.0.0.1:9999/v1" and local.kind == "local"
    assert make_client(s, "remote", model="small").model == "small"
    route = respx.get("http://gpu-box:8000/v1/models").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "big"}]})
    )
    await remote.list_models()
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-remote"
    with pytest.raises(Exception, match="no backend named"):
        make_client(s, "nope")
