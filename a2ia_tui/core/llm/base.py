"""The abstract LLM client every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .types import ChatChunk, ChatResponse, Health, Message, ModelInfo, ToolCall, ToolSpec


class LLMClient(ABC):
    """One LLM server. Subclasses implement :meth:`stream_chat`, :meth:`list_models` and
    :meth:`health`; :meth:`chat` defaults to gathering the stream.

    Errors are always :class:`a2ia_tui.core.errors.BackendError` subclasses.
    """

    #: ``ollama`` / ``openai`` / ``vllm`` / ``local`` / ``scripted``
    kind: str = "abstract"

    def __init__(self, *, name: str = "", model: str | None = None, base_url: str = "") -> None:
        self.name = name or self.kind
        self.model = model
        self.base_url = base_url

    @abstractmethod
    def stream_chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[ChatChunk]:
        """Stream a reply. Cancelling the consumer closes the HTTP response promptly."""

    async def chat(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        *,
        model: str | None = None,
        temperature: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatResponse:
        return await gather_stream(
            self.stream_chat(messages, tools, model=model, temperature=temperature, options=options)
        )

    @abstractmethod
    async def list_models(self) -> list[ModelInfo]: ...

    @abstractmethod
    async def health(self) -> Health: ...

    def sampling_options(
        self, *, top_p: float | None = None, max_tokens: int | None = None, think: bool | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The request ``options`` that carry these values in this server's wire format, and a
        note when one of them cannot be carried. Unset values are left out. This default is the
        OpenAI chat completions API, which has no thinking switch."""
        options: dict[str, Any] = {}
        if top_p is not None:
            options["top_p"] = top_p
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        note = None if think is None else f"{self.name}: this server has no thinking switch; think was not sent"
        return options, note

    async def context_length(self, model: str | None = None) -> int | None:
        """The model's maximum context in tokens, when the server says."""
        return None

    async def thinking_switch(self) -> bool | None:
        """Whether the current model has a thinking switch this client can set: True, False, or
        None when the server cannot say. Asked before :meth:`sampling_options` when a chat sets
        thinking, so the options (and the note) can follow the answer. Never raises."""
        return None

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        from ..redact import mask_url

        return f"<{type(self).__name__} {self.name} {mask_url(self.base_url)} model={self.model}>"


async def gather_stream(stream: AsyncIterator[ChatChunk]) -> ChatResponse:
    """Fold a chunk stream into one :class:`ChatResponse`."""
    content: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    last: ChatChunk | None = None
    async for chunk in stream:
        msg = chunk.message
        if msg.content:
            content.append(msg.content)
        if msg.thinking:
            thinking.append(msg.thinking)
        calls.extend(msg.tool_calls)
        last = chunk
    final = last or ChatChunk(done=True)
    return ChatResponse(
        model=final.model,
        message=Message(
            role="assistant",
            content="".join(content),
            thinking="".join(thinking) or None,
            tool_calls=calls,
        ),
        done_reason=final.done_reason,
        prompt_eval_count=final.prompt_eval_count,
        eval_count=final.eval_count,
        total_duration=final.total_duration,
        load_duration=final.load_duration,
        prompt_eval_duration=final.prompt_eval_duration,
        eval_duration=final.eval_duration,
    )
