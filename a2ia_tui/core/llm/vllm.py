"""vLLM: the OpenAI-compatible client plus vLLM's own endpoints (``/health`` at the server root,
``max_model_len`` in ``/v1/models``)."""

from __future__ import annotations

import time

import httpx

from ..errors import BackendUnreachable
from .openai import OpenAIClient
from .types import Health


class VLLMClient(OpenAIClient):
    kind = "vllm"

    @property
    def root_url(self) -> str:
        """The server root (``/health`` and ``/metrics`` live there, outside ``/v1``)."""
        url = self.base_url
        return url.removesuffix("/v1")

    async def health(self) -> Health:
        t0 = time.perf_counter()
        try:
            resp = await self._backend.http.get(self.root_url + "/health", timeout=5.0)
        except Exception as exc:  # noqa: BLE001 - health never raises
            from ._http import describe_transport_error

            reason = describe_transport_error(exc) if isinstance(exc, httpx.HTTPError) else str(exc)
            return Health(ok=False, detail=f"offline: {reason}")
        if resp.status_code == 503:
            return Health(ok=False, detail="the vLLM engine is dead (/health answered 503)")
        if resp.status_code == 404:
            # Not vLLM after all (or a proxy): fall back to the generic probe.
            return await super().health()
        if resp.status_code >= 400:
            return Health(ok=False, detail=f"/health answered HTTP {resp.status_code}")
        try:
            models = await self.list_models()
        except BackendUnreachable as exc:
            return Health(ok=False, detail=f"offline: {exc.reason}")
        except Exception as exc:  # noqa: BLE001
            return Health(ok=False, detail=str(exc).splitlines()[0][:200])
        names = ", ".join(m.name for m in models[:3]) or "no models"
        return Health(ok=True, detail=names, latency_s=time.perf_counter() - t0)
