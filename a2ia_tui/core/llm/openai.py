"""OpenAI-compatible chat client (vLLM, llama.cpp's server, LM Studio, TGI, OpenAI itself).

Streams ``/v1/chat/completions`` as SSE and turns it into Ollama-shaped :class:`ChatChunk`s:

- text and reasoning (``delta.reasoning``, older ``delta.reasoning_content``) pieces become
  ``message.content`` / ``message.thinking``;
- tool-call deltas are accumulated by ``index`` (id and name first, arguments in fragments; some
  parsers send a whole call, several calls, or ``"name": null`` on fragments) and each call is
  emitted EXACTLY ONCE, complete, with parsed arguments, on the chunk where its choice finishes
  (``finish_reason``) or, failing that, when the stream ends. Arguments that are not a JSON object
  are still delivered, with ``raw_arguments`` kept and ``FunctionCall.error`` set;
- the usage chunk (``choices: []``, sent because we ask with ``stream_options.include_usage``)
  fills the final chunk's ``prompt_eval_count``/``eval_count``; servers that send none leave them
  None;
- the stream always ends with ONE ``done=True`` chunk carrying ``done_reason``.

Explicit nulls and unknown keys are ignored; SSE comments (``: keep-alive``) are skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from ..errors import BackendProtocolError, BackendUnreachable, StreamInterrupted
from ..redact import mask_url
from ..textsafe import scrub_obj
from ._calls import parse_arguments, tool_call
from ._fast import (
    count,
    ignored,
    known_text_chunk,
    not_text,
    optional_text,
    orjson_loads,
    parse_json,
    stream_chunk,
    take_run,
)
from ._http import HTTPClient, error_message, one_line, partial_text
from .types import (
    ChatChunk,
    ChatResponse,
    Health,
    Message,
    ModelInfo,
    ToolCall,
    ToolSpec,
)

_FINISH_MAP = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def message_to_openai(msg: Message) -> dict[str, Any]:
    if msg.role == "tool":
        out: dict[str, Any] = {"role": "tool", "content": msg.content}
        if msg.tool_call_id:
            out["tool_call_id"] = msg.tool_call_id
        return out
    out = {"role": msg.role, "content": msg.content}
    if msg.images:
        # the content becomes a list of parts: the text, then each image as a data URL
        parts: list[dict[str, Any]] = [{"type": "text", "text": msg.content}] if msg.content else []
        parts += [{"type": "image_url", "image_url": {"url": img.data_url}} for img in msg.images]
        out["content"] = parts
    if msg.tool_calls:
        out["content"] = msg.content or None
        out["tool_calls"] = [
            {
                "id": tc.id,
                "type": "function",
                "function": {
                    "name": tc.function.name,
                    "arguments": tc.function.raw_arguments
                    if tc.function.error and tc.function.raw_arguments is not None
                    else json.dumps(tc.function.arguments, ensure_ascii=False),
                },
            }
            for tc in msg.tool_calls
        ]
    return out


class _ToolAccumulator:
    """Tool-call deltas of one choice, by index. Wire values of any type are taken as they come
    and judged in :func:`._calls.tool_call` when the call is complete."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, deltas: object) -> None:
        if deltas.__class__ is not list:
            ignored("tool_calls", deltas)
            return
        for d in deltas:
            if not isinstance(d, dict):
                continue
            idx = d.get("index")
            if idx.__class__ is not int:  # missing, or not a number (bool, text, list...)
                idx = self._index_without_index(d.get("id"))
            slot = self.calls.setdefault(idx, {"id": None, "name": None, "args": [], "bad": None})
            # null and "" mean "not in this fragment"; any other value is kept, to be judged
            call_id = d.get("id")
            if call_id is not None and call_id != "":
                slot["id"] = call_id
            fn = d.get("function")
            if fn is None:
                continue
            if not isinstance(fn, dict):
                slot["bad"] = f"its function is {type(fn).__name__}, not an object"
                continue
            name = fn.get("name")
            if name is not None and name != "":
                slot["name"] = name
            args = fn.get("arguments")
            if args:
                if args.__class__ is not str:
                    try:
                        args = json.dumps(args, ensure_ascii=False)
                    except (ValueError, RecursionError):
                        args = "null"  # unreadable: reported as arguments that are not an object
                slot["args"].append(args)

    def _index_without_index(self, call_id: object) -> int:
        """Servers that omit ``index``: a known id continues its call, a new id starts one, and a
        fragment with neither continues the latest call."""
        if call_id:
            for idx, slot in self.calls.items():
                if slot["id"] == call_id:
                    return idx
            return max(self.calls, default=-1) + 1
        return max(self.calls, default=0)

    def finish(self) -> list[ToolCall]:
        out: list[ToolCall] = []
        for idx in sorted(self.calls):
            slot = self.calls[idx]
            raw = "".join(slot["args"])
            parsed, error = parse_arguments(raw)
            out.append(tool_call(slot["id"], slot["name"], f"call_{idx}", parsed, raw, error, slot["bad"]))
        self.calls.clear()
        return out


class OpenAIClient(HTTPClient):
    kind = "openai"
    #: vLLM-only request fields are added by the subclass.
    send_stream_options = True

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._model_cache: dict[str, ModelInfo] = {}
        #: The context length to report when the server lists none (llama-cpp-python's
        #: ``/v1/models`` does not): for the bundled engine, the ``n_ctx`` it was started with.
        self.fallback_context_length: int | None = None

    # -- requests ------------------------------------------------------------------------------

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
            "messages": [message_to_openai(m) for m in messages],
            "stream": stream,
        }
        if stream and self.send_stream_options:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [t.to_wire() for t in tools]
            body["tool_choice"] = "auto"
        if temperature is not None:
            body["temperature"] = temperature
        if options:
            body.update({k: v for k, v in options.items() if v is not None})
        return body

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
        model_name: str | None = body["model"]
        acc = _ToolAccumulator()
        finish: str | None = None
        usage: dict[str, Any] | None = None
        text_parts: list[str] = []
        data: str | None = None  # the current event's data (SSE: its data lines joined by "\n")
        more: list[str] | None = None  # the data lines of a multi-line event (rare), joined once
        size = 0
        max_event = self._backend.max_line_bytes
        lines = self._backend.stream_lines("/chat/completions", body)
        finished = False
        first = True
        run: list[str] = []  # content-only deltas of this network read, yielded as one chunk
        try:
            async for batch in lines:
                for line in batch:
                    if line:
                        if line[:5] == "data:":
                            # SSE: one space after the colon is not part of the value.
                            value = line[6:] if line[5:6] == " " else line[5:]
                            if data is None:
                                data = value
                            else:
                                # Joined at the end, not line by line (quadratic), and capped
                                # like one line: an event that never ends cannot grow forever.
                                if more is None:
                                    more, size = [data], len(data)
                                more.append(value)
                                size += len(value) + 1
                                if size > max_event:
                                    raise BackendProtocolError(
                                        f"{self.name}: a stream event is longer than the "
                                        f"{max_event // 2**20} MiB limit; the reply was stopped"
                                    )
                        # comments (": keep-alive"), event:, id:, retry: are ignored
                        continue
                    if data is None:
                        continue
                    payload, data = data, None  # a blank line ends the event
                    if more is not None:
                        payload, more = "\n".join(more), None
                    try:
                        # orjson called here, not through parse_json: one call frame less per event
                        # (what orjson refuses goes to parse_json, which decides)
                        try:
                            obj = orjson_loads(payload)
                        except ValueError:
                            obj = parse_json(payload)
                    except ValueError:
                        if payload.strip() == "[DONE]":
                            finished = True
                            break
                        # A malformed event is skipped, never fatal (the stream goes on).
                        continue
                    if not isinstance(obj, dict):
                        continue
                    if first:
                        first = False
                        model_name = obj.get("model") or model_name  # checked by the chunk builders
                    if obj.get("usage"):
                        usage = obj["usage"]  # checked once, at the end
                    choices = obj.get("choices")
                    if not choices:
                        if obj.get("error") or obj.get("object") == "error":
                            if run:
                                yield take_run(model_name, run)
                            raise StreamInterrupted(
                                f"server error mid-stream: {one_line(error_message(json.dumps(obj)))}"
                            )
                        continue
                    for choice in choices:
                        delta = choice.get("delta")
                        fr = choice.get("finish_reason")
                        if delta:
                            content = delta.get("content")
                            thinking = delta.get("reasoning") or delta.get("reasoning_content")
                            tool_deltas = delta.get("tool_calls")
                            if content and content.__class__ is str and not (thinking or tool_deltas or fr):
                                text_parts.append(content)
                                run.append(content)  # the commonest event: merged per read
                                continue
                            if run:
                                yield take_run(model_name, run)
                            if content is not None and content.__class__ is not str:
                                raise not_text("content", content)
                            if thinking and thinking.__class__ is not str:
                                # a wrong-typed "reasoning" does not hide a good "reasoning_content"
                                thinking = optional_text("reasoning", thinking) or optional_text(
                                    "reasoning_content", delta.get("reasoning_content")
                                )
                            if content or thinking:
                                if content:
                                    text_parts.append(content)
                                # both checked just above: the builder need not look again
                                yield known_text_chunk(model_name, content or "", thinking or None, 1)
                            if tool_deltas:
                                acc.add(tool_deltas)
                        if fr:
                            if fr.__class__ is not str:
                                ignored("finish_reason", fr)
                                continue
                            if run:
                                yield take_run(model_name, run)
                            finish = _FINISH_MAP.get(fr, fr)
                            calls = acc.finish()
                            if calls:
                                yield stream_chunk(model_name, tool_calls=calls)
                if run:  # the end of this read: what arrived is delivered now
                    yield take_run(model_name, run)
                if finished:
                    break
            if not (finished or finish):
                # Cut off: neither [DONE] nor a finish_reason. Not a complete answer, and a tool
                # call in it may be cut too: none is emitted (so none runs).
                raise StreamInterrupted("the stream ended without a finish_reason or [DONE]")
            # Calls whose choice never finished (but the stream did) still go out, once.
            calls = acc.finish()
            if calls:
                yield stream_chunk(model_name, tool_calls=calls)
                finish = finish or "tool_calls"
            if usage is not None and usage.__class__ is not dict:
                ignored("usage", usage)
                usage = None
            stats = (
                {
                    "prompt_eval_count": usage.get("prompt_tokens"),
                    "eval_count": usage.get("completion_tokens"),
                }
                if usage
                else None
            )
        except StreamInterrupted as exc:
            raise StreamInterrupted(exc.reason, partial_text(text_parts)) from exc.__cause__
        except (AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
            # A JSON event of the wrong shape (e.g. a choice that is not an object).
            raise BackendProtocolError(f"{self.name}: malformed stream event ({one_line(str(exc), 200)})") from exc
        finally:
            await lines.aclose()
        yield stream_chunk(model_name, done=True, done_reason=finish or "stop", stats=stats)

    async def chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatResponse:
        """One non-streamed completion (``stream: false``, no ``stream_options``)."""
        body = self.build_request(
            messages,
            tools,
            model=model,
            temperature=temperature,
            options=options,
            stream=False,
        )
        data = await self._backend.post_json("/chat/completions", body)
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise BackendProtocolError(f"{mask_url(self._backend.url('/chat/completions'))} answered no 'choices'")
        try:
            data = cast(dict[str, Any], scrub_obj(data))
            choice = data["choices"][0] if data["choices"] and isinstance(data["choices"][0], dict) else {}
            msg = choice.get("message") or {}
            if not isinstance(msg, dict):
                raise BackendProtocolError(f"{self.name}: the reply's message is {type(msg).__name__}, not an object")
            acc = _ToolAccumulator()
            raw_calls = msg.get("tool_calls") or []
            if isinstance(raw_calls, list):
                acc.add([{**tc, "index": i} for i, tc in enumerate(raw_calls) if isinstance(tc, dict)])
            else:
                ignored("tool_calls", raw_calls)
            calls = acc.finish()
            content = msg.get("content") or ""
            if content.__class__ is not str:
                raise not_text("content", content)
            thinking = optional_text("reasoning", msg.get("reasoning") or msg.get("reasoning_content") or None)
            usage = data.get("usage") or {}
            if not isinstance(usage, dict):
                ignored("usage", usage)
                usage = {}
            finish = optional_text("finish_reason", choice.get("finish_reason"))
            model_name = optional_text("model", data.get("model")) or body["model"]
            return ChatResponse(
                model=model_name,
                message=Message(role="assistant", content=content, thinking=thinking, tool_calls=calls),
                done_reason=_FINISH_MAP.get(finish, finish) if finish else ("tool_calls" if calls else "stop"),
                prompt_eval_count=count("prompt_tokens", usage.get("prompt_tokens")),
                eval_count=count("completion_tokens", usage.get("completion_tokens")),
            )
        except RecursionError as exc:
            raise BackendProtocolError(f"{self.name}: the reply is nested too deeply") from exc

    # -- other endpoints -----------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        data = await self._backend.get_json("/models")
        models: list[ModelInfo] = []
        for item in (data or {}).get("data") or []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            info = ModelInfo(
                name=item["id"],
                context_length=item.get("max_model_len") or item.get("context_length"),
                details={
                    k: v for k, v in item.items() if k in ("owned_by", "root", "parent", "created") and v is not None
                },
            )
            self._model_cache[info.name] = info
            models.append(info)
        return models

    async def context_length(self, model: str | None = None) -> int | None:
        name = model or self.model
        if name and name in self._model_cache:
            return self._model_cache[name].context_length or self.fallback_context_length
        try:
            models = await self.list_models()
        except Exception:  # noqa: BLE001 - best effort
            return None
        for m in models:
            if m.name == name:
                return m.context_length or self.fallback_context_length
        return None

    async def health(self) -> Health:
        t0 = time.perf_counter()
        try:
            models = await self.list_models()
        except BackendUnreachable as exc:
            return Health(ok=False, detail=f"offline: {exc.reason}")
        except Exception as exc:  # noqa: BLE001 - health never raises
            return Health(ok=False, detail=str(exc).splitlines()[0][:200])
        return Health(
            ok=True,
            detail=f"{len(models)} model(s)",
            latency_s=time.perf_counter() - t0,
        )
