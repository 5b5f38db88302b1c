"""Ollama's model store: pull with progress, delete, details (size, quantization, context, loaded/VRAM).

Wire formats (Ollama's API docs and server source):

- ``POST /api/pull {"model", "stream": true}`` streams NDJSON: ``{"status": "pulling manifest"}``,
  then per layer ``{"status": "pulling <digest>", "digest", "total", "completed"}``, then
  ``verifying sha256 digest``, ``writing manifest``, ``success``. A failure is an ``{"error": ...}``
  line inside the 200 stream (or a non-2xx answer). Ollama registers the model only when it writes
  the manifest, after every layer verified: a pull that fails half way leaves no model behind.
- ``DELETE /api/delete {"model"}``: 200 with an empty body; 404 ``{"error": "model 'x' not found"}``.
- ``POST /api/show {"model"}``: ``details`` (``parameter_size``, ``quantization_level``, ``family``,
  ``format``), ``model_info`` (``<arch>.context_length``), ``capabilities``.
- ``GET /api/ps``: loaded models with ``size``, ``size_vram`` (less than ``size`` = partly on the CPU),
  ``expires_at`` and, on recent servers, ``context_length``.
- ``GET /api/tags``: the models on disk with ``size`` and ``details``.

Every failure is a one-line :class:`~..errors.ModelError`; nothing raised here is an httpx error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import ModelError
from ..textsafe import printable

#: Reading one NDJSON line of a pull may wait this long (layers of many GB stream progress often).
PULL_READ_TIMEOUT_S = 300.0
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PullStatus:
    """One line of a pull: ``status`` text; ``completed``/``total`` bytes of the layer being pulled."""

    status: str
    digest: str = ""
    total: int | None = None
    completed: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.total and self.completed is not None:
            return min(1.0, self.completed / self.total)
        return None


@dataclass(frozen=True)
class ModelDetails:
    name: str
    size: int | None = None
    parameter_size: str = ""
    quantization: str = ""
    family: str = ""
    context_length: int | None = None
    capabilities: tuple[str, ...] = ()
    #: loaded now (``/api/ps``), with the bytes in VRAM out of its loaded size
    loaded: bool = False
    loaded_size: int | None = None
    size_vram: int | None = None
    loaded_context: int | None = None
    expires_at: str = ""


def _text(v: Any, limit: int = 200) -> str:
    return printable(str(v))[:limit] if v is not None else ""


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _error_of(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        return _text(data["error"])
    return _text(resp.text.strip().splitlines()[0] if resp.text.strip() else resp.reason_phrase)


class OllamaModels:
    """The model-store endpoints of one Ollama server (``base_url`` like ``http://127.0.0.1:11434``)."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, transport: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers or {}, timeout=TIMEOUT_S, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> OllamaModels:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            return await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ModelError(
                f"cannot reach Ollama at {self.base_url}: {_text(exc) or type(exc).__name__}", kind="network"
            ) from exc

    async def pull(self, model: str) -> AsyncIterator[PullStatus]:
        """Stream the pull's progress; raises ModelError when it fails (at the start or half way)."""
        if not model.strip():
            raise ModelError("no model name to pull", kind="missing")
        timeout = httpx.Timeout(TIMEOUT_S, read=PULL_READ_TIMEOUT_S)
        try:
            async with self._client.stream(
                "POST", "/api/pull", json={"model": model, "stream": True}, timeout=timeout
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise ModelError(f"pulling {model} failed: {_error_of(resp)}", kind=_kind(resp.status_code))
                last = ""
                async for line in resp.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        raise ModelError(f"pulling {model}: Ollama sent something that is not JSON") from None
                    if not isinstance(obj, dict):
                        continue
                    if obj.get("error"):
                        raise ModelError(
                            f"pulling {model} failed: {_text(obj['error'])}", kind=_kind_text(str(obj["error"]))
                        )
                    last = _text(obj.get("status"))
                    yield PullStatus(
                        last, _text(obj.get("digest"), 80), _int(obj.get("total")), _int(obj.get("completed"))
                    )
                if last != "success":
                    raise ModelError(f"pulling {model} stopped before it finished (last: {last or 'nothing'})")
        except httpx.HTTPError as exc:
            raise ModelError(
                f"pulling {model} was cut off: {_text(exc) or type(exc).__name__}", kind="network"
            ) from exc

    async def delete(self, model: str) -> None:
        resp = await self._request("DELETE", "/api/delete", {"model": model})
        if resp.status_code >= 400:
            raise ModelError(f"cannot delete {model}: {_error_of(resp)}", kind=_kind(resp.status_code))

    async def list(self) -> list[ModelDetails]:
        resp = await self._request("GET", "/api/tags")
        if resp.status_code >= 400:
            raise ModelError(f"cannot list Ollama's models: {_error_of(resp)}")
        out = []
        for m in _models(resp):
            d = _dict(m.get("details"))
            out.append(
                ModelDetails(
                    name=_text(m.get("name") or m.get("model")),
                    size=_int(m.get("size")),
                    parameter_size=_text(d.get("parameter_size"), 40),
                    quantization=_text(d.get("quantization_level"), 40),
                    family=_text(d.get("family"), 40),
                )
            )
        return [m for m in out if m.name]

    async def details(self, model: str) -> ModelDetails:
        """``/api/show`` for what the model is, ``/api/tags`` for its size, ``/api/ps`` for whether it is
        loaded and how much of it sits in VRAM."""
        resp = await self._request("POST", "/api/show", {"model": model})
        if resp.status_code >= 400:
            raise ModelError(f"no details for {model}: {_error_of(resp)}", kind=_kind(resp.status_code))
        try:
            show = resp.json()
        except ValueError:
            raise ModelError(f"no details for {model}: Ollama sent something that is not JSON") from None
        show = show if isinstance(show, dict) else {}
        d = _dict(show.get("details"))
        info = _dict(show.get("model_info"))
        ctx = next((_int(v) for k, v in info.items() if str(k).endswith(".context_length") and _int(v)), None)
        caps_raw = show.get("capabilities")
        caps: list[Any] = caps_raw if isinstance(caps_raw, list) else []
        size = next((m.size for m in await self.list() if m.name == model), None)
        ps = await self._request("GET", "/api/ps")
        loaded = (
            next((m for m in _models(ps) if model in (m.get("name"), m.get("model"))), None) if ps.is_success else None
        )
        return ModelDetails(
            name=model,
            size=size,
            parameter_size=_text(d.get("parameter_size"), 40),
            quantization=_text(d.get("quantization_level"), 40),
            family=_text(d.get("family"), 40),
            context_length=ctx,
            capabilities=tuple(_text(c, 40) for c in caps[:20]),
            loaded=loaded is not None,
            loaded_size=_int(loaded.get("size")) if loaded else None,
            size_vram=_int(loaded.get("size_vram")) if loaded else None,
            loaded_context=_int(loaded.get("context_length")) if loaded else None,
            expires_at=_text(loaded.get("expires_at"), 40) if loaded else "",
        )


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _models(resp: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = resp.json()
    except ValueError:
        return []
    models = data.get("models") if isinstance(data, dict) else None
    return [m for m in models or [] if isinstance(m, dict)]


def _kind(status: int) -> str:
    return {401: "gated", 403: "gated", 404: "missing", 507: "disk"}.get(status, "other")


def _kind_text(error: str) -> str:
    e = error.lower()
    if "no space left" in e or "disk" in e:
        return "disk"
    if "file does not exist" in e or "not found" in e:
        return "missing"
    if "unauthorized" in e or "401" in e:
        return "gated"
    return "other"


def ollama_backend(settings: Any, prefer: str | None = None) -> str | None:
    """The Ollama backend to manage: ``prefer`` when it is one, else the first configured."""
    names = [n for n, b in settings.backends.items() if b.kind == "ollama"]
    if prefer in names:
        return prefer
    return names[0] if names else None


def for_backend(settings: Any, name: str) -> OllamaModels:
    """An :class:`OllamaModels` for a configured Ollama backend, with its headers and key."""
    b = settings.backends[name]
    headers = dict(b.headers)
    if b.api_key is not None:
        headers["Authorization"] = f"Bearer {b.api_key.get_secret_value()}"
    return OllamaModels(b.base_url or "", headers=headers)
