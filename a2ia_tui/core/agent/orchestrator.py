"""The agent loop: stream a reply, run the tool calls it asks for, feed the results back, repeat.

``Orchestrator.run_turn(conversation)`` is an async iterator of :mod:`.events`. The caller has
already appended the user's message. Per step:

1. fit the messages to the backend's context window (:mod:`.context`: the oldest turns left out
   with a ``Notice``, or nothing sent), then stream ``client.stream_chat(messages, tools)``; text
   → ``TextDelta``, thinking → ``ThinkingDelta``; the client emits each tool call once, complete;
2. append the assistant message (with its tool calls) to the conversation;
3. for each call, in order: ``ToolCallRequested``; unknown tools, arguments that are not JSON and
   arguments that break the tool's JSON schema go back to the model as tool errors; calls that
   need approval yield ``ApprovalNeeded`` and wait for the UI's answer;
4. run the approved calls concurrently (they are independent by construction: the model asked
   for them together), ``ToolCallFinished`` as each ends, then append one ``role: "tool"``
   message per call, in call order, with its id; results over ``agent.max_tool_result_chars`` are
   truncated for the model (the UI keeps the full text);
5. loop until a reply has no tool calls (``TurnFinished``) or ``agent.max_steps`` is reached.

Tool calls are untrusted model output: a reply's calls beyond :data:`MAX_CALLS_PER_REPLY` are
dropped (with a ``Notice``, and a note to the model); a call the client marked ``refused`` (its
name or id was not a string) is answered with the reason and never run; ids repeated within a
reply are made unique so each result answers its own call. Tool results are made safe text
(``textsafe.scrub``) before they reach the conversation.

Modes: ``native`` sends tools to the server; ``react`` uses the text protocol of :mod:`.react`;
``auto`` is native until a backend rejects tools (vLLM's 400 without auto tool choice; Ollama's
400 "<model> does not support tools", remembered per model), then ReAct for that backend, with a
``Notice``. On a backend known not to pass tools to its model (the bundled llama.cpp engine),
``auto`` is ReAct or no tools from the start (:mod:`.toolsupport`), said once in a ``Notice``.

Cancellation (the consuming task cancelled, or the iterator closed): the HTTP stream is closed,
running tool calls are cancelled, the partial answer stays in the conversation marked
``interrupted`` (and cancelled calls get a "cancelled" result so the history stays valid), and
the next turn works. Backend errors end the turn with ``TurnFailed``; what arrived is kept,
marked ``failed``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import (
    A2IAError,
    BackendError,
    BackendProtocolError,
    StreamInterrupted,
)
from ..llm.base import LLMClient
from ..llm.types import FunctionCall, Message, ToolCall, ToolSpec
from ..monitor.tokens import TokenMeter
from ..textsafe import scrub
from ..tools.approval import ApprovalPolicy
from ..tools.hub import BUILTIN_NAME
from ..tools.secrets import INCLUDE_SECRETS, SecretRules
from . import react
from .chat_settings import ChatSettings
from .context import WINDOW_PROBE_S, ContextWindows
from .conversation import Conversation
from .events import (
    AgentEvent,
    Approval,
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
from .toolsupport import ToolProtocol, rejects_tools
from .toolsupport import decide as decide_protocol

if TYPE_CHECKING:
    from ..protocols import ToolHub

DECLINED = "The user declined this tool call."
DENIED = "This tool is disabled by the user's configuration."
CANCELLED = "The tool call was cancelled by the user."
#: The most tool calls one reply may make; the rest are dropped. A model that asks for thousands
#: at once is broken or hostile, and they would all hit the tool servers together.
MAX_CALLS_PER_REPLY = 32


@dataclass
class _Step:
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    done_reason: str = "stop"
    react_thought: str = ""
    react_retry: bool = False
    #: The step's assistant message is in the conversation already.
    recorded: bool = False
    #: Tool calls of this reply dropped over :data:`MAX_CALLS_PER_REPLY`.
    dropped: int = 0


class Orchestrator:
    def __init__(self, client: LLMClient, hub: ToolHub | None, settings: Settings) -> None:
        self.client = client
        self.hub = hub
        self.settings = settings
        self.mode: str = settings.agent.mode
        self.approvals = ApprovalPolicy(settings.tools, secrets=SecretRules.from_env(history_db=settings.history.path))
        self.meter = TokenMeter()
        #: With no one to answer approvals (a2ia-cli -p without a terminal): decline, unless auto_approve.
        self.interactive = True
        self.auto_approve = False
        self._react_backends: set[str] = set()
        self._protocol_said: set[tuple[str, ToolProtocol]] = set()
        self._react_seq = 0
        #: Set from the command line (--system, --temperature, ...): wins over the chat's settings.
        self.overrides = ChatSettings()
        self._notes_given: set[str] = set()
        #: The current chat's switched-off tools ("server" or "server/tool").
        self._tools_off: frozenset[str] = frozenset()
        #: Each backend's context window, and how many characters its tokens hold.
        self.windows = ContextWindows()

    # -- configuration -------------------------------------------------------------------------

    def set_client(self, client: LLMClient) -> None:
        """Swap the backend between turns; the conversation carries over unchanged."""
        self.client = client

    def tool_protocol(self) -> ToolProtocol:
        """What this backend's model gets: native calls, ReAct, no tools, or auto (see
        :mod:`.toolsupport`), with the reason shown to the user."""
        return decide_protocol(self.settings, self.client, self.mode)

    def chat_settings(self, conversation: Conversation) -> ChatSettings:
        """What the next request uses: the flags, then the chat's own settings, then the config."""
        configured = ChatSettings.from_config(self.settings.agent)
        return self.overrides.over(conversation.settings.over(configured))

    def uses_react(self) -> bool:
        mode = self.tool_protocol().mode
        return mode == "react" or (mode == "auto" and self._react_key() in self._react_backends)

    def _react_key(self) -> str:
        """What the auto-mode fallback is remembered for: the backend (a vLLM server either has a
        tool parser or not), and for Ollama the model too (tool support is per model there)."""
        if getattr(self.client, "kind", "") == "ollama":
            return f"{self.client.name}/{self.client.model}"
        return self.client.name

    def tool_specs(self) -> list[ToolSpec]:
        """The tools offered to the model: the hub's, less those the current chat turned off; none
        when this backend's model gets no tools (:mod:`.toolsupport`)."""
        if not self.settings.tools.enabled or self.hub is None or self.tool_protocol().mode == "off":
            return []
        if not self._tools_off:
            specs: list[ToolSpec] = self.hub.specs()
            return specs
        return [t.spec() for t in self.hub.tools() if not self._is_off(t)]

    def _is_off(self, tool: Any) -> bool:
        off = self._tools_off
        return bool(off) and (tool.server in off or f"{tool.server}/{tool.original_name}" in off)

    def _tool(self, name: str) -> Any | None:
        """The hub's tool of that name, unless the chat turned it off: then, like a name the
        hub never listed, a call of it is refused and the model is told."""
        tool = self.hub.tool(name) if self.hub is not None else None
        return None if tool is None or self._is_off(tool) else tool

    # -- the turn ------------------------------------------------------------------------------

    async def run_turn(self, conversation: Conversation) -> AsyncIterator[AgentEvent]:
        self._tools_off = conversation.tools_off
        steps = 0
        format_retries = 0
        protocol = self.tool_protocol()
        said = (self.client.name, protocol)
        if protocol.reason and self.hub is not None and said not in self._protocol_said:
            # once per backend and decision: why this model gets ReAct or no tools
            self._protocol_said.add(said)
            yield Notice(f"{self.client.name}: {protocol.label}: {protocol.reason}.", "info")
        while True:
            if steps >= self.settings.agent.max_steps:
                yield Notice(f"Stopped after {steps} tool steps (agent.max_steps); ask again to continue.", "warning")
                yield TurnFinished("max_steps")
                return
            steps += 1
            step = _Step()
            react_mode = self.uses_react() and bool(self.tool_specs())
            try:
                async for ev in self._stream(conversation, step, react_mode):
                    yield ev
            except BackendError as exc:
                if rejects_tools(exc) and self.mode == "auto" and not react_mode and not step.text:
                    self._react_backends.add(self._react_key())
                    yield Notice(
                        f"{self.client.name} does not accept native tool calls ({getattr(exc, 'message', exc)}); "
                        "using the ReAct text protocol for this backend.",
                        "warning",
                    )
                    steps -= 1
                    continue
                self._record_failure(conversation, step, exc)
                yield TurnFailed(exc, str(exc))
                return
            except (asyncio.CancelledError, GeneratorExit):
                self._record_partial(conversation, step, "interrupted")
                raise
            except Exception as exc:  # noqa: BLE001 - a client's bug on odd data must not end the app
                err = BackendProtocolError(
                    f"{self.client.name}: unexpected {type(exc).__name__} reading the reply: "
                    + " ".join(str(exc).split())[:200]
                )
                err.__cause__ = exc
                self._record_failure(conversation, step, err)
                yield TurnFailed(err, str(err))
                return
            if react_mode and step.react_retry:
                if format_retries < self.settings.agent.react_format_retries:
                    format_retries += 1
                    continue
            if not step.calls:
                yield TurnFinished(step.done_reason or "stop")
                return
            async for ev in self._run_calls(conversation, step.calls, react_mode, step.dropped):
                yield ev

    # -- the context window --------------------------------------------------------------------

    async def context_window(self) -> int | None:
        """The window the next request must fit, in tokens; None when the server does not say
        (see :mod:`.context`)."""
        return await self.windows.window(self.client, self.settings.agent)

    async def _learn_thinking_switch(self) -> None:
        """Let the client find out whether its model's template has a thinking switch (vLLM asks
        its /tokenize; the answer is kept), so the request carries it only where it does."""
        try:
            async with asyncio.timeout(WINDOW_PROBE_S):
                await self.client.thinking_switch()
        except (A2IAError, TimeoutError):
            pass  # no answer: the switch is sent as asked, with no claim either way

    # -- streaming one reply -------------------------------------------------------------------

    def _messages(self, conversation: Conversation, react_mode: bool) -> list[Message]:
        system = self.chat_settings(conversation).system_prompt
        msgs: list[Message] = []
        # An interrupted or failed step that produced nothing stays in the conversation for the
        # UI, but an empty assistant message means nothing to the model (and some chat templates
        # reject it): it is not sent.
        history = [
            m
            for m in conversation.messages
            if not (m.role == "assistant" and not m.content.strip() and not m.tool_calls)
        ]
        if react_mode:
            msgs.append(Message(role="system", content=react.system_prompt(self.tool_specs(), system)))
            for m in history:
                if m.role == "assistant" and m.tool_calls:
                    tc = m.tool_calls[0]
                    msgs.append(
                        Message(
                            role="assistant",
                            content=react.render_action(m.content.strip(), tc.name, tc.function.arguments),
                        )
                    )
                elif m.role == "tool":
                    msgs.append(Message(role="user", content=f"Observation: {m.content}"))
                elif m.role != "system":
                    msgs.append(Message(role=m.role, content=m.content, images=m.images))
            return msgs
        if system:
            msgs.append(Message(role="system", content=system))
        msgs.extend(history)
        return msgs

    async def _stream(self, conversation: Conversation, step: _Step, react_mode: bool) -> AsyncIterator[AgentEvent]:
        client = self.client
        tools = None if react_mode else (self.tool_specs() or None)
        parser = react.ReactStreamParser() if react_mode else None
        chat = self.chat_settings(conversation)
        if chat.think is not None:
            await self._learn_thinking_switch()
        options, note = client.sampling_options(top_p=chat.top_p, max_tokens=chat.max_tokens, think=chat.think)
        if note and note not in self._notes_given:  # once per backend and session, not every turn
            self._notes_given.add(note)
            yield Notice(note)
        messages = self._messages(conversation, react_mode)
        fitted = await self.windows.prepare(client, messages, tools, self.settings.agent, chat.max_tokens)
        if fitted.notice:
            yield Notice(fitted.notice, "warning")
        messages = fitted.messages
        if fitted.window and client.kind == "ollama":
            options["num_ctx"] = fitted.window
        meter = self.meter
        meter.start()
        async for chunk in client.stream_chat(messages, tools, temperature=chat.temperature, options=options or None):
            meter.observe(chunk)
            msg = chunk.message
            if msg.thinking:
                step.thinking.append(msg.thinking)
                yield ThinkingDelta(msg.thinking)
            if msg.content:
                if parser is None:
                    step.text.append(msg.content)
                    yield TextDelta(msg.content)
                else:
                    thinking, answer = parser.feed(msg.content)
                    if thinking:
                        yield ThinkingDelta(thinking)
                    if answer:
                        yield TextDelta(answer)
            if msg.tool_calls:
                self._take_calls(step, msg.tool_calls)
            if chunk.done and chunk.done_reason:
                step.done_reason = chunk.done_reason
        stats = meter.finish()
        if stats.exact:
            self.windows.learn(client, messages, stats.prompt_tokens)
        yield Usage(stats.prompt_tokens, stats.completion_tokens, stats.ttft_s, stats.tokens_per_s, stats.exact)
        if step.dropped:
            yield Notice(
                f"The model asked for {len(step.calls) + step.dropped} tool calls in one reply; only the first "
                f"{MAX_CALLS_PER_REPLY} are handled (the limit per reply), {step.dropped} were dropped.",
                "warning",
            )
        step.recorded = True
        meta = dict(
            backend=client.name,
            model=client.model,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            ttft_s=stats.ttft_s,
            tokens_per_s=stats.tokens_per_s,
            duration_s=stats.duration_s,
        )
        if parser is not None:
            thinking, answer, result = parser.finish()
            if thinking:
                yield ThinkingDelta(thinking)
            if answer:
                yield TextDelta(answer)
            step.thinking.append(parser.text)
            if result.kind in ("final", "plain"):
                conversation.add(Message(role="assistant", content=result.answer, thinking=parser.text), **meta)
            elif result.kind == "action":
                self._react_seq += 1
                call = ToolCall(
                    id=f"react_{self._react_seq}",
                    function=FunctionCall(name=result.action, arguments=result.action_input or {}),
                )
                step.calls.append(call)
                conversation.add(Message(role="assistant", content=result.thought, tool_calls=[call]), **meta)
            else:
                step.react_retry = True
                conversation.add(Message(role="assistant", content=parser.text), **meta)
                if self._retries_left(conversation):
                    yield Notice(
                        f"The model's reply did not follow the ReAct format ({result.error}); reminding it.", "warning"
                    )
                    conversation.add(
                        Message(role="user", content=react.FORMAT_REMINDER), extra={"react_reminder": True}
                    )
                else:
                    step.react_retry = False
            return
        conversation.add(
            Message(
                role="assistant",
                content="".join(step.text),
                thinking="".join(step.thinking) or None,
                tool_calls=list(step.calls),
            ),
            **meta,
        )

    @staticmethod
    def _take_calls(step: _Step, calls: list[ToolCall]) -> None:
        """Add a chunk's calls to the step: at most MAX_CALLS_PER_REPLY, each id unique."""
        seen = {c.id for c in step.calls} if step.calls else set()
        for call in calls:
            if len(step.calls) >= MAX_CALLS_PER_REPLY:
                step.dropped += 1
                continue
            if call.id in seen:
                call = call.model_copy(update={"id": f"{call.id}~{len(step.calls)}"})
            seen.add(call.id)
            step.calls.append(call)

    def _retries_left(self, conversation: Conversation) -> bool:
        used = 0
        for e in reversed(conversation.entries):
            if e.message.role == "user" and not e.meta.extra.get("react_reminder"):
                break
            if e.meta.extra.get("react_reminder"):
                used += 1
        return bool(used < self.settings.agent.react_format_retries)

    def _record_partial(self, conversation: Conversation, step: _Step, status: str, error: str | None = None) -> None:
        if step.recorded:
            return
        step.recorded = True
        conversation.add(
            Message(role="assistant", content="".join(step.text), thinking="".join(step.thinking) or None),
            backend=self.client.name,
            model=self.client.model,
            status=status,
            error=error,
            completion_tokens=self.meter.completion_tokens or None,
        )

    def _record_failure(self, conversation: Conversation, step: _Step, exc: A2IAError) -> None:
        if isinstance(exc, StreamInterrupted) and exc.partial_text and not step.text:
            step.text.append(exc.partial_text)
        self._record_partial(conversation, step, "failed", str(exc))

    # -- tool calls ----------------------------------------------------------------------------

    def _validate(self, call: ToolCall) -> str | None:
        """Why this call cannot run, or None."""
        if call.refused:
            return f"Error: this tool call was refused and not run: {call.refused}. Send the tool's name and the call's id as strings."
        if not call.valid:
            return (
                f"Error: the arguments of {call.name!r} are not valid JSON ({call.function.error}). Send a JSON object."
            )
        tool = self._tool(call.name)
        if tool is None:
            names = ", ".join(t.name for t in self.hub.tools()) if self.hub is not None else ""
            return f"Error: unknown tool {call.name!r}. Available tools: {names or 'none'}."
        if tool.input_schema:
            import jsonschema

            try:
                validator = jsonschema.validators.validator_for(tool.input_schema)(tool.input_schema)
                error = next(
                    iter(sorted(validator.iter_errors(call.function.arguments), key=lambda e: list(e.path))), None
                )
            except Exception:  # noqa: BLE001 - SchemaError, or a bad pattern/type/$ref met while validating
                error = None  # a server with a broken schema: let the server judge
            if error is not None:
                where = "/".join(str(p) for p in error.path) or "(root)"
                return f"Error: invalid arguments for {call.name!r} at {where}: {error.message}"
        return None

    async def _approve(self, request: ToolCallRequested) -> AsyncIterator[AgentEvent | Approval]:
        tool = self._tool(request.name)
        decision, reason = self.approvals.decide(
            request.name,
            original=tool.original_name if tool else None,
            destructive=tool.destructive if tool else False,
            arguments=request.arguments,
            builtin=bool(tool and tool.server == BUILTIN_NAME),
        )
        if decision != "ask":
            yield Approval.ALLOW if decision == "allow" else Approval.DENY
            return
        if not self.interactive:
            yield Approval.ALLOW if self.auto_approve else Approval.DENY
            return
        future: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()
        yield ApprovalNeeded(request, future, reason)
        answer = await future
        if answer == Approval.ALWAYS:
            self.approvals.allow_for_session(request.name, reason)
        yield answer

    async def _run_calls(
        self, conversation: Conversation, calls: list[ToolCall], react_mode: bool, dropped: int = 0
    ) -> AsyncIterator[AgentEvent]:
        results: dict[str, tuple[str, bool, float]] = {}
        runnable: list[ToolCall] = []
        tasks: dict[asyncio.Task[tuple[str, bool, float]], ToolCall] = {}
        try:
            for call in calls:
                tool = self._tool(call.name)
                request = ToolCallRequested(
                    call.id,
                    call.name,
                    dict(call.function.arguments),
                    tool.server if tool else "",
                    call.function.raw_arguments if not call.valid else None,
                )
                yield request
                problem = self._validate(call)
                if problem:
                    results[call.id] = (problem, True, 0.0)
                    yield ToolCallFinished(call.id, problem, True, 0.0, name=call.name)
                    continue
                answer = Approval.ALLOW
                async for item in self._approve(request):
                    if isinstance(item, Approval):
                        answer = item
                    else:
                        yield item
                if answer == Approval.DENY:
                    decision, _ = self.approvals.decide(call.name, original=tool.original_name if tool else None)
                    text = DENIED if decision == "deny" else DECLINED
                    results[call.id] = (text, True, 0.0)
                    yield ToolCallFinished(call.id, text, True, 0.0, name=call.name)
                    continue
                runnable.append(call)
            for call in runnable:
                arguments = dict(call.function.arguments)
                tool = self._tool(call.name)
                builtin = bool(tool and tool.server == BUILTIN_NAME)
                if self.approvals.secret_reason(tool.original_name if tool else None, arguments, builtin):
                    # Allowed (asked, or by policy): the server reads secrets only with this flag.
                    arguments[INCLUDE_SECRETS] = True
                tasks[asyncio.create_task(self._call(call, arguments))] = call
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    call = tasks[task]
                    text, is_error, duration = task.result()
                    results[call.id] = (text, is_error, duration)
                    cap = self.settings.agent.max_tool_result_chars
                    yield ToolCallFinished(
                        call.id, text, is_error, duration, truncated_for_model=len(text) > cap, name=call.name
                    )
        except (asyncio.CancelledError, GeneratorExit):
            for task in tasks:
                task.cancel()
            self._append_results(conversation, calls, results, cancelled=True, dropped=dropped)
            raise
        self._append_results(conversation, calls, results, dropped=dropped)

    async def _call(self, call: ToolCall, arguments: dict[str, Any] | None = None) -> tuple[str, bool, float]:
        t0 = time.perf_counter()
        # Calls reach here only for tools the hub listed; with no hub every name is refused earlier.
        assert self.hub is not None
        try:
            result = await self.hub.call(
                call.name, arguments if arguments is not None else dict(call.function.arguments)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tool failure goes back to the model
            return scrub(f"Error: {exc}"), True, time.perf_counter() - t0
        # A tool server's text is untrusted: a lone surrogate in it would break every later save
        # of the chat and the next request's JSON.
        return scrub(result.text), result.is_error, time.perf_counter() - t0

    def _append_results(
        self,
        conversation: Conversation,
        calls: list[ToolCall],
        results: dict[str, tuple[str, bool, float]],
        cancelled: bool = False,
        dropped: int = 0,
    ) -> None:
        cap = self.settings.agent.max_tool_result_chars
        for i, call in enumerate(calls):
            text, is_error, duration = results.get(call.id, (CANCELLED, True, 0.0))
            for_model = text
            if len(text) > cap:
                for_model = (
                    text[:cap]
                    + f"\n[... truncated: the result had {len(text)} characters; {len(text) - cap} were cut for the model]"
                )
            if is_error and not for_model.lower().startswith("error"):
                for_model = f"Error: {for_model}"
            if dropped and i == len(calls) - 1:
                for_model += (
                    f"\n[Note: your reply asked for {len(calls) + dropped} tool calls; only the first "
                    f"{MAX_CALLS_PER_REPLY} were handled, the other {dropped} were not run.]"
                )
            tool = self._tool(call.name)
            conversation.add(
                Message(role="tool", content=for_model, tool_call_id=call.id, tool_name=call.name),
                backend=self.client.name,
                is_error=is_error,
                duration_s=duration,
                full_result=text if len(text) > cap else None,
                status="interrupted" if cancelled and call.id not in results else "complete",
                # the server that ran it, for the trace of a reopened chat
                extra={"server": tool.server} if tool is not None and tool.server else {},
            )
