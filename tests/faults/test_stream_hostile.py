"""Hostile stream data (issue 16 "Trust"): wrong-typed values anywhere in an OpenAI SSE
``chat.completion.chunk`` or an Ollama ``/api/chat`` NDJSON line, unknown fields, nulls, lone
surrogates, cut-off streams, giant lines, thousands of tool calls.

The rules under test: the only exceptions are :class:`A2IAError` subclasses with a one-line
message; every chunk that comes out is well typed and free of lone surrogates; a tool call whose
name or id is not a string is refused (the model is told), never run; a cut-off OpenAI stream is
interrupted and its tool call never runs; a line over the limit and a reply with thousands of tool
calls are stopped or capped with a clear message.

Property tests feed the clients through ``httpx.MockTransport`` (fast, the exact bytes); the
orchestrator-level tests run over a real loopback TCP server that sends raw bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import Notice, ToolCallFinished, TurnFailed, TurnFinished
from a2ia_tui.core.agent.orchestrator import MAX_CALLS_PER_REPLY, Orchestrator
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.errors import A2IAError, BackendProtocolError, StreamInterrupted
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import ChatChunk, Message
from a2ia_tui.core.tools.hub import HubTool, ToolResult

USER = [Message(role="user", content="x")]
SURROGATES = ["\ud800", "\udfff", "\udbff", "\udc00", "\ud83d"]


def property_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- strategies ------------------------------------------------------------------------------------

SURROGATE_TEXT = st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=3), st.sampled_from(SURROGATES), st.text(max_size=3)
)
#: Any JSON value of the wrong kind for a field (and some right ones: a field may be fine).
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    SURROGATE_TEXT,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just([[[[[[[[[[[]]]]]]]]]]]),
)
TEXT = st.one_of(st.text(max_size=6), SURROGATE_TEXT, st.just(""), st.just("\x1b]52;c;aGk=\x07"))
ARG_TEXT = st.one_of(
    st.just('{"text": "hi"}'),
    st.just('{"text": "\\ud800"}'),  # an escape inside the argument JSON: a surrogate once parsed
    st.just('{"te'),
    st.just('xt": "x"}'),
    st.just("[1, 2]"),
    st.just('{"a":' * 200 + "1" + "}" * 200),
    st.text(max_size=5),
)


def field(good: st.SearchStrategy) -> st.SearchStrategy:
    """Usually the right kind of value, often anything at all."""
    return st.one_of(good, good, HOSTILE)


# OpenAI SSE chat.completion.chunk
O_FN = st.fixed_dictionaries(
    {}, optional={"name": field(st.sampled_from(["echo", "nope", ""])), "arguments": field(ARG_TEXT)}
)
O_TOOL_DELTA = st.fixed_dictionaries(
    {},
    optional={
        "index": field(st.integers(0, 3)),
        "id": field(st.sampled_from(["c0", "c1", "chatcmpl-tool-9"])),
        "type": field(st.just("function")),
        "function": field(O_FN),
    },
)
O_DELTA = st.fixed_dictionaries(
    {},
    optional={
        "role": field(st.just("assistant")),
        "content": field(TEXT),
        "reasoning": field(TEXT),
        "reasoning_content": field(TEXT),
        "tool_calls": field(st.lists(O_TOOL_DELTA, max_size=3)),
        "x_unknown": HOSTILE,
    },
)
O_CHOICE = st.fixed_dictionaries(
    {},
    optional={
        "index": field(st.just(0)),
        "delta": field(O_DELTA),
        "finish_reason": field(st.sampled_from(["stop", "length", "tool_calls"])),
        "logprobs": HOSTILE,
        "stop_reason": HOSTILE,
    },
)
O_USAGE = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": field(st.integers(0, 10**6)),
        "completion_tokens": field(st.integers(0, 10**6)),
        "total_tokens": HOSTILE,
    },
)
O_EVENT = st.fixed_dictionaries(
    {},
    optional={
        "id": HOSTILE,
        "object": field(st.just("chat.completion.chunk")),
        "model": field(st.just("m")),
        "choices": field(st.lists(O_CHOICE, max_size=2)),
        "usage": field(O_USAGE),
        "x_new": HOSTILE,
    },
)
O_ERROR = st.one_of(
    st.fixed_dictionaries({"error": HOSTILE}),
    st.fixed_dictionaries({"object": st.just("error"), "message": HOSTILE}),
)
O_STREAM = st.tuples(
    st.lists(st.one_of(O_EVENT, O_EVENT, O_EVENT, O_EVENT, HOSTILE, O_ERROR), max_size=6),
    st.sampled_from(["done", "finish", "cut"]),
)

# Ollama /api/chat NDJSON
N_FN = st.fixed_dictionaries(
    {},
    optional={
        "name": field(st.sampled_from(["echo", "nope", ""])),
        "arguments": field(st.one_of(st.fixed_dictionaries({"text": TEXT}), ARG_TEXT)),
        "index": field(st.integers(0, 3)),
    },
)
N_CALL = st.fixed_dictionaries({}, optional={"id": field(st.sampled_from(["a", "b"])), "function": field(N_FN)})
N_MSG = st.fixed_dictionaries(
    {},
    optional={
        "role": field(st.just("assistant")),
        "content": field(TEXT),
        "thinking": field(TEXT),
        "tool_calls": field(st.lists(N_CALL, max_size=3)),
        "images": HOSTILE,
    },
)
N_LINE = st.fixed_dictionaries(
    {},
    optional={
        "model": field(st.just("m")),
        "created_at": HOSTILE,
        "message": field(N_MSG),
        "done": field(st.just(False)),
    },
)
STATS = ("prompt_eval_count", "eval_count", "total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
N_FINAL = st.fixed_dictionaries(
    {"done": st.just(True)},
    optional={
        "done_reason": field(st.sampled_from(["stop", "length"])),
        "message": field(N_MSG),
        "model": field(st.just("m")),
        **{k: field(st.integers(0, 10**12)) for k in STATS},
        "x_new": HOSTILE,
    },
)
N_STREAM = st.tuples(
    st.lists(st.one_of(N_LINE, N_LINE, N_LINE, N_LINE, HOSTILE, st.fixed_dictionaries({"error": HOSTILE})), max_size=6),
    st.one_of(N_FINAL, st.none()),
)


def sse(events: list[Any], ending: str = "done") -> bytes:
    out = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]  # ensure_ascii: "\ud800" escapes
    if ending in ("done", "finish"):
        out.append(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    if ending == "done":
        out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def ndjson(lines: list[Any], final: Any = None) -> bytes:
    return b"".join(json.dumps(x).encode() + b"\n" for x in [*lines, *([final] if final is not None else [])])


# -- checks ----------------------------------------------------------------------------------------


async def consume(cls, url: str, body: bytes) -> tuple[list[ChatChunk], A2IAError | None]:
    """Every chunk the client yields, and the A2IAError that ended the stream (anything else
    propagates and fails the test)."""
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    chunks: list[ChatChunk] = []
    async with cls(url, model="m", transport=transport) as client:
        try:
            async for chunk in client.stream_chat(USER):
                chunks.append(chunk)
        except A2IAError as exc:
            return chunks, exc
    return chunks, None


def utf8_safe(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def assert_well_formed(chunks: list[ChatChunk], error: A2IAError | None) -> None:
    for c in chunks:
        m = c.message
        assert type(c.model) in (str, type(None))
        assert type(m.content) is str and type(m.thinking) in (str, type(None))
        assert type(c.done_reason) in (str, type(None))
        for k in STATS:
            assert type(getattr(c, k)) in (int, type(None)), (k, getattr(c, k))
        for call in m.tool_calls:
            assert type(call.id) is str and type(call.function.name) is str
            assert isinstance(call.function.arguments, dict)
        # no lone surrogate anywhere: the whole chunk encodes as UTF-8
        assert utf8_safe(json.dumps(c.model_dump(mode="json"), ensure_ascii=False))
    if error is None:
        assert [c.done for c in chunks].count(True) == 1 and chunks[-1].done
    else:
        text = str(error)
        assert "\n" not in text and text.strip() and utf8_safe(text), text
        assert utf8_safe(getattr(error, "partial_text", ""))


# -- property tests: the clients -------------------------------------------------------------------


@property_settings(1000)
@given(O_STREAM)
def test_openai_hostile_events_never_crash(stream):
    events, ending = stream
    chunks, error = asyncio.run(consume(OpenAIClient, "http://s/v1", sse(events, ending)))
    assert_well_formed(chunks, error)
    if ending == "cut" and error is None:
        # complete only when an event itself carried a finish_reason
        assert any(isinstance(e, dict) and isinstance(e.get("choices"), list) for e in events)


@property_settings(1000)
@given(N_STREAM)
def test_ollama_hostile_lines_never_crash(stream):
    lines, final = stream
    chunks, error = asyncio.run(consume(OllamaClient, "http://o", ndjson(lines, final)))
    assert_well_formed(chunks, error)
    if final is None and error is None:
        # no final line: complete only when a generated line itself said done (HOSTILE can
        # produce {"done": true})
        assert any(isinstance(x, dict) and x.get("done") is True for x in lines)


def bad(value: Any) -> bool:
    """Present (not null, not "") and not a string: the call must be refused."""
    return value is not None and value != "" and not isinstance(value, str)


WHOLE_CALL = st.tuples(field(st.sampled_from(["c0", "c1", "x"])), field(st.sampled_from(["echo", "rm"])), st.booleans())


@property_settings(400)
@given(st.lists(WHOLE_CALL, min_size=1, max_size=4))
def test_openai_call_with_a_name_or_id_not_text_is_refused(calls):
    deltas = [
        {"index": i, "id": cid, "type": "function", "function": {"name": name, "arguments": '{"text": "a"}'}}
        if fn_ok
        else {"index": i, "id": cid, "function": name}  # the function itself of a wrong kind
        for i, (cid, name, fn_ok) in enumerate(calls)
    ]
    body = sse([{"choices": [{"index": 0, "delta": {"tool_calls": deltas}, "finish_reason": "tool_calls"}]}])
    chunks, error = asyncio.run(consume(OpenAIClient, "http://s/v1", body))
    assert error is None
    got = [tc for c in chunks for tc in c.message.tool_calls]
    assert len(got) == len(calls)
    for (cid, name, fn_ok), tc in zip(calls, got, strict=True):
        must_refuse = bad(cid) or (bad(name) if fn_ok else name is not None and not isinstance(name, dict))
        assert (tc.refused is not None) == must_refuse, (cid, name, fn_ok, tc)


@property_settings(400)
@given(st.lists(WHOLE_CALL, min_size=1, max_size=4))
def test_ollama_call_with_a_name_or_id_not_text_is_refused(calls):
    items = [
        {"id": cid, "function": {"name": name, "arguments": {"text": "a"}}} if fn_ok else {"id": cid, "function": name}
        for cid, name, fn_ok in calls
    ]
    body = ndjson(
        [{"message": {"role": "assistant", "content": "", "tool_calls": items}, "done": False}], {"done": True}
    )
    chunks, error = asyncio.run(consume(OllamaClient, "http://o", body))
    assert error is None
    got = [tc for c in chunks for tc in c.message.tool_calls]
    assert len(got) == len(calls)
    for (cid, name, fn_ok), tc in zip(calls, got, strict=True):
        must_refuse = bad(cid) or (bad(name) if fn_ok else name is not None and not isinstance(name, dict))
        assert (tc.refused is not None) == must_refuse, (cid, name, fn_ok, tc)


# -- named variants: the clients -------------------------------------------------------------------


def delta(d: dict, finish: object = None) -> dict:
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


@pytest.mark.parametrize(
    "event",
    [
        delta({"reasoning": 5, "content": "ok"}),
        delta({"reasoning": ["a"], "reasoning_content": "kept"}),
        delta({"content": "ok"}, finish=7),
        delta({"content": "ok"}, finish=["stop"]),
        {"choices": [], "usage": [1, 2]},
        {"choices": [], "usage": "lots"},
        {"choices": [], "usage": {"prompt_tokens": "12", "completion_tokens": 3.5}},
        {"choices": [], "usage": {"prompt_tokens": True, "completion_tokens": -4}},
        {**delta({"content": "ok"}), "model": 42},
        delta({"tool_calls": {"not": "a list"}}),
        delta({"tool_calls": 3}),
        delta(
            {
                "tool_calls": [
                    {"index": "0", "id": "a", "function": {"name": "f", "arguments": "{}"}},
                    {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
                ]
            }
        ),
        delta({"tool_calls": [{"index": [0], "id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
        delta({"tool_calls": [{"index": 1.5, "id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
        delta({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": {"x": [1]}}}]}),
    ],
)
async def test_openai_wrong_typed_optional_fields_are_ignored(event):
    chunks, error = await consume(OpenAIClient, "http://s/v1", sse([event]))
    assert error is None
    assert_well_formed(chunks, error)


@pytest.mark.parametrize("content", [5, 0.5, True, ["a"], {"t": "a"}])
@pytest.mark.parametrize("with_other", [False, True])  # the fast path (content only) and the other
async def test_openai_content_that_is_not_text_is_a_protocol_error(content, with_other):
    event = delta({"content": content, **({"reasoning": "r"} if with_other else {})})
    chunks, error = await consume(OpenAIClient, "http://s/v1", sse([delta({"content": "fine "}), event]))
    assert isinstance(error, BackendProtocolError) and "not text" in str(error), error
    assert_well_formed(chunks, error)
    assert "".join(c.message.content for c in chunks) == "fine "  # what came before is not lost


@pytest.mark.parametrize("content", [5, True, ["a"], {"t": "a"}])
@pytest.mark.parametrize("extra", [{}, {"thinking": "t"}, {"tool_calls": [{"function": {"name": "f"}}]}])
async def test_ollama_content_that_is_not_text_is_a_protocol_error(content, extra):
    before = {"message": {"role": "assistant", "content": "fine "}, "done": False}
    line = {"message": {"role": "assistant", "content": content, **extra}, "done": False}
    chunks, error = await consume(OllamaClient, "http://o", ndjson([before, line], {"done": True}))
    assert isinstance(error, BackendProtocolError) and "not text" in str(error), error
    assert "".join(c.message.content for c in chunks) == "fine "  # what came before is not lost


@pytest.mark.parametrize(
    "final",
    [
        {"done": True, "eval_count": "12", "prompt_eval_count": [1], "total_duration": 1.5},
        {"done": True, "eval_duration": -1, "load_duration": {"ns": 1}, "done_reason": 3},
        {"done": True, "message": {"role": "assistant", "content": "", "thinking": 7}},
        {"done": True, "message": {"role": "assistant", "content": "", "tool_calls": "none"}},
        {"done": True, "model": ["m"]},
    ],
)
async def test_ollama_wrong_typed_optional_fields_are_ignored(final):
    line = {"model": 1, "message": {"role": "assistant", "content": "a", "thinking": 2.5}, "done": False}
    chunks, error = await consume(OllamaClient, "http://o", ndjson([line], final))
    assert error is None
    assert_well_formed(chunks, error)
    assert "".join(c.message.content for c in chunks) == "a"


async def test_lone_surrogates_in_content_reasoning_and_arguments_are_replaced():
    events = [
        delta({"reasoning": "think\ud800"}),
        delta({"content": "a\udfffb"}),
        delta(
            {
                "tool_calls": [
                    {"index": 0, "id": "c\ud800", "function": {"name": "echo", "arguments": '{"text": "\\ud800'}}
                ]
            }
        ),
        delta({"tool_calls": [{"index": 0, "function": {"arguments": '\\ud800x"}'}}]}, "tool_calls"),
    ]
    chunks, error = await consume(OpenAIClient, "http://s/v1", sse(events))
    assert error is None
    assert_well_formed(chunks, error)
    assert "".join(c.message.content for c in chunks) == "a\ufffdb"
    (call,) = [tc for c in chunks for tc in c.message.tool_calls]
    assert call.function.arguments == {"text": "\ufffd\ufffdx"} and call.id == "c\ufffd"
    line = {
        "message": {
            "role": "assistant",
            "content": "x\ud83d",
            "thinking": "\udbff",
            "tool_calls": [{"function": {"name": "echo", "arguments": {"t\ud800": ["\udfff"]}}}],
        },
        "done": False,
    }
    chunks, error = await consume(OllamaClient, "http://o", ndjson([line], {"done": True}))
    assert error is None
    assert_well_formed(chunks, error)
    (call,) = [tc for c in chunks for tc in c.message.tool_calls]
    assert call.function.arguments == {"t\ufffd": ["\ufffd"]}


@pytest.mark.parametrize("depth", [65, 500, 5000])
async def test_arguments_nested_too_deeply_are_refused_not_a_crash(depth):
    args = '{"a":' * depth + "1" + "}" * depth
    body = sse(
        [
            delta(
                {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "echo", "arguments": args}}]}, "tool_calls"
            )
        ]
    )
    chunks, error = await consume(OpenAIClient, "http://s/v1", body)
    assert error is None
    (call,) = [tc for c in chunks for tc in c.message.tool_calls]
    assert not call.valid and "nested" in call.function.error
    nested: Any = 1
    for _ in range(min(depth, 900)):
        nested = {"a": nested}
    line = {
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "echo", "arguments": nested}}],
        }
    }
    chunks, error = await consume(OllamaClient, "http://o", ndjson([line], {"done": True}))
    assert_well_formed(chunks, error)


@pytest.mark.parametrize("nesting", [2_000, 200_000])
async def test_an_event_nested_past_the_recursion_limit_is_skipped(nesting):
    junk = b"data: " + b"[" * nesting + b"]" * nesting + b"\n\n"
    body = sse([delta({"content": "a"})], "none") + junk + sse([delta({"content": "b"}, "stop")])
    chunks, error = await consume(OpenAIClient, "http://s/v1", body)
    assert error is None and "".join(c.message.content for c in chunks) == "ab"
    chunks, error = await consume(
        OllamaClient, "http://o", b"[" * nesting + b"]" * nesting + b"\n" + ndjson([], {"done": True})
    )
    assert error is None


# -- a raw loopback server -------------------------------------------------------------------------


class RawServer:
    """Real TCP on 127.0.0.1: answers every chat request with 200 and ``bodies[i]`` (the last one
    repeats), sent in pieces, then closes the connection (a clean end of the body). Anything else
    (the model list, /api/show: what a client asks to learn the context window) is a 404, as on a
    server that does not say."""

    def __init__(self, *bodies: bytes, content_type: str = "text/event-stream", other: bytes | None = None) -> None:
        self.bodies = list(bodies)
        #: With ``other``, the non-chat requests get 200 and this body instead of a 404.
        self.other = other
        self.content_type = content_type
        self.requests: list[dict] = []
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
            )
            payload = await reader.readexactly(length) if length else b""
            path = head.split(b" ", 2)[1]
            if not path.endswith((b"/chat/completions", b"/api/chat")):
                if self.other is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(self.other)).encode()
                        + b"\r\nConnection: close\r\n\r\n"
                        + self.other
                    )
                return
            self.requests.append(json.loads(payload) if payload else {})
            body = self.bodies[min(len(self.requests) - 1, len(self.bodies) - 1)]
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: " + self.content_type.encode() + b"\r\nConnection: close\r\n\r\n"
            )
            for i in range(0, len(body), 65536):
                writer.write(body[i : i + 65536])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up (as it should, past a limit)
        finally:
            writer.close()


class RecordingHub:
    """Just enough of MCPHub: one tool, ``echo(text)``, and a record of every call run."""

    def __init__(self, result: str | None = None) -> None:
        self._tools = [
            HubTool(
                "echo",
                "toy",
                "echo",
                "Echo",
                {"type": "object", "properties": {"text": {"type": "string"}}},
                True,
                False,
            )
        ]
        self.calls: list[tuple[str, dict]] = []
        self.result = result

    def tools(self):
        return self._tools

    def specs(self):
        return [t.spec() for t in self._tools]

    def tool(self, name):
        return next((t for t in self._tools if t.name == name), None)

    async def call(self, name, args):
        self.calls.append((name, args))
        return ToolResult(self.result if self.result is not None else str(args.get("text")), False)


def orchestrator(client, hub) -> Orchestrator:
    orch = Orchestrator(client, hub, load_settings(env={}).settings)
    orch.mode = "native"
    orch.interactive = False
    orch.auto_approve = True
    return orch


async def turn(orch: Orchestrator) -> tuple[list, Conversation]:
    conv = Conversation()
    conv.add_user("go")
    events = [ev async for ev in orch.run_turn(conv)]
    return events, conv


FINAL_SSE = sse([delta({"content": "done"}, "stop")])
FINAL_ND = ndjson([{"message": {"role": "assistant", "content": "done"}, "done": False}], {"done": True})


def call_delta(i: int, cid: Any = None, name: Any = "echo", args: str = '{"text": "hi"}') -> dict:
    return {
        "index": i,
        "id": f"c{i}" if cid is None else cid,
        "type": "function",
        "function": {"name": name, "arguments": args},
    }


# -- orchestrator: cut-off stream, thousands of calls, giant lines, refused calls ------------------


@pytest.mark.parametrize(
    "tail",
    [
        b"",  # EOF right after an argument fragment
        b": keep-alive\n\n",
        b'data: {"choices": []}\n\n',
        b"data: [DON",  # the [DONE] itself cut
        b'data: {"choices":[{"index":0,"delta":{"content":"more"}}]}',  # an event without its blank line
    ],
)
async def test_a_cut_off_openai_stream_is_interrupted_and_its_tool_call_never_runs(tail):
    body = (
        sse(
            [
                delta({"content": "removing it"}),
                delta({"tool_calls": [call_delta(0, args='{"text": "/tmp/x')]}),
                delta({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]}),
            ],
            "cut",
        )
        + tail
    )
    hub = RecordingHub()
    async with RawServer(body, FINAL_SSE) as srv:
        client = OpenAIClient(f"http://127.0.0.1:{srv.port}/v1", model="m")
        events, conv = await turn(orchestrator(client, hub))
        await client.aclose()
    assert hub.calls == []
    (failed,) = [e for e in events if isinstance(e, TurnFailed)]
    assert isinstance(failed.error, StreamInterrupted) and "finish_reason" in failed.message
    last = conv.entries[-1]
    assert last.message.role == "assistant" and last.meta.status == "failed" and not last.message.tool_calls
    assert last.message.content.startswith("removing it")
    assert len(srv.requests) == 1  # nothing was sent back to the model


@pytest.mark.parametrize("flavor", ["openai", "ollama"])
@pytest.mark.parametrize("n", [MAX_CALLS_PER_REPLY + 1, 10_000])
async def test_thousands_of_tool_calls_in_one_reply_are_capped(flavor, n):
    hub = RecordingHub()
    if flavor == "openai":
        first = sse([delta({"tool_calls": [call_delta(i) for i in range(n)]}, "tool_calls")])
        cls, path, final = OpenAIClient, "/v1", FINAL_SSE
    else:
        calls = [{"function": {"name": "echo", "arguments": {"text": "hi"}}} for _ in range(n)]
        first = ndjson(
            [{"message": {"role": "assistant", "content": "", "tool_calls": calls}, "done": False}], {"done": True}
        )
        cls, path, final = OllamaClient, "", FINAL_ND
    async with RawServer(first, final) as srv:
        client = cls(f"http://127.0.0.1:{srv.port}{path}", model="m")
        events, conv = await turn(orchestrator(client, hub))
        await client.aclose()
    assert len(hub.calls) == MAX_CALLS_PER_REPLY
    (notice,) = [e for e in events if isinstance(e, Notice)]
    assert f"{n} tool calls" in notice.text and f"{n - MAX_CALLS_PER_REPLY} were dropped" in notice.text
    assert len([e for e in events if isinstance(e, ToolCallFinished)]) == MAX_CALLS_PER_REPLY
    assert isinstance(events[-1], TurnFinished)
    assistant = next(e.message for e in conv.entries if e.message.tool_calls)
    tool_msgs = [e.message for e in conv.entries if e.message.role == "tool"]
    assert len(assistant.tool_calls) == len(tool_msgs) == MAX_CALLS_PER_REPLY  # the history stays valid
    assert len({m.tool_call_id for m in tool_msgs}) == MAX_CALLS_PER_REPLY  # each answers its own call
    assert "were not run" in tool_msgs[-1].content  # the model is told


@pytest.mark.parametrize("flavor", ["openai", "ollama"])
@pytest.mark.parametrize("newline", [True, False])
async def test_a_40_mb_line_is_a_one_line_error(flavor, newline):
    big = "a" * (40 * 2**20)
    if flavor == "openai":
        body = (
            sse([delta({"content": "before "})], "cut")
            + b"data: "
            + json.dumps(delta({"content": big}, "stop")).encode()
        )
        body += b"\n\ndata: [DONE]\n\n" if newline else b""
        cls, path = OpenAIClient, "/v1"
    else:
        body = json.dumps({"message": {"role": "assistant", "content": big}, "done": True}).encode()
        body += b"\n" if newline else b""
        cls, path = OllamaClient, ""
    async with RawServer(body) as srv:
        client = cls(f"http://127.0.0.1:{srv.port}{path}", model="m")
        events, _conv = await turn(orchestrator(client, RecordingHub()))
        await client.aclose()
    (failed,) = [e for e in events if isinstance(e, TurnFailed)]
    assert isinstance(failed.error, BackendProtocolError)
    assert "MiB limit" in failed.message and "\n" not in failed.message and len(failed.message) < 200


@pytest.mark.parametrize("width", [1, 100, 5000])
async def test_an_sse_event_of_endless_data_lines_is_capped(width):
    body = (b"data: " + b"x" * width + b"\n") * (200_000 // width)  # never closed by a blank line
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    async with OpenAIClient("http://s/v1", model="m", transport=transport) as client:
        client._backend.max_line_bytes = 64 * 1024
        with pytest.raises(BackendProtocolError, match="event is longer than"):
            async for _ in client.stream_chat(USER):
                pass


@pytest.mark.parametrize(
    "cid, name, function",
    [
        (7, "echo", None),
        (["c"], "echo", None),
        ({"id": 1}, "echo", None),
        (False, "echo", None),
        ("c0", 12, None),
        ("c0", ["echo"], None),
        ("c0", {"name": "echo"}, None),
        ("c0", True, None),
        ("c0", None, "echo"),  # the function is a string, not an object
        ("c0", None, ["echo"]),
    ],
)
@pytest.mark.parametrize("flavor", ["openai", "ollama"])
async def test_a_call_whose_name_or_id_is_not_text_is_refused_and_the_model_told(flavor, cid, name, function):
    hub = RecordingHub()
    fn = (
        function
        if function is not None
        else {"name": name, "arguments": '{"text": "boom"}' if flavor == "openai" else {"text": "boom"}}
    )
    if flavor == "openai":
        good = call_delta(1, "ok", "echo", '{"text": "fine"}')
        first = sse(
            [delta({"tool_calls": [{"index": 0, "id": cid, "type": "function", "function": fn}, good]}, "tool_calls")]
        )
        cls, path, final = OpenAIClient, "/v1", FINAL_SSE
    else:
        good = {"id": "ok", "function": {"name": "echo", "arguments": {"text": "fine"}}}
        first = ndjson(
            [{"message": {"role": "assistant", "content": "", "tool_calls": [{"id": cid, "function": fn}, good]}}],
            {"done": True},
        )
        cls, path, final = OllamaClient, "", FINAL_ND
    async with RawServer(first, final) as srv:
        client = cls(f"http://127.0.0.1:{srv.port}{path}", model="m")
        events, _conv = await turn(orchestrator(client, hub))
        await client.aclose()
    assert hub.calls == [("echo", {"text": "fine"})]  # the good call runs; the bad one never
    refused = next(e for e in events if isinstance(e, ToolCallFinished) and e.is_error)
    assert "refused" in refused.result and ("not a string" in refused.result or "not an object" in refused.result)
    assert isinstance(events[-1], TurnFinished)
    # the model is told: the second request carries the refusal as the call's tool result
    sent = srv.requests[1]["messages"]
    tool_texts = [m["content"] for m in sent if m["role"] == "tool"]
    assert any("refused" in t for t in tool_texts) and "fine" in tool_texts


async def test_surrogates_in_a_tool_result_do_not_reach_the_conversation():
    hub = RecordingHub(result="out\ud800put\udfff")
    first = sse(
        [
            delta({"content": "x\ud800"}),
            delta({"tool_calls": [call_delta(0, args='{"text": "\\ud83d"}')]}, "tool_calls"),
        ]
    )
    async with RawServer(first, FINAL_SSE) as srv:
        client = OpenAIClient(f"http://127.0.0.1:{srv.port}/v1", model="m")
        events, conv = await turn(orchestrator(client, hub))
        await client.aclose()
    assert hub.calls == [("echo", {"text": "\ufffd"})]
    assert isinstance(events[-1], TurnFinished)
    for entry in conv.entries:
        assert utf8_safe(json.dumps(entry.message.model_dump(mode="json"), ensure_ascii=False))
    assert any(e.message.content == "out\ufffdput\ufffd" for e in conv.entries if e.message.role == "tool")


@pytest.mark.parametrize("dup", [2, 5])
async def test_repeated_call_ids_in_one_reply_are_made_unique(dup):
    hub = RecordingHub()
    first = sse(
        [
            delta(
                {"tool_calls": [call_delta(i, cid="same", args=json.dumps({"text": str(i)})) for i in range(dup)]},
                "tool_calls",
            )
        ]
    )
    async with RawServer(first, FINAL_SSE) as srv:
        client = OpenAIClient(f"http://127.0.0.1:{srv.port}/v1", model="m")
        _events, conv = await turn(orchestrator(client, hub))
        await client.aclose()
    tool_msgs = {e.message.tool_call_id: e.message.content for e in conv.entries if e.message.role == "tool"}
    assert sorted(tool_msgs.values()) == [str(i) for i in range(dup)]  # each result under its own id


# -- property tests: the orchestrator --------------------------------------------------------------


async def hostile_turn(cls, url: str, first: bytes, final: bytes) -> tuple[list, Conversation, RecordingHub]:
    replies = iter([first])
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=next(replies, final)))
    hub = RecordingHub()
    client = cls(url, model="m", transport=transport)
    try:
        events, conv = await turn(orchestrator(client, hub))
    finally:
        await client.aclose()
    return events, conv, hub


def assert_turn_safe(events: list, conv: Conversation, hub: RecordingHub) -> None:
    assert isinstance(events[-1], (TurnFinished, TurnFailed))
    if isinstance(events[-1], TurnFailed):
        assert isinstance(events[-1].error, A2IAError) and "\n" not in events[-1].message
    runnable = {
        tc.id
        for e in conv.entries
        for tc in e.message.tool_calls
        if tc.refused is None and tc.valid and tc.function.name == "echo"
    }
    refused = [tc for e in conv.entries for tc in e.message.tool_calls if tc.refused is not None]
    # only well-formed calls to a known tool run; a refused call is answered, never run
    assert len(hub.calls) <= len(runnable)
    for tc in refused:
        answer = next(
            e.message.content for e in conv.entries if e.message.role == "tool" and e.message.tool_call_id == tc.id
        )
        assert "refused" in answer
    for entry in conv.entries:
        assert utf8_safe(json.dumps(entry.message.model_dump(mode="json"), ensure_ascii=False))


@property_settings(200)
@given(O_STREAM, st.lists(st.lists(O_TOOL_DELTA, min_size=1, max_size=3), min_size=1, max_size=3))
def test_orchestrator_openai_hostile_turn_runs_only_well_formed_calls(stream, tool_events):
    events, ending = stream
    assert_turn_safe(*asyncio.run(hostile_turn(OpenAIClient, "http://s/v1", sse(events, ending), FINAL_SSE)))
    # hostile tool-call deltas in an otherwise well-formed reply
    body = sse([delta({"tool_calls": tds}) for tds in tool_events], "done")
    assert_turn_safe(*asyncio.run(hostile_turn(OpenAIClient, "http://s/v1", body, FINAL_SSE)))


@property_settings(200)
@given(N_STREAM, st.lists(N_CALL, min_size=1, max_size=4))
def test_orchestrator_ollama_hostile_turn_runs_only_well_formed_calls(stream, calls):
    lines, final = stream
    assert_turn_safe(*asyncio.run(hostile_turn(OllamaClient, "http://o", ndjson(lines, final), FINAL_ND)))
    body = ndjson(
        [{"message": {"role": "assistant", "content": "", "tool_calls": calls}, "done": False}], {"done": True}
    )
    assert_turn_safe(*asyncio.run(hostile_turn(OllamaClient, "http://o", body, FINAL_ND)))


@pytest.mark.parametrize(
    "exc", [TypeError("unsupported operand"), KeyError("x"), ValueError("1 validation error\nfor ToolCall")]
)
async def test_a_client_bug_on_odd_data_ends_the_turn_not_the_app(exc):
    """The safety net: whatever a client lets slip is a one-line TurnFailed, and the next turn works."""
    from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply

    class Slipping(ScriptedClient):
        async def stream_chat(self, *args, **kwargs):
            yield ChatChunk(message=Message(role="assistant", content="part"))
            raise exc

    orch = orchestrator(Slipping([text_reply("x")]), RecordingHub())
    events, conv = await turn(orch)
    failed = events[-1]
    assert isinstance(failed, TurnFailed) and isinstance(failed.error, BackendProtocolError)
    assert type(exc).__name__ in failed.message and "\n" not in failed.message
    assert conv.entries[-1].meta.status == "failed" and conv.entries[-1].message.content == "part"
    orch.set_client(ScriptedClient([text_reply("fine")]))
    events, _ = await turn(orch)
    assert isinstance(events[-1], TurnFinished)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"text": {"type": "string", "pattern": "["}}},
        {"type": "object", "properties": {"text": {"type": "fancy"}}},
        {"$ref": "#/nowhere"},
        {"type": "object", "properties": {"text": {"minLength": "x"}}},
        {"$ref": "http://127.0.0.1:1/schema.json"},
        {"type": 5},
    ],
)
async def test_a_tool_schema_that_breaks_the_validator_lets_the_server_judge(schema):
    """An MCP server's schema is untrusted too: one jsonschema cannot apply is not a crash."""
    hub = RecordingHub()
    hub._tools = [HubTool("echo", "toy", "echo", "Echo", schema, True, False)]
    first = sse([delta({"tool_calls": [call_delta(0)]}, "tool_calls")])
    async with RawServer(first, FINAL_SSE) as srv:
        client = OpenAIClient(f"http://127.0.0.1:{srv.port}/v1", model="m")
        events, _conv = await turn(orchestrator(client, hub))
        await client.aclose()
    assert hub.calls == [("echo", {"text": "hi"})] and isinstance(events[-1], TurnFinished)


OPENAI_REPLIES = [
    {"choices": [{"message": ["not", "an", "object"]}]},
    {"choices": [{"message": {"content": 5}}]},
    {"choices": [{"message": {"content": "ok\ud800", "reasoning": 3, "tool_calls": {"a": 1}}}], "usage": [1]},
    {
        "choices": [
            {"message": {"content": None, "tool_calls": [{"id": 9, "function": {"name": "echo", "arguments": "{}"}}]}}
        ]
    },
    {
        "choices": [{"message": {"content": "x"}, "finish_reason": ["stop"]}],
        "usage": {"prompt_tokens": "3"},
        "model": 7,
    },
    {
        "choices": [{"message": {"content": "x"}}],
        "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    },
]
OLLAMA_REPLIES = [
    {"message": "text"},
    {"message": {"role": "assistant", "content": ["x"]}},
    {"message": {"role": "assistant", "content": "ok\udfff", "thinking": 1, "tool_calls": "none"}, "eval_count": "5"},
    {
        "message": {"role": "assistant", "content": "", "tool_calls": [{"id": [1], "function": {"name": "echo"}}]},
        "done_reason": 4,
    },
    {"model": ["m"], "message": {"role": "assistant", "content": "x"}, "error": None, "total_duration": -1},
]


@pytest.mark.parametrize("reply", OPENAI_REPLIES + OLLAMA_REPLIES)
async def test_non_streamed_replies_with_hostile_fields(reply):
    """``chat()`` (stream: false) reads the same untrusted fields: the same rules apply."""
    cls, url = (OpenAIClient, "http://s/v1") if "choices" in reply else (OllamaClient, "http://o")
    body = json.dumps(reply).encode()
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    async with cls(url, model="m", transport=transport) as client:
        try:
            resp = await client.chat(USER)
        except A2IAError as exc:
            assert "\n" not in str(exc)
            return
    assert utf8_safe(json.dumps(resp.model_dump(mode="json"), ensure_ascii=False))
    assert type(resp.message.thinking) in (str, type(None)) and type(resp.done_reason) is str
    for call in resp.message.tool_calls:
        assert (call.refused is not None) == (call.id.startswith("call_") and call.function.name == "echo")


@pytest.mark.parametrize(
    "shown",
    [b"[]", b'"x"', b'{"model_info": [1, 2]}', b'{"model_info": {"a.context_length": "big"}}', b"{not json"],
)
async def test_a_hostile_api_show_leaves_the_window_at_the_setting(shown):
    """What Ollama's /api/show says about the context window is untrusted: nonsense there means
    the configured window (sent as num_ctx), never a failed turn."""
    async with RawServer(FINAL_ND, content_type="application/x-ndjson", other=shown) as srv:
        client = OllamaClient(f"http://127.0.0.1:{srv.port}", model="m")
        events, _conv = await turn(orchestrator(client, RecordingHub()))
        await client.aclose()
    assert isinstance(events[-1], TurnFinished), events[-1]
    assert srv.requests[-1]["options"]["num_ctx"] == 8192
