from __future__ import annotations

from a2ia_tui.core.llm.types import ChatChunk, Message
from a2ia_tui.core.monitor.tokens import TokenMeter


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def text(t: str) -> ChatChunk:
    return ChatChunk(message=Message(role="assistant", content=t))


def test_estimates_until_server_counts_arrive():
    clock = Clock()
    meter = TokenMeter(window_s=2.0, clock=clock)
    meter.start()
    clock.t += 0.5
    meter.observe(text("a"))
    assert meter.ttft_s == 0.5
    for _ in range(10):
        clock.t += 0.1
        meter.observe(text("b"))
    assert meter.completion_tokens == 11 and not meter.exact
    assert abs(meter.live_tokens_per_s - 11 / 1.0) < 1e-6
    stats = meter.finish()
    assert stats.exact is False
    assert abs(stats.tokens_per_s - 10 / 1.0) < 1e-6


def test_exact_counts_and_server_duration_win():
    clock = Clock()
    meter = TokenMeter(clock=clock)
    meter.start()
    clock.t += 0.2
    meter.observe(text("x"))
    meter.observe(ChatChunk(done=True, eval_count=40, prompt_eval_count=12, eval_duration=2_000_000_000))
    stats = meter.finish()
    assert stats.exact and stats.completion_tokens == 40 and stats.prompt_tokens == 12
    assert stats.tokens_per_s == 20.0
    assert meter.session_completion_tokens == 40 and meter.session_prompt_tokens == 12


def test_sliding_window_forgets_old_tokens():
    clock = Clock()
    meter = TokenMeter(window_s=1.0, clock=clock)
    meter.start()
    for _ in range(5):
        meter.observe(text("a"))
    clock.t += 5
    meter.observe(text("b"))
    clock.t += 0.5
    assert meter.live_tokens_per_s == 1 / 1.0


def test_a_reply_that_arrives_at_once_gets_no_rate():
    """A tool call a server's parser buffered and sent in two chunks, 40 tokens 0.5 ms apart, is
    no measure of the model's speed (it read 80,000 tok/s); a server's own duration still is."""
    from a2ia_tui.core.monitor.tokens import MIN_RATE_SPAN_S

    clock = Clock()
    meter = TokenMeter(clock=clock)
    meter.start()
    clock.t += 0.3
    meter.observe(text("{"))
    clock.t += 0.0005
    meter.observe(text("}"))
    meter.observe(ChatChunk(done=True, eval_count=40, prompt_eval_count=12))
    stats = meter.finish()
    assert stats.completion_tokens == 40 and stats.tokens_per_s is None
    meter.start()
    meter.observe(text("a"))
    clock.t += 2 * MIN_RATE_SPAN_S
    meter.observe(text("b"))
    assert abs(meter.finish().tokens_per_s - 1 / (2 * MIN_RATE_SPAN_S)) < 1e-6
