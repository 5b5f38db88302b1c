"""Backend name → :class:`LLMClient`, so switching backend is one call.

``make_client(settings, "vllm")`` builds the client for a configured backend; the ``local`` kind is
an OpenAI client at the bundled engine's address (``engines.local``). ``settings.model`` (the
``--model`` flag) is the session's model choice and overrides the backend's own ``model`` for the
backend it is used with; an explicit ``model=`` argument (the model picker) wins over both.
"""

from __future__ import annotations

import asyncio

from ..config import BackendSettings, Settings
from ..errors import ConfigError
from .base import LLMClient
from .ollama import OllamaClient
from .openai import OpenAIClient
from .vllm import VLLMClient

#: How long ``auto`` waits for each backend's health probe.
AUTO_PROBE_TIMEOUT_S = 1.5


def backend_names(settings: Settings) -> list[str]:
    return list(settings.backends)


def local_base_url(settings: Settings) -> str:
    eng = settings.engines.local
    return f"http://{eng.host}:{eng.port}/v1"


def backend_url(settings: Settings, name: str) -> str:
    b = settings.backend(name)
    return local_base_url(settings) if b.kind == "local" else (b.base_url or "")


def make_client(settings: Settings, name: str, *, model: str | None = None) -> LLMClient:
    try:
        b: BackendSettings = settings.backends[name]
    except KeyError:
        raise ConfigError(
            "settings", "backends", f"no backend named {name!r} (have: {', '.join(settings.backends)})"
        ) from None
    chosen = model or settings.model or b.model
    common = dict(
        name=name,
        model=chosen,
        api_key=b.api_key.get_secret_value() if b.api_key else None,
        headers=dict(b.headers),
        connect_timeout_s=b.connect_timeout_s,
        read_timeout_s=b.read_timeout_s,
    )
    if b.kind == "ollama":
        return OllamaClient(b.base_url or "", **common)
    if b.kind == "vllm":
        return VLLMClient(b.base_url or "", **common)
    if b.kind == "local":
        client = OpenAIClient(local_base_url(settings), **common)
        client.kind = "local"
        return client
    return OpenAIClient(b.base_url or "", **common)


async def probe(settings: Settings, name: str, timeout_s: float = AUTO_PROBE_TIMEOUT_S) -> tuple[bool, str]:
    client = make_client(settings, name)
    try:
        health = await asyncio.wait_for(client.health(), timeout_s)
        return health.ok, health.detail
    except asyncio.TimeoutError:
        return False, f"no answer within {timeout_s:g} s"
    finally:
        await client.aclose()


async def resolve_default_backend(settings: Settings, timeout_s: float = AUTO_PROBE_TIMEOUT_S) -> str:
    """``default_backend``, or for ``auto`` the first reachable configured backend (config order,
    probed concurrently), else ``local``."""
    if settings.default_backend != "auto":
        return settings.default_backend
    names = [n for n, b in settings.backends.items() if b.kind != "local"]
    results = await asyncio.gather(*(probe(settings, n, timeout_s) for n in names))
    for name, (ok, _detail) in zip(names, results):
        if ok:
            return name
    return next((n for n, b in settings.backends.items() if b.kind == "local"), "local")
