"""Backend-neutral chat types in Ollama's /api/chat shape (the lingua franca of A2IA).

A streamed reply is a sequence of :class:`ChatChunk`: text and thinking arrive as pieces in
``chunk.message.content`` / ``.thinking``; a tool call appears ONCE, complete, with parsed
arguments, on the chunk where it finishes; the last chunk has ``done=True`` and whatever counts
and durations the server reported (``None`` = not reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Model):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    #: The arguments exactly as the server sent them (OpenAI servers send a JSON string).
    raw_arguments: str | None = None
    #: Set when ``raw_arguments`` is not a JSON object: the parser's message. ``arguments`` is
    #: then ``{}`` and the orchestrator answers the model with this error instead of calling.
    error: str | None = None


class ToolCall(_Model):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
    #: Set when the server sent this call with a name or id that is not a string: why. The call
    #: is never run; the orchestrator answers the model with this reason.
    refused: str | None = None

    @property
    def name(self) -> str:
        return self.function.name

    @property
    def valid(self) -> bool:
        return self.function.error is None


class ImagePart(_Model):
    """An image attached to a user message: its MIME type and its bytes in base64."""

    mime: str
    data: str

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.data}"


class Message(_Model):
    role: Role
    content: str = ""
    thinking: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    #: For ``role="tool"``: the id of the call this answers (OpenAI servers need it).
    tool_call_id: str | None = None
    #: For ``role="tool"``: the tool's name (Ollama wants it).
    tool_name: str | None = None
    #: For ``role="user"``: attached images (Ollama's ``images``, OpenAI's ``image_url`` parts).
    images: list[ImagePart] = Field(default_factory=list)


class ChatChunk(_Model):
    """One piece of a streamed reply (one /api/chat NDJSON line, or several merged: ``pieces``)."""

    model: str | None = None
    message: Message = Field(default_factory=lambda: Message(role="assistant"))
    done: bool = False
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_duration: int | None = None
    eval_duration: int | None = None
    #: How many server events this chunk carries: content-only events that arrived in the same
    #: network read are merged into one chunk (a flood then costs the consumer one event per
    #: read, not one per token); token estimates count pieces, not chunks.
    pieces: int = 1


class ChatResponse(_Model):
    """A whole (non-streamed) reply."""

    model: str | None = None
    message: Message
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_duration: int | None = None
    eval_duration: int | None = None


class ModelInfo(_Model):
    name: str
    size: int | None = None
    context_length: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Health(_Model):
    ok: bool
    detail: str = ""
    latency_s: float | None = None
    version: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model (name, description, JSON schema of its arguments)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_wire(self) -> dict[str, Any]:
        """The OpenAI/Ollama ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }
