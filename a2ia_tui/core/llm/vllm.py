"""vLLM: the OpenAI-compatible client plus vLLM's own endpoints (``/health`` at the server root,
``max_model_len`` in ``/v1/models``)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from ..errors import BackendUnreachable
from .openai import OpenAIClient
from .types import Health


class VLLMClient(OpenAIClient):
    kind = "vllm"

    def sampling_options(
        self, *, top_p: float | None = None, max_tokens: int | None = None, think: bool | None = None
    ) -> tuple[dict[str, Any], str | None]:
        options, _ = super().sampling_options(top_p=top_p, max_tokens=max_tokens)
        if think is not None:
            # Read by the chat templates that have the switch (Qwen3, DeepSeek-R1 distills...);
            # a template without it ignores the variable, which the server cannot tell us.
            options["chat_template_kwargs"] = {"enable_thinking": think}
        return options, None

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
