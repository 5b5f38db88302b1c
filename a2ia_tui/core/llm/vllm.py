"""vLLM: the OpenAI-compatible client plus vLLM's own endpoints (``/health`` at the server root,
``max_model_len`` in ``/v1/models``, ``/tokenize`` to learn whether the chat template has a
thinking switch).

Thinking on/off travels as ``chat_template_kwargs: {"enable_thinking": ...}``, a variable only
some chat templates read (Qwen3's, for one); others ignore it without a word. So before it is
sent, :meth:`VLLMClient.thinking_switch` asks the server: ``POST /tokenize`` (at the server root,
outside ``/v1``) renders one short chat through the model's template with ``enable_thinking``
true, then false; different token lists mean the template has the switch. The answer is kept per
server and model. A server without ``/tokenize`` (a proxy, an older vLLM) or with an odd answer
gives no answer, and the switch is sent as before.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

import httpx

from ..errors import BackendUnreachable
from ._http import dumps
from .openai import OpenAIClient
from .types import Health

#: How long one ``/tokenize`` request may take (it renders a template; no model runs). Below the
#: orchestrator's bound, so a slow server's "no answer" is kept rather than asked again each turn.
TOKENIZE_TIMEOUT_S = 4.0
#: The chat the probe renders: short, so both requests cost the server next to nothing.
_PROBE_CHAT = [{"role": "user", "content": "Hi"}]


class VLLMClient(OpenAIClient):
    kind = "vllm"

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        #: (server root, model) -> the template has the switch (True), has none (False), unknown (None).
        self._switches: dict[tuple[str, str], bool | None] = {}

    def sampling_options(
        self, *, top_p: float | None = None, max_tokens: int | None = None, think: bool | None = None
    ) -> tuple[dict[str, Any], str | None]:
        options, _ = super().sampling_options(top_p=top_p, max_tokens=max_tokens)
        if think is None:
            return options, None
        if self._switches.get((self.root_url, self.model or "")) is False:
            # the template renders the same prompt either way: sending it would change nothing
            return options, f"{self.name}: {self.model}'s chat template has no thinking switch; think was not sent"
        # the switch, or no answer from /tokenize: sent as asked (a template without it ignores it)
        options["chat_template_kwargs"] = {"enable_thinking": think}
        return options, None

    async def thinking_switch(self) -> bool | None:
        """Whether the current model's chat template reads ``enable_thinking``: True or False from
        the server's ``/tokenize``, None when it cannot say. Asked once per server and model."""
        model = self.model
        if not model:
            return None
        key = (self.root_url, model)
        if key not in self._switches:
            on, off = await asyncio.gather(self._tokenize_chat(model, True), self._tokenize_chat(model, False))
            if "unreachable" in (on, off):
                return None  # not kept: the server may be starting; the next turn asks again
            self._switches[key] = on != off if isinstance(on, list) and isinstance(off, list) else None
        return self._switches[key]

    async def _tokenize_chat(self, model: str, thinking: bool) -> list[int] | Literal["unreachable", "no answer"]:
        """The probe chat's prompt tokens with ``enable_thinking`` set; "no answer" for anything
        that is not vLLM's answer (an HTTP error, not JSON, ``tokens`` missing or not integers)."""
        body = {
            "model": model,
            "messages": _PROBE_CHAT,
            "add_generation_prompt": True,
            "chat_template_kwargs": {"enable_thinking": thinking},
        }
        try:
            resp = await self._backend.http.post(
                self.root_url + "/tokenize",
                content=dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=TOKENIZE_TIMEOUT_S,
            )
        except httpx.ConnectError:
            return "unreachable"
        except httpx.HTTPError:
            return "no answer"
        if resp.status_code != 200:
            return "no answer"
        try:
            data = resp.json()
        except ValueError:
            return "no answer"
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not tokens:
            return "no answer"
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
            return "no answer"
        return tokens

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
