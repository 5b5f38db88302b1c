"""The registry: backend name → client, the model choice, and ``default_backend = "auto"``
resolved against real loopback servers (one up, one refusing connections, one stalled)."""

from __future__ import annotations

import socket

import httpx
import pytest
import respx

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.errors import ConfigError
from a2ia_tui.core.llm import (
    OllamaClient,
    OpenAIClient,
    VLLMClient,
    backend_names,
    make_client,
)
from a2ia_tui.core.llm.registry import probe, resolve_default_backend
from tests.fakes.llm_server import FakeLLMServer


def closed_port_url(path: str = "") -> str:
    """A loopback URL nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def settings(toml: str = "", tmp_path=None, **flags):
    path = None
    if toml:
        path = tmp_path / "config.toml"
        path.write_text(toml, encoding="utf-8")
    return load_settings(path, env={}, flags=flags).settings


def test_kinds_map_to_clients_and_names_keep_config_order(tmp_path):
    s = settings(
        "[backends.lmstudio]\nbase_url='http://127.0.0.1:1234/v1'\nheaders={X-Team='a'}\nread_timeout_s=7\n",
        tmp_path,
    )
    assert backend_names(s) == ["ollama", "vllm", "local", "lmstudio"]
    ollama, vllm, local, lm = (make_client(s, n) for n in backend_names(s))
    assert type(ollama) is OllamaClient and ollama.base_url == "http://127.0.0.1:11434"
    assert ollama.model == "a2ia-qwen"
    assert type(vllm) is VLLMClient and vllm.kind == "vllm"
    assert type(local) is OpenAIClient and local.kind == "local" and local.name == "local"
    assert local.base_url == "http://127.0.0.1:8089/v1"
    assert type(lm) is OpenAIClient and lm.kind == "openai" and lm.name == "lmstudio"
    http = lm._backend.http
    assert http.headers["x-team"] == "a" and http.timeout.read == 7


def test_session_model_applies_to_the_chosen_backend_only(tmp_path):
    auto = settings(model="qwen-14b")
    assert make_client(auto, "vllm").model == "qwen-14b"  # auto: the user picked no backend
    assert make_client(auto, "ollama").model == "qwen-14b"
    picked = settings(default_backend="vllm", model="qwen-14b")
    assert make_client(picked, "vllm").model == "qwen-14b"
    assert make_client(picked, "ollama").model == "a2ia-qwen"  # Ollama keeps its own model
    assert make_client(picked, "ollama", model="llama3").model == "llama3"  # the picker wins
    assert make_client(settings(), "vllm").model is None


def test_unknown_backend_is_a_one_line_config_error():
    with pytest.raises(ConfigError) as info:
        make_client(settings(), "nope")
    assert "no backend named 'nope'" in str(info.value) and "ollama" in str(info.value)
    assert "\n" not in str(info.value)


async def test_auto_picks_the_first_reachable_backend_in_config_order():
    async with FakeLLMServer("vllm", models=["m"]) as up:
        s = settings(
            **{
                "backends.ollama.base_url": closed_port_url(),
                "backends.vllm.base_url": up.url,
            }
        )
        assert await resolve_default_backend(s) == "vllm"
        # the probe really asked the server
        assert any(r.path in ("/health", "/v1/models") for r in up.requests)


async def test_auto_prefers_config_order_when_several_are_up():
    async with (
        FakeLLMServer("ollama", models=["a2ia-qwen"]) as o,
        FakeLLMServer("vllm") as v,
    ):
        s = settings(**{"backends.ollama.base_url": o.url, "backends.vllm.base_url": v.url})
        assert await resolve_default_backend(s) == "ollama"


async def test_auto_falls_back_to_local_when_nothing_answers():
    s = settings(
        **{
            "backends.ollama.base_url": closed_port_url(),
            "backends.vllm.base_url": closed_port_url("/v1"),
        }
    )
    assert await resolve_default_backend(s) == "local"


async def test_an_explicit_default_is_returned_without_probing():
    s = settings(default_backend="vllm", **{"backends.vllm.base_url": closed_port_url("/v1")})
    assert await resolve_default_backend(s) == "vllm"


async def test_a_stalled_backend_costs_the_probe_timeout_not_forever():
    # The server accepts the connection and never answers /health.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        s = settings(
            **{
                "backends.vllm.base_url": url,
                "backends.ollama.base_url": closed_port_url(),
            }
        )
        ok, detail = await probe(s, "vllm", timeout_s=0.3)
        assert not ok and "no answer within 0.3 s" == detail
        assert await resolve_default_backend(s, timeout_s=0.3) == "local"


@respx.mock
async def test_health_never_raises_and_says_why():
    respx.get("http://h:1/v1/models").mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    respx.get("http://h:2/health").mock(return_value=httpx.Response(503))
    respx.get("http://h:3/api/version").mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    respx.get("http://h:4/api/version").mock(side_effect=httpx.ConnectTimeout("timed out"))
    cases = [
        (OpenAIClient("http://h:1/v1", api_key="bad"), "HTTP 401: Unauthorized"),
        (VLLMClient("http://h:2/v1"), "engine is dead"),
        (OllamaClient("http://h:3"), "non-JSON"),
        (OllamaClient("http://h:4"), "offline: connection timed out"),
    ]
    for client, expected in cases:
        h = await client.health()
        await client.aclose()
        assert not h.ok and expected in h.detail and "\n" not in h.detail


async def test_the_local_backend_reports_its_engines_context_length():
    """llama-cpp-python's /v1/models names no context length; the bundled engine is started with
    --n_ctx (engines.local.n_ctx, or a later --n_ctx in its extra_args), so the local backend's
    client reports that. Another OpenAI-compatible backend reports what its server says: nothing."""
    async with FakeLLMServer("openai", models=["SmolLM2-135M-Instruct"]) as srv:
        flags = {"engines.local.port": srv.port, "backends.vllm.kind": "openai", "backends.vllm.base_url": srv.url}
        local = make_client(settings(**flags), "local")
        assert await local.context_length("SmolLM2-135M-Instruct") == 4096  # the default n_ctx
        assert await local.context_length("SmolLM2-135M-Instruct") == 4096  # from the cache too
        other = make_client(settings(**flags), "vllm")
        assert await other.context_length("SmolLM2-135M-Instruct") is None
        wider = make_client(
            settings(**flags, **{"engines.local.n_ctx": 2048, "engines.local.extra_args": ["--n_ctx", "8192"]}), "local"
        )
        assert await wider.context_length("SmolLM2-135M-Instruct") == 8192
        for c in (local, other, wider):
            await c.aclose()
