"""Ollama's native API: ``/api/chat`` NDJSON streaming (tools, ``think``, final statistics),
``/api/tags``, ``/api/ps``, ``/api/show`` and ``/api/version``.

Each NDJSON line is checked for ``{"error": ...}``: Ollama can report an error in the middle of a
200 stream, and that is an error, never text. Tool calls arrive whole (arguments are objects);
each gets an id (Ollama sends none in older releases) so tool results can be matched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from ..errors import (
    BackendHTTPError,
    BackendProtocolError,
    BackendUnreachable,
    StreamInterrupted,
)
from ..redact import mask_url
from ..textsafe import scrub_obj
from ._calls import parse_arguments, tool_call
from ._fast import STATS, count, ignored, not_text, optional_text, parse_json, stream_chunk, take_run, text_chunk
from ._http import HTTPClient, one_line, partial_text
from .types import (
    ChatChunk,
    ChatResponse,
    Health,
    Message,
    ModelInfo,
    ToolCall,
    ToolSpec,
)

#: ``options`` keys that go at the top level of an /api/chat request, not under "options".
_TOP_LEVEL = {"think", "keep_alive", "format"}


def message_to_ollama(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role, "content": msg.content}
    if msg.role == "tool" and msg.tool_name:
        out["tool_name"] = msg.tool_name
    if msg.tool_calls:
        out["tool_calls"] = [
            {"function": {"name": tc.function.name, "arguments": tc.function.arguments}} for tc in msg.tool_calls
        ]
    if msg.thinking and msg.role == "assistant":
        out["thinking"] = msg.thinking
    if msg.images:
        out["images"] = [img.data for img in msg.images]
    return out


class OllamaClient(HTTPClient):
    kind = "ollama"

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._ctx_cache: dict[str, int | None] = {}
        self._calls_seen = 0

    def sampling_options(
        self, *, top_p: float | None = None, max_tokens: int | None = None, think: bool | None = None
    ) -> tuple[dict[str, Any], str | None]:
        # top_p and num_predict travel in "options"; think is a top-level field (build_request).
        options: dict[str, Any] = {}
        if top_p is not None:
            options["top_p"] = top_p
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if think is not None:
            options["think"] = think
        return options, None

    def build_request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None,
        *,
        model: str | None,
        temperature: float | None,
        options: dict[str, Any] | None,
        stream: bool,
    ) -> dict[str, Any]:
        name = self.request_model(model)
        body: dict[str, Any] = {
            "model": name,
            "messages": [message_to_ollama(m) for m in messages],
            "stream": stream,
        }
        if tools:
            body["tools"] = [t.to_wire() for t in tools]
        opts: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if value is None:
                continue
            if key in _TOP_LEVEL:
                body[key] = value
            else:
                opts[key] = value
        if temperature is not None:
            opts["temperature"] = temperature
        if opts:
            body["options"] = opts
        return body

    def _tool_calls(self, raw: object) -> list[ToolCall]:
        """Whole calls from a line's ``tool_calls``, each judged by :func:`._calls.tool_call`."""
        if raw.__class__ is not list:
            ignored("tool_calls", raw)
            return []
        calls: list[ToolCall] = []
        for item in raw:
            if not isinstance(item, dict):
                continue
            self._calls_seen += 1
            fn = item.get("function")
            if fn is None:
                fn = {}
            index = fn.get("index") if isinstance(fn, dict) else None
            fallback_id = f"call_{self._calls_seen}_{index if index.__class__ is int else len(calls)}"
            if not isinstance(fn, dict):
                refused = f"its function is {type(fn).__name__}, not an object"
                calls.append(tool_call(item.get("id"), None, fallback_id, {}, refused=refused))
                continue
            args = fn.get("arguments")
            raw_text: str | None = None
            error: str | None = None
            if args.__class__ is str:  # some proxies send a string
                raw_text = args
                args, error = parse_arguments(args)
            calls.append(tool_call(item.get("id"), fn.get("name"), fallback_id, args, raw_text, error))
        return calls

    async def stream_chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[ChatChunk]:
        body = self.build_request(
            messages,
            tools,
            model=model,
            temperature=temperature,
            options=options,
            stream=True,
        )
        text_parts: list[str] = []
        saw_done = False
        lines = self._backend.stream_lines("/api/chat", body)
        run: list[str] = []  # content-only lines of this network read, yielded as one chunk
        model_name: str | None = None
        try:
            async for batch in lines:
                for line in batch:
                    if not line:
                        continue
                    try:
                        obj = parse_json(line)
                    except ValueError:
                        continue  # a malformed line is skipped, never fatal
                    if not isinstance(obj, dict):
                        continue
                    if "error" in obj:
                        if run:
                            yield take_run(model_name, run)
                        raise StreamInterrupted(
                            f"server error mid-stream: {one_line(str(obj['error']))}",
                            partial_text(text_parts),
                        )
                    m = obj.get("message") or {}
                    content = m.get("content") or ""
                    thinking = m.get("thinking") or None
                    raw_calls = m.get("tool_calls")
                    done = obj.get("done") is True
                    if not (content or thinking or raw_calls or done):
                        continue
                    if not (raw_calls or done):
                        if thinking is None and content.__class__ is str:  # the commonest line: merged per read
                            text_parts.append(content)
                            model_name = obj.get("model")
                            run.append(content)
                            continue
                        if run:  # (what came before is delivered before any error below)
                            yield take_run(model_name, run)
                        text_parts.append(content)
                        yield text_chunk(obj.get("model"), content, thinking)
                        continue
                    if run:
                        yield take_run(model_name, run)
                    if content:
                        text_parts.append(content)
                    chunk = stream_chunk(
                        obj.get("model"),
                        content,
                        thinking,
                        self._tool_calls(raw_calls) if raw_calls else None,
                        done=done,
                        done_reason=(obj.get("done_reason") or "stop") if done else None,
                        stats={k: obj.get(k) for k in STATS} if done else None,
                    )
                    yield chunk
                    if done:
                        saw_done = True
                        break
                if run:  # the end of this read: what arrived is delivered now
                    yield take_run(model_name, run)
                if saw_done:
                    break
        except StreamInterrupted as exc:
            if not exc.partial_text and text_parts:
                raise StreamInterrupted(exc.reason, partial_text(text_parts)) from exc.__cause__
            raise
        except (AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
            raise BackendProtocolError(f"{self.name}: malformed stream line ({one_line(str(exc), 200)})") from exc
        finally:
            await lines.aclose()
        if not saw_done:
            raise StreamInterrupted("the stream ended without its final line", partial_text(text_parts))

    async def chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatResponse:
        """One non-streamed reply (``stream: false``): a single JSON object with the statistics."""
        body = self.build_request(
            messages,
            tools,
            model=model,
            temperature=temperature,
            options=options,
            stream=False,
        )
        data = await self._backend.post_json("/api/chat", body)
        if not isinstance(data, dict):
            raise BackendProtocolError(f"{mask_url(self._backend.url('/api/chat'))} answered no JSON object")
        try:
            data = cast(dict[str, Any], scrub_obj(data))  # a dict stays a dict
        except RecursionError as exc:
            raise BackendProtocolError(f"{self.name}: the reply is nested too deeply") from exc
        if data.get("error"):
            raise BackendHTTPError(200, one_line(str(data["error"])), url=self._backend.url("/api/chat"))
        m = data.get("message") or {}
        if not isinstance(m, dict):
            raise BackendProtocolError(f"{self.name}: the reply's message is {type(m).__name__}, not an object")
        content = m.get("content") or ""
        if content.__class__ is not str:
            raise not_text("content", content)
        raw_calls = m.get("tool_calls")
        return ChatResponse(
            model=optional_text("model", data.get("model")) or body["model"],
            message=Message(
                role="assistant",
                content=content,
                thinking=optional_text("thinking", m.get("thinking") or None),
                tool_calls=self._tool_calls(raw_calls) if raw_calls else [],
            ),
            done_reason=optional_text("done_reason", data.get("done_reason")) or "stop",
            **{k: count(k, data.get(k)) for k in STATS},
        )

    async def list_models(self) -> list[ModelInfo]:
        data = await self._backend.get_json("/api/tags")
        return [
            ModelInfo(name=m["name"], size=m.get("size"), details=m.get("details") or {})
            for m in (data or {}).get("models") or []
            if isinstance(m, dict) and m.get("name")
        ]

    async def running_models(self) -> list[dict[str, Any]]:
        """``/api/ps``: the loaded models (``size``, ``size_vram``, ``expires_at``)."""
        data = await self._backend.get_json("/api/ps")
        return list((data or {}).get("models") or [])

    async def show(self, model: str | None = None) -> dict[str, Any]:
        return cast(dict[str, Any], await self._backend.post_json("/api/show", {"model": model or self.model}))

    async def context_length(self, model: str | None = None) -> int | None:
        name = model or self.model
        if not name:
            return None
        if name not in self._ctx_cache:
            try:
                shown: object = await self.show(name)
            except (BackendHTTPError, BackendUnreachable, BackendProtocolError):
                return None
            # untrusted: a reply that is not an object, or a model_info that is not, says nothing
            info = shown.get("model_info") if isinstance(shown, dict) else None
            ctx = next(
                (
                    v
                    for k, v in (info.items() if isinstance(info, dict) else ())
                    if isinstance(k, str) and k.endswith(".context_length") and type(v) is int and v > 0
                ),
                None,
            )
            self._ctx_cache[name] = ctx
        return self._ctx_cache[name]

    async def version(self) -> str | None:
        data = await self._backend.get_json("/api/version", timeout=5.0)
        return (data or {}).get("version")

    async def health(self) -> Health:
        t0 = time.perf_counter()
        try:
            version = await self.version()
        except BackendUnreachable as exc:
            return Health(ok=False, detail=f"offline: {exc.reason}")
        except Exception as exc:  # noqa: BLE001 - health never raises
            return Health(ok=False, detail=str(exc).splitlines()[0][:200])
        return Health(
            ok=True,
            detail=f"Ollama {version}" if version else "Ollama",
            version=version,
            latency_s=time.perf_counter() - t0,
        )
