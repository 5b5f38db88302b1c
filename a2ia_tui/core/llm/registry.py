"""Backend name → :class:`LLMClient`, so switching backend is one call.

``make_client(settings, "vllm")`` builds the client for a configured backend; the ``local`` kind is
an OpenAI client named "local" at the bundled engine's address (``engines.local``).

A backend named after a managed engine ("vllm", "local") talks to that engine where it runs:
pass ``paths`` (its pid file, from any a2ia process) and ``engines`` (this process's manager);
see :mod:`..engines.endpoint` for the order. Its served model name is the default model.

Model choice, highest first:

1. an explicit ``model=`` argument (the model picker, ``/model``);
2. ``settings.model`` (``--model`` / ``A2IA_MODEL``), but only for the backend it was given with:
   the ``default_backend`` by name, or any backend while ``default_backend`` is ``auto`` (the user
   did not pick one). ``--backend vllm --model X`` then switching to ``ollama`` uses Ollama's own
   model, not X, which that server probably does not have;
3. the backend's own ``model`` setting (may be None: the UI then asks the server's model list).

``default_backend = "auto"`` is resolved by :func:`resolve_default_backend`: every configured
non-local backend is probed concurrently (``health()``, short timeout); the first reachable one in
configuration order wins, else the ``local`` backend.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..config import BackendSettings, Paths, Settings
from ..errors import A2IAError, ConfigError
from .base import LLMClient
from .ollama import OllamaClient
from .openai import OpenAIClient
from .vllm import VLLMClient

if TYPE_CHECKING:
    from ..engines.endpoint import Endpoint, EngineStates

#: How long ``auto`` waits for each backend's health probe.
AUTO_PROBE_TIMEOUT_S = 1.5


def backend_names(settings: Settings) -> list[str]:
    """The configured backend names, in configuration order."""
    return list(settings.backends)


def local_base_url(settings: Settings) -> str:
    eng = settings.engines.local
    return f"http://{eng.host}:{eng.port}/v1"


def backend_endpoint(
    settings: Settings, name: str, *, paths: Paths | None = None, engines: EngineStates | None = None
) -> Endpoint | None:
    """Where the managed engine behind backend ``name`` runs, or None when none is behind it."""
    from ..engines.endpoint import engine_endpoint

    return engine_endpoint(settings, name, paths=paths, engines=engines)


def backend_url(
    settings: Settings, name: str, *, paths: Paths | None = None, engines: EngineStates | None = None
) -> str:
    b = settings.backend(name)
    endpoint = backend_endpoint(settings, name, paths=paths, engines=engines)
    if endpoint is not None:
        return endpoint.url
    return local_base_url(settings) if b.kind == "local" else (b.base_url or "")


def make_client(
    settings: Settings,
    name: str,
    *,
    model: str | None = None,
    paths: Paths | None = None,
    engines: EngineStates | None = None,
) -> LLMClient:
    try:
        b: BackendSettings = settings.backends[name]
    except KeyError:
        raise ConfigError(
            "settings",
            "backends",
            f"no backend named {name!r} (have: {', '.join(settings.backends)})",
        ) from None
    session_model = settings.model if settings.default_backend in ("auto", name) else None
    endpoint = backend_endpoint(settings, name, paths=paths, engines=engines)
    served = endpoint.model if endpoint is not None and endpoint.running else None
    chosen = model or session_model or served or b.model
    url = endpoint.url if endpoint is not None else (b.base_url or "")
    common = dict(
        name=name,
        model=chosen,
        api_key=b.api_key.get_secret_value() if b.api_key else None,
        headers=dict(b.headers),
        connect_timeout_s=b.connect_timeout_s,
        read_timeout_s=b.read_timeout_s,
    )
    if b.kind == "ollama":
        return OllamaClient(url, **common)
    if b.kind == "vllm":
        return VLLMClient(url, **common)
    if b.kind == "local":
        from ..engines.llamacpp import configured_n_ctx

        client = OpenAIClient(url or local_base_url(settings), **common)
        client.kind = "local"
        client.fallback_context_length = configured_n_ctx(settings.engines.local)
        return client
    return OpenAIClient(url, **common)


def unreachable(settings: Settings, name: str, url: str, detail: str) -> str:
    """One line for a backend that does not answer; says how to start the engine behind it."""
    from ..engines.endpoint import engine_for_backend
    from ..redact import mask_url

    line = f"cannot reach the {name} backend at {mask_url(url)}: {detail or 'no answer'}"
    kind = engine_for_backend(settings, name)
    if kind is not None:
        line += f" (start its engine: a2ia-tui engine start {kind.name}, or Start in the app's sidebar)"
    return line


async def probe(
    settings: Settings,
    name: str,
    timeout_s: float = AUTO_PROBE_TIMEOUT_S,
    *,
    paths: Paths | None = None,
    engines: EngineStates | None = None,
) -> tuple[bool, str]:
    """``(reachable, one-line detail)`` for one backend; never raises."""
    client = make_client(settings, name, paths=paths, engines=engines)
    try:
        health = await asyncio.wait_for(client.health(), timeout_s)
        return health.ok, health.detail
    except TimeoutError:
        return False, f"no answer within {timeout_s:g} s"
    finally:
        await client.aclose()


async def adopt_first_model(client: LLMClient, timeout_s: float = 3.0) -> None:
    """A backend configured without a model uses the first one its server lists (a vLLM server
    serves one). A server that cannot say leaves it unset: the request then says so."""
    if client.model:
        return
    try:
        models = await asyncio.wait_for(client.list_models(), timeout_s)
    except (A2IAError, TimeoutError):
        return
    if models:
        client.model = models[0].name


async def resolve_default_backend(
    settings: Settings,
    timeout_s: float = AUTO_PROBE_TIMEOUT_S,
    *,
    paths: Paths | None = None,
    engines: EngineStates | None = None,
) -> str:
    """``default_backend``, or for ``auto`` the first reachable configured backend (config order,
    probed concurrently), else ``local``."""
    if settings.default_backend != "auto":
        return settings.default_backend
    names = [n for n, b in settings.backends.items() if b.kind != "local"]
    results = await asyncio.gather(*(probe(settings, n, timeout_s, paths=paths, engines=engines) for n in names))
    for name, (ok, _detail) in zip(names, results, strict=True):
        if ok:
            return name
    return next((n for n, b in settings.backends.items() if b.kind == "local"), "local")
