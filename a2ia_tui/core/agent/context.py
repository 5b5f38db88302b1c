"""Keeping a request inside the model's context window.

Servers handle an overflow badly: Ollama silently keeps the last ``num_ctx`` tokens (losing the
system prompt first), vLLM refuses the request. So before each request the orchestrator
estimates its size and, by the ``agent.context_overflow`` setting, drops the oldest whole turns
or stops and says so.

The estimate has no tokenizer (the server has it): it counts characters and divides by the
characters per token the server's own usage figures showed for this chat, starting from a
cautious guess. A turn is a user message with everything that answered it, so a tool result
is never sent without the call it answers, nor a call without its result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..llm.types import Message

#: Characters per token before the server has reported any usage: English text with a BPE
#: tokenizer runs at ~4, code and JSON lower; erring low warns a little early, never late.
DEFAULT_CHARS_PER_TOKEN = 3.0
#: Per-message overhead of chat templates (role markers, separators), in tokens.
MESSAGE_OVERHEAD = 4


@dataclass(frozen=True)
class Fit:
    messages: list[Message]
    #: Whole turns left out, oldest first.
    dropped_turns: int
    #: The estimated prompt size of ``messages``, in tokens.
    estimate: int
    #: Still larger than the window (the last turn alone does not fit, or the policy is "stop").
    overflow: bool


def message_chars(message: Message) -> int:
    size = len(message.content)
    for call in message.tool_calls:
        size += len(call.name) + len(json.dumps(call.function.arguments, ensure_ascii=False))
    return size


def estimate_tokens(messages: Sequence[Message], chars_per_token: float = DEFAULT_CHARS_PER_TOKEN) -> int:
    chars = sum(message_chars(m) for m in messages)
    return int(chars / max(chars_per_token, 0.5)) + MESSAGE_OVERHEAD * len(messages)


def turns(messages: Sequence[Message]) -> list[list[Message]]:
    """The messages cut at each user message (anything before the first one is a turn of its own)."""
    out: list[list[Message]] = []
    for m in messages:
        if m.role == "user" or not out:
            out.append([m])
        else:
            out[-1].append(m)
    return out


def fit_context(
    messages: Sequence[Message],
    limit: int,
    *,
    reserve: int = 0,
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN,
    drop_oldest: bool = True,
) -> Fit:
    """``messages`` (system messages first, then the history) cut to fit ``limit`` tokens with
    ``reserve`` left for the answer. System messages and the last turn are always kept."""
    system = [m for m in messages if m.role == "system"]
    rest = turns([m for m in messages if m.role != "system"])
    budget = limit - reserve
    fixed = estimate_tokens(system, chars_per_token)
    sizes = [estimate_tokens(t, chars_per_token) for t in rest]
    total = fixed + sum(sizes)
    if total <= budget or not drop_oldest or len(rest) <= 1:
        return Fit(list(messages), 0, total, total > budget)
    dropped = 0
    while dropped < len(rest) - 1 and total > budget:
        total -= sizes[dropped]
        dropped += 1
    kept = system + [m for t in rest[dropped:] for m in t]
    return Fit(kept, dropped, total, total > budget)


def chars_per_token(messages: Sequence[Message], prompt_tokens: int | None) -> float | None:
    """What one request's usage says about this model's tokenizer on this chat (None when the
    server reported no usage or the figure makes no sense)."""
    if not prompt_tokens or prompt_tokens <= MESSAGE_OVERHEAD * len(messages):
        return None
    ratio = sum(message_chars(m) for m in messages) / (prompt_tokens - MESSAGE_OVERHEAD * len(messages))
    return ratio if 0.5 <= ratio <= 10 else None
