"""Token throughput measured client-side from the chunk stream, replaced by the server's exact
figures when it reports them (Ollama's ``eval_count``/``eval_duration``, the OpenAI usage chunk).

Until the server reports counts, each chunk that carries text or thinking counts as one token
(servers stream about one token per chunk); ``exact`` says which kind a figure is.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..llm.types import ChatChunk

#: A request's tokens/s is measured client-side only over at least this long (first to last
#: token): a reply that arrives at once (a tool call a server's parser buffered and sent in one
#: or two chunks, a cached answer) gave figures such as "58000 tok/s", which say nothing of
#: the model's speed. Shorter: no figure (``tokens_per_s`` is None).
MIN_RATE_SPAN_S = 0.05


@dataclass(frozen=True)
class TurnStats:
    prompt_tokens: int | None
    completion_tokens: int
    #: True when ``completion_tokens`` came from the server.
    exact: bool
    ttft_s: float | None
    duration_s: float
    tokens_per_s: float | None


class TokenMeter:
    """Feed it every chunk of one request: ``start()``, ``observe(chunk)``…, ``finish()``.

    ``live_tokens_per_s`` is the rate over the last ``window_s`` seconds (for a status bar
    while streaming); :meth:`finish` returns the request's :class:`TurnStats` and adds it to the
    session totals.
    """

    #: The live rate's window is kept in at most about this many slots: chunks that arrive
    #: within ``window_s / WINDOW_SLOTS`` of the last slot's start are added to it. One entry
    #: per chunk held 10,000 entries at 5,000 tokens/s, and without end where the clock does not
    #: move between chunks (a coarse timer); the figure moves by ~1% at most.
    WINDOW_SLOTS = 100

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.perf_counter) -> None:
        self.window_s = window_s
        self._clock = clock
        self._recent: deque[tuple[float, int]] = deque()
        self._recent_tokens = 0
        self.session_prompt_tokens = 0
        self.session_completion_tokens = 0
        self.session_requests = 0
        self.last: TurnStats | None = None
        self._reset()

    def _reset(self) -> None:
        self._t0: float | None = None
        self._t_first: float | None = None
        self._t_last: float | None = None
        self._estimated = 0
        self._exact_completion: int | None = None
        self._prompt: int | None = None
        self._eval_duration_ns: int | None = None
        self._recent.clear()
        self._recent_tokens = 0

    def start(self) -> None:
        self._reset()
        self._t0 = self._clock()

    def observe(self, chunk: ChatChunk) -> None:
        now = self._clock()
        if self._t0 is None:
            self._t0 = now
        msg = chunk.message
        if msg.content or msg.thinking or msg.tool_calls:
            if self._t_first is None:
                self._t_first = now
            self._t_last = now
            n = chunk.pieces  # merged chunks carry several server events
            self._estimated += n
            recent = self._recent
            if recent and now - recent[-1][0] < self.window_s / self.WINDOW_SLOTS:
                recent[-1] = (recent[-1][0], recent[-1][1] + n)
            else:
                recent.append((now, n))
            self._recent_tokens += n
            horizon = now - self.window_s
            while self._recent and self._recent[0][0] < horizon:
                self._recent_tokens -= self._recent.popleft()[1]
        if chunk.eval_count is not None:
            self._exact_completion = chunk.eval_count
        if chunk.prompt_eval_count is not None:
            self._prompt = chunk.prompt_eval_count
        if chunk.eval_duration:
            self._eval_duration_ns = chunk.eval_duration

    @property
    def ttft_s(self) -> float | None:
        if self._t0 is None or self._t_first is None:
            return None
        return self._t_first - self._t0

    @property
    def completion_tokens(self) -> int:
        return self._exact_completion if self._exact_completion is not None else self._estimated

    @property
    def prompt_tokens(self) -> int | None:
        return self._prompt

    @property
    def exact(self) -> bool:
        return self._exact_completion is not None

    @property
    def live_tokens_per_s(self) -> float | None:
        """Tokens per second over the last ``window_s`` seconds (estimated from chunks); over the
        time since the first token while the stream is younger than the window."""
        if self._t_first is None:
            return None
        now = self._clock()
        horizon = now - self.window_s
        while self._recent and self._recent[0][0] < horizon:
            self._recent_tokens -= self._recent.popleft()[1]
        span = min(now - self._t_first, self.window_s)
        if span <= 0:
            return None
        return self._recent_tokens / span

    def finish(self) -> TurnStats:
        end = self._t_last if self._t_last is not None else self._clock()
        start = self._t0 if self._t0 is not None else end
        tokens = self.completion_tokens
        tps: float | None = None
        if self._exact_completion is not None and self._eval_duration_ns:
            tps = self._exact_completion / (self._eval_duration_ns / 1e9)
        elif (
            self._t_first is not None
            and self._t_last is not None
            and self._t_last - self._t_first >= MIN_RATE_SPAN_S
            and tokens > 1
        ):
            # n tokens arrive over n-1 gaps after the first one.
            tps = max(tokens - 1, 1) / (self._t_last - self._t_first)
        stats = TurnStats(
            prompt_tokens=self._prompt,
            completion_tokens=tokens,
            exact=self.exact,
            ttft_s=self.ttft_s,
            duration_s=max(end - start, 0.0),
            tokens_per_s=tps,
        )
        self.session_prompt_tokens += self._prompt or 0
        self.session_completion_tokens += tokens
        self.session_requests += 1
        self.last = stats
        return stats
