"""Keeping a request inside the model's context window.

Servers handle an overflow badly: Ollama silently keeps the last ``num_ctx`` tokens (losing the
system prompt first), vLLM refuses the request. So before each request the orchestrator asks
:class:`ContextWindows` to fit it: the backend's window (asked of the server once per backend and
model; for Ollama ours to choose, ``agent.context_window``, up to the model's), the request's
estimated size, and by the ``agent.context_overflow`` setting the oldest whole turns dropped (said
in a notice) or the request stopped (:class:`~..errors.ContextOverflow`, nothing sent).

The estimate has no tokenizer (the server has it): it counts characters and divides by the
characters per token the server's own usage figures showed for this chat, starting from a
cautious guess. A turn is a user message with everything that answered it, so a tool result
is never sent without the call it answers, nor a call without its result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import A2IAError, ContextOverflow
from ..llm.types import Message, ToolSpec

if TYPE_CHECKING:
    from ..config import AgentSettings
    from ..llm.base import LLMClient

#: Characters per token before the server has reported any usage: English text with a BPE
#: tokenizer runs at ~4, code and JSON lower; erring low warns a little early, never late.
DEFAULT_CHARS_PER_TOKEN = 3.0
#: Per-message overhead of chat templates (role markers, separators), in tokens.
MESSAGE_OVERHEAD = 4
#: How long the first request of a backend waits for it to say its context window.
WINDOW_PROBE_S = 5.0


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


@dataclass(frozen=True)
class Fitted:
    """A request made to fit its backend's window."""

    #: What to send: the messages given, or without their oldest turns.
    messages: list[Message]
    #: The window it fits, in tokens; None when the server does not say (nothing was dropped).
    window: int | None
    #: For the user when turns were left out of the request (the chat keeps them).
    notice: str | None = None


class ContextWindows:
    """Per backend and model: the window its server reported, and the characters per token its
    usage figures showed (the estimate's calibration)."""

    def __init__(self) -> None:
        #: (backend, model) -> the window the server reported (None: it does not say).
        self._windows: dict[tuple[str, str | None], int | None] = {}
        #: (backend, model) -> characters per token, from the server's usage figures.
        self._chars_per_token: dict[tuple[str, str | None], float] = {}

    async def window(self, client: LLMClient, agent: AgentSettings) -> int | None:
        """The window the next request to ``client`` must fit, in tokens; None when the server
        does not say (then nothing is dropped: the server's own answer to an overflow is shown)."""
        key = (client.name, client.model)
        if key not in self._windows:
            try:
                # (a timeout scope, not wait_for: a client that knows its window answers without
                # suspending, so the request still leaves before the UI builds its widgets)
                async with asyncio.timeout(WINDOW_PROBE_S):
                    self._windows[key] = await client.context_length()
            except (A2IAError, TimeoutError):
                self._windows[key] = None
        reported = self._windows[key]
        if client.kind == "ollama":  # the window is ours to choose (num_ctx), up to the model's
            wanted = agent.context_window
            return min(wanted, reported) if reported else wanted
        return reported

    def fit(
        self,
        client: LLMClient,
        messages: list[Message],
        tools: list[ToolSpec] | None,
        window: int,
        agent: AgentSettings,
        max_tokens: int | None = None,
    ) -> Fit:
        """``messages`` and ``tools`` cut to ``window``, with room for an answer of ``max_tokens``
        (or a guess), by this backend's characters per token so far."""
        cpt = self._chars_per_token.get((client.name, client.model), DEFAULT_CHARS_PER_TOKEN)
        tools_tokens = int(len(json.dumps([t.to_wire() for t in tools or ()])) / cpt)
        return fit_context(
            messages,
            window - tools_tokens,
            reserve=max_tokens or min(512, window // 8),
            chars_per_token=cpt,
            drop_oldest=agent.context_overflow == "drop_oldest",
        )

    async def prepare(
        self,
        client: LLMClient,
        messages: list[Message],
        tools: list[ToolSpec] | None,
        agent: AgentSettings,
        max_tokens: int | None = None,
    ) -> Fitted:
        """The request to send to ``client``. Raises ContextOverflow, in one line, when even what
        must be kept does not fit (or ``agent.context_overflow`` is "stop")."""
        window = await self.window(client, agent)
        if not window:
            return Fitted(messages, None)
        fit = self.fit(client, messages, tools, window, agent, max_tokens)
        if fit.overflow:
            what = "The last question alone" if fit.dropped_turns or len(turns(messages)) <= 2 else "This chat"
            raise ContextOverflow(
                f"{what} (about {fit.estimate:,} tokens, with room for the answer) does not fit "
                f"{client.name}'s context window of {window:,} tokens; nothing was sent. "
                + (
                    "Shorten it, or raise the window (agent.context_window for Ollama)."
                    if fit.dropped_turns or agent.context_overflow == "drop_oldest"
                    else 'Start a new chat, or set agent.context_overflow = "drop_oldest".'
                )
            )
        if not fit.dropped_turns:
            return Fitted(messages, window)
        return Fitted(
            fit.messages,
            window,
            f"Context: the {fit.dropped_turns} oldest turn(s) are left out of this request to fit "
            f"{client.name}'s window of {window:,} tokens; the chat keeps them.",
        )

    def learn(self, client: LLMClient, sent: Sequence[Message], prompt_tokens: int | None) -> None:
        """Calibrate the estimate for ``client``'s backend and model by what a request cost."""
        ratio = chars_per_token(sent, prompt_tokens)
        if ratio is not None:
            self._chars_per_token[(client.name, client.model)] = ratio
