"""A scripted :class:`LLMClient` — the seam's fake, for tests, demos and benchmarks.

Each call to :meth:`ScriptedClient.stream_chat` plays the next scripted reply. Build replies
with :func:`text_reply` and :func:`tool_reply`, or pass chunks / an exception directly::

    client = ScriptedClient([
        tool_reply(("read_file", {"path": "a.txt"})),
        text_reply("The file says hello."),
    ])

Every request is recorded in ``client.calls`` (messages copied at call time) so tests can check
what the orchestrator sent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import LLMClient
from .types import ChatChunk, FunctionCall, Health, Message, ModelInfo, ToolCall, ToolSpec

#: What a scripted backend built with ``healthy=False`` says of itself.
OFFLINE = "offline: connection refused (is the server running?)"


@dataclass
class ScriptStep:
    """One scripted reply: chunks played in order, then optionally an exception."""

    chunks: list[ChatChunk] = field(default_factory=list)
    #: Seconds to sleep before each chunk (lets tests cancel mid-stream).
    delay_s: float = 0.0
    #: Raised after the chunks (e.g. StreamInterrupted, BackendHTTPError).
    error: BaseException | None = None


@dataclass
class RecordedCall:
    messages: list[Message]
    tools: list[ToolSpec] | None
    model: str | None
    temperature: float | None
    options: dict[str, Any] | None


def _pieces(text: str) -> list[str]:
    # Word-ish pieces that keep the whitespace, like tokens do.
    return re.findall(r"\s*\S+|\s+", text) or [text]


def text_reply(
    text: str,
    *,
    thinking: str | None = None,
    pieces: Sequence[str] | None = None,
    delay_s: float = 0.0,
    prompt_eval_count: int | None = 10,
    eval_count: int | None = None,
    done_reason: str = "stop",
    model: str = "scripted-model",
) -> ScriptStep:
    parts = list(pieces) if pieces is not None else _pieces(text)
    chunks: list[ChatChunk] = []
    if thinking:
        for piece in _pieces(thinking):
            chunks.append(ChatChunk(model=model, message=Message(role="assistant", thinking=piece)))
    for piece in parts:
        chunks.append(ChatChunk(model=model, message=Message(role="assistant", content=piece)))
    chunks.append(
        ChatChunk(
            model=model,
            message=Message(role="assistant"),
            done=True,
            done_reason=done_reason,
            prompt_eval_count=prompt_eval_count,
            eval_count=eval_count if eval_count is not None else len(parts),
        )
    )
    return ScriptStep(chunks=chunks, delay_s=delay_s)


def make_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> ToolCall:
    """A complete tool call; a ``str`` argument is kept raw and marked invalid if not JSON."""
    import json

    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
            error = None if isinstance(parsed, dict) else "arguments are not a JSON object"
        except json.JSONDecodeError as exc:
            parsed, error = {}, f"invalid JSON in arguments: {exc.msg} at position {exc.pos}"
        fn = FunctionCall(name=name, arguments=parsed if error is None else {}, raw_arguments=arguments, error=error)
    else:
        fn = FunctionCall(name=name, arguments=arguments)
    return ToolCall(id=call_id or f"call_{name}_{abs(hash((name, str(arguments)))) % 10**8}", function=fn)


def tool_reply(
    *calls: tuple[str, dict[str, Any] | str] | ToolCall,
    text: str = "",
    delay_s: float = 0.0,
    model: str = "scripted-model",
) -> ScriptStep:
    """A reply that asks for tool calls (each on its own chunk, as a finished call)."""
    chunks = [
        ChatChunk(model=model, message=Message(role="assistant", content=p)) for p in (_pieces(text) if text else [])
    ]
    for i, call in enumerate(calls):
        tc = call if isinstance(call, ToolCall) else make_call(call[0], call[1], call_id=f"call_{i}_{call[0]}")
        chunks.append(ChatChunk(model=model, message=Message(role="assistant", tool_calls=[tc])))
    chunks.append(
        ChatChunk(
            model=model,
            message=Message(role="assistant"),
            done=True,
            done_reason="tool_calls",
            prompt_eval_count=10,
            eval_count=len(calls) * 8,
        )
    )
    return ScriptStep(chunks=chunks, delay_s=delay_s)


class ScriptedClient(LLMClient):
    kind = "scripted"

    def __init__(
        self,
        replies: Iterable[ScriptStep | list[ChatChunk] | str | BaseException] = (),
        *,
        name: str = "scripted",
        model: str | None = "scripted-model",
        models: Sequence[str] = ("scripted-model",),
        healthy: bool = True,
        context_length: int | None = 8192,
    ) -> None:
        super().__init__(name=name, model=model, base_url="scripted://")
        self._replies: list[ScriptStep] = [self._coerce(r) for r in replies]
        self.calls: list[RecordedCall] = []
        self._models = list(models)
        self.healthy = healthy
        self._context_length = context_length
        self.closed = False

    @staticmethod
    def _coerce(reply: ScriptStep | list[ChatChunk] | str | BaseException) -> ScriptStep:
        if isinstance(reply, ScriptStep):
            return reply
        if isinstance(reply, str):
            return text_reply(reply)
        if isinstance(reply, BaseException):
            return ScriptStep(error=reply)
        return ScriptStep(chunks=list(reply))

    def add(self, *replies: ScriptStep | list[ChatChunk] | str | BaseException) -> None:
        self._replies.extend(self._coerce(r) for r in replies)

    @property
    def remaining(self) -> int:
        return len(self._replies)

    async def stream_chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[ChatChunk]:
        self.calls.append(
            RecordedCall(
                messages=[m.model_copy(deep=True) for m in messages],
                tools=list(tools) if tools is not None else None,
                model=model or self.model,
                temperature=temperature,
                options=options,
            )
        )
        if not self._replies:
            raise AssertionError("ScriptedClient: the script has no reply left for this request")
        step = self._replies.pop(0)
        for chunk in step.chunks:
            if step.delay_s:
                await asyncio.sleep(step.delay_s)
            yield chunk
        if step.error is not None:
            raise step.error

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(name=m, context_length=self._context_length) for m in self._models]

    async def health(self) -> Health:
        # worded as the HTTP clients word an unreachable server
        return Health(ok=self.healthy, detail="scripted" if self.healthy else OFFLINE)

    async def context_length(self, model: str | None = None) -> int | None:
        return self._context_length

    async def aclose(self) -> None:
        self.closed = True
