"""The conversation: backend-neutral messages plus what the UI and history need to know about
each one (which backend/model wrote it, whether it was interrupted, timings)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..llm.types import Message, ToolCall
from .chat_settings import ChatSettings


@dataclass
class MessageMeta:
    backend: str | None = None
    model: str | None = None
    created_at: float = field(default_factory=time.time)
    #: "complete" | "interrupted" (cancelled by the user) | "failed" (backend error)
    status: str = "complete"
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    duration_s: float | None = None
    #: For tool results: the full text when the model got a truncated copy.
    full_result: str | None = None
    is_error: bool = False
    #: Store row id once persisted.
    row_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entry:
    message: Message
    meta: MessageMeta = field(default_factory=MessageMeta)


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    title: str = "New chat"
    entries: list[Entry] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    #: What reading it from history had to repair or skip (corrupt rows), one line each.
    load_notes: list[str] = field(default_factory=list)
    #: This chat's own system prompt, sampling and thinking (saved with it).
    settings: ChatSettings = field(default_factory=ChatSettings)
    #: Tools this chat does not offer the model: a server's name (all its tools) or
    #: "server/tool" (the tool's own name on its server).
    tools_off: frozenset[str] = frozenset()

    @property
    def messages(self) -> list[Message]:
        """What is sent to the model."""
        return [e.message for e in self.entries]

    def add(self, message: Message, **meta: Any) -> Entry:
        entry = Entry(message=message, meta=MessageMeta(**meta))
        self.entries.append(entry)
        return entry

    def add_user(self, text: str | Message) -> Entry:
        """A question: its text, or a whole user message (with attachments: see attachments.py)."""
        message = text if isinstance(text, Message) else Message(role="user", content=text)
        if self.title == "New chat" and message.content.strip():
            self.title = message.content.strip().splitlines()[0][:60]
        return self.add(message)

    def clear(self) -> None:
        self.entries.clear()


def pair_tool_results(entries: list[Entry]) -> dict[tuple[int, int], Entry]:
    """Which tool result answers which call: ``(index of the assistant entry, index of the call
    in it) -> the tool entry``. A result answers a call of the last assistant message with calls
    before it: the one with its ``tool_call_id``, else one of its tool name, else the first still
    unanswered. Never by id over the whole conversation: ids repeat from reply to reply with
    servers that send none (``call_0`` in every reply)."""
    pairs: dict[tuple[int, int], Entry] = {}
    unanswered: list[tuple[int, int]] = []
    for n, entry in enumerate(entries):
        msg = entry.message
        if msg.tool_calls:
            unanswered = [(n, i) for i in range(len(msg.tool_calls))]
        elif msg.role == "tool" and unanswered:

            def call(key: tuple[int, int]) -> ToolCall:
                return entries[key[0]].message.tool_calls[key[1]]

            key = (
                next((k for k in unanswered if call(k).id == msg.tool_call_id), None)
                or next((k for k in unanswered if call(k).name == msg.tool_name), None)
                or unanswered[0]
            )
            unanswered.remove(key)
            pairs[key] = entry
    return pairs
