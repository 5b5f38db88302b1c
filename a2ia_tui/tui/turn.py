"""The turn: the orchestrator's events mapped to the app's widgets.

One :class:`TurnView` per turn (the app's "turn" worker builds it and feeds it each event):

- text → the answer's streaming Markdown widget (its frames batched by the widget), the time to
  the first token and the live tokens/s → the status bar;
- thinking → the answer's thinking block;
- a tool call → a trace item (and a line in the chat); an approval request → the trace item's
  question (the trace is shown if hidden: its y / n keys live there), offered the keyboard
  only when no key meant for the prompt can land on it (see ``A2IAApp._offer_approval``);
- usage → the status bar; notices → chat notes; the end → the answer's final state.

The answer's widget is mounted as soon as the request has gone out, in a task of its own, so
building and laying it out overlaps the server's time to its first token.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..core.agent.events import (
    AgentEvent,
    ApprovalNeeded,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFailed,
    TurnFinished,
    Usage,
)
from .widgets.messages import AssistantMessage
from .widgets.prompt import Prompt

if TYPE_CHECKING:
    from ..core.llm.base import LLMClient
    from ..core.monitor.tokens import TokenMeter
    from .app import A2IAApp

#: During a stream, hand the event loop to the UI at least once per this many text deltas.
YIELD_EVERY = 32


class TurnView:
    """Shows one turn's events. ``question``: the user's text when the chat does not show it
    yet (it is then mounted with the answer's widget, in one layout)."""

    def __init__(
        self, app: A2IAApp, client: LLMClient, meter: TokenMeter, question: str | None, typed: str | None = None
    ) -> None:
        self.app = app
        self.client = client
        self.meter = meter
        self.question = question
        #: The prompt's text, when it differs from the question shown (attachments listed under it).
        self.typed = typed if typed is not None else question
        self.chat, self.trace, self.status = app.chat, app.trace, app.status
        self.msg: AssistantMessage | None = None
        self.started = time.monotonic()
        self.first: float | None = None
        self.pieces = 0
        #: The pieces the server's usage figures cover (its Usage came after them).
        self.counted = 0
        self._mounting: asyncio.Future[AssistantMessage] | None = asyncio.ensure_future(self._mount())

    async def _mount(self) -> AssistantMessage:
        # The answer's widget (its header names backend:model) shows at once that an answer is coming.
        client, question = self.client, self.question
        if question is None:
            return await self.chat.add_assistant(client.name, client.model)
        answer = self.chat.add_exchange(question, client.name, client.model)
        await answer.mounted.wait()
        self.app.query_one(Prompt).take(self.typed or question)  # cleared in the refresh that shows the question
        return answer

    async def _answer(self) -> AssistantMessage:
        """The answer the text goes to (mounted if there is none yet), with its frames started."""
        msg = self.msg
        if msg is None:
            msg = await self.chat.add_assistant(self.client.name, self.client.model)
        msg.start_streaming()
        self.msg = msg
        self.status.set(streaming=True)  # (again after a tool call)
        return msg

    async def show(self, ev: AgentEvent) -> None:
        if self._mounting is not None:  # the first event: the answer's widget is needed now
            # shielded: Esc now must not stop the mount half-way (it is finished in cancelled())
            self.msg = await asyncio.shield(self._mounting)
            self._mounting = None
        msg = self.msg
        if isinstance(ev, TextDelta):
            if msg is None or not msg.streaming:
                msg = await self._answer()
            msg.append(ev.text)
            self.pieces += 1
            if self.first is None:
                self.first = time.monotonic()
                self.status.set(ttft=self.first - self.started, streaming=True)
            elif not self.pieces % YIELD_EVERY:
                # a fast server fills the socket buffer, and reading buffered data never
                # suspends: let keys, timers and frames run during a flood
                await asyncio.sleep(0)
            elif not self.pieces % 8:  # the live figure is shown once a second at most
                if time.monotonic() - self.first > 0.2:
                    # the meter counts tokens (a merged chunk carries several)
                    self.status.set(force=False, tps=self.meter.live_tokens_per_s)
        elif isinstance(ev, ThinkingDelta):
            if msg is None or not msg.streaming:
                msg = await self._answer()
            msg.append_thinking(ev.text)
        elif isinstance(ev, ToolCallRequested):
            self.status.set(streaming=False)  # the model's reply is over: tools run, or wait for a yes
            if msg is not None:
                if msg.empty:  # the reply was only the call: no answer to show
                    await msg.remove()
                else:
                    await msg.finish()
                self.msg = None
            self.app.chats.save()
            self.chat.add_tool_note(ev.name)
            await self.trace.add_call(ev)
        elif isinstance(ev, ApprovalNeeded):
            await self.app.show_approval(ev)
        elif isinstance(ev, ToolCallFinished):
            self.trace.finish(ev)
            self.app.focus_prompt_if_idle()
        elif isinstance(ev, Usage):
            self.counted = self.pieces
            self.status.set(
                tps=ev.tokens_per_s, ttft=ev.ttft_s, tokens_in=ev.prompt_tokens, tokens_out=ev.completion_tokens
            )
            self.app.chats.save()
        elif isinstance(ev, Notice):
            if msg is not None and msg.empty:  # the note goes before the answer
                await msg.remove()
                self.msg = None
            self.chat.add_note(ev.text, ev.level)
        elif isinstance(ev, TurnFinished):
            if msg is not None:
                await msg.finish("interrupted" if ev.reason == "cancelled" else "complete")
                self.msg = None
        elif isinstance(ev, TurnFailed):
            if msg is not None:
                await msg.finish("failed", ev.message or str(ev.error))
                self.msg = None
            else:
                self.chat.add_note(f"✗ {ev.message or ev.error}", "error")

    async def cancelled(self) -> None:
        """Escape (or a switch, a new chat, quitting) stopped the turn."""
        if self._mounting is not None:  # stopped before the first event
            self.msg = await self._mounting
        if self.msg is not None:
            await self.msg.finish("interrupted")
        self.trace.cancel_all()

    def end(self) -> None:
        if self.pieces > self.counted:
            # stopped or failed mid-answer: no usage came; what streamed is counted here, and
            # the prompt (so the context) is unknown: "in ? / out N  ctx ?/max", not "ctx 0"
            self.status.set(tokens_in=None, tokens_out=self.meter.completion_tokens)
        self.status.set(streaming=False, note=None)
