"""The conversation: backend-neutral messages plus what the UI and history need to know about
each one (which backend/model wrote it, whether it was interrupted, timings).

A conversation is a tree: regenerating an answer or editing a question starts a new branch and
keeps the old one to flip back to. :attr:`Conversation.entries` is the branch shown (what is sent
to the model, exported and drawn); :attr:`Conversation.others` holds the rest. On the shown branch
each entry's parent is the entry before it; off it, :attr:`Entry.parent` says."""

from __future__ import annotations

import itertools
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..llm.types import Message, ToolCall
from .chat_settings import ChatSettings

_births = itertools.count()


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
    #: The entry this one follows (None: a first message). Set by :meth:`Conversation.link` for
    #: the shown branch; kept as is on entries off it.
    parent: Entry | None = field(default=None, compare=False, repr=False)
    #: Creation order in this process: orders alternatives made within one clock tick.
    born: int = field(default_factory=lambda: next(_births), compare=False, repr=False)


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
    #: Entries off the shown branch: earlier answers (regenerate), the old continuations of
    #: edited questions, the branches flipped away from.
    others: list[Entry] = field(default_factory=list)

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
        self.others.clear()

    # -- the tree ------------------------------------------------------------------------------

    def link(self) -> None:
        """Point each entry of the shown branch at the one before it."""
        previous: Entry | None = None
        for entry in self.entries:
            entry.parent = previous
            previous = entry

    def _keep_aside(self, index: int) -> None:
        """Move ``entries[index:]`` off the shown branch (kept, linked, to flip back to)."""
        self.link()
        self.others.extend(self.entries[index:])
        del self.entries[index:]

    def regenerate(self) -> Entry | None:
        """Set the last question up to be answered again: its answer (and anything after it) leaves
        the shown branch and stays as an alternative. Returns the question, now the last entry, or
        None when the chat has no question."""
        index = next((i for i in range(len(self.entries) - 1, -1, -1) if self.entries[i].message.role == "user"), None)
        if index is None:
            return None
        self._keep_aside(index + 1)
        return self.entries[index]

    def edit(self, index: int, text: str) -> Entry:
        """Replace the question at ``index`` by ``text`` (its attachments kept) on a new branch: the
        old question and its continuation stay in the tree. The new question is the last entry."""
        old = self.entries[index]
        if old.message.role != "user":
            raise ValueError("only a question can be edited")
        self._keep_aside(index)
        return self.add(old.message.model_copy(update={"content": text}))

    def _children(self) -> dict[int, list[Entry]]:
        """Children by ``id(parent)`` (0 for first messages), oldest first."""
        self.link()
        children: dict[int, list[Entry]] = {}
        for entry in sorted((*self.entries, *self.others), key=_age):
            children.setdefault(id(entry.parent) if entry.parent is not None else 0, []).append(entry)
        return children

    def alternatives(self) -> dict[int, tuple[int, int]]:
        """Shown entries that have alternatives: index -> (its place among them, 1-based; how
        many). Empty (and cheap) for a chat never regenerated or edited."""
        if not self.others:
            return {}
        children = self._children()
        found: dict[int, tuple[int, int]] = {}
        for i, entry in enumerate(self.entries):
            siblings = children[id(entry.parent) if entry.parent is not None else 0]
            if len(siblings) > 1:
                found[i] = (next(n for n, s in enumerate(siblings) if s is entry) + 1, len(siblings))
        return found

    def replies(self, index: int) -> int:
        """How many entries follow ``entries[index]`` in the whole tree (its answers so far, for a
        question)."""
        if not self.others:
            return 1 if index < len(self.entries) - 1 else 0
        return len(self._children().get(id(self.entries[index]), ()))

    def switch(self, index: int, step: int) -> bool:
        """Show the alternative ``step`` places from ``entries[index]`` (-1: the earlier one, +1:
        the later), with its newest entries below it. False
        when there is none that way."""
        children = self._children()
        siblings = children[id(self.entries[index].parent) if self.entries[index].parent is not None else 0]
        place = next(n for n, s in enumerate(siblings) if s is self.entries[index]) + step
        if not 0 <= place < len(siblings):
            return False
        tail, seen = [siblings[place]], {id(siblings[place])}
        while (below := children.get(id(tail[-1]))) and id(below[-1]) not in seen:
            tail.append(below[-1])
            seen.add(id(below[-1]))
        self._keep_aside(index)
        self.others = [e for e in self.others if id(e) not in seen]
        self.entries.extend(tail)
        self.link()
        return True


def _age(entry: Entry) -> tuple[float, float, int]:
    return entry.meta.created_at, entry.meta.row_id or math.inf, entry.born


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
