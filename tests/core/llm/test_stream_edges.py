"""Wire-format corner cases of the two stream decoders, fed exact bytes through an
``httpx.MockTransport`` (the loopback tests cover the same code over real TCP)."""

from __future__ import annotations

import json

import httpx
import pytest

from a2ia_tui.core.errors import BackendProtocolError, StreamInterrupted
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message

USER = [Message(role="user", content="x")]


def sse(*events) -> bytes:
    out = []
    for e in events:
        out.append(e if isinstance(e, bytes) else b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n")
    return b"".join(out)


def delta(d, finish=None, **extra):
    return {"choices": [{"index": 0, "delta": d, "finish_reason": finish}], **extra}


async def run(cls, url, body: bytes):
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    async with cls(url, model="m", transport=transport) as client:
        return [c async for c in client.stream_chat(USER)]


def calls_of(chunks):
    return [tc for c in chunks for tc in c.message.tool_calls]


async def test_explicit_nulls_unknown_keys_and_older_reasoning_key():
    body = sse(
        {
            "id": "x",
            "choices": [{"index": 0, "delta": None, "finish_reason": None}],
            "usage": None,
            "new_field": 1,
        },
        {"choices": None, "usage": None},
        delta({"reasoning_content": "old-style ", "content": None, "tool_calls": None}),
        delta({"reasoning": "new-style", "content": None}),
        delta({"content": "ok", "reasoning": None, "surprise": {"a": 1}}, "stop"),
        b"data: [DONE]\n\n",
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)
    assert "".join(c.message.thinking or "" for c in chunks) == "old-style new-style"
    assert "".join(c.message.content for c in chunks) == "ok"
    assert [c.done for c in chunks].count(True) == 1 and chunks[-1].done_reason == "stop"
    assert chunks[-1].prompt_eval_count is None and chunks[-1].eval_count is None  # no usage chunk


async def test_multiline_data_event_and_malformed_event_are_handled():
    first = json.dumps(delta({"content": "A"}), indent=1).encode()
    body = (
        b": comment\nevent: message\nid: 1\n"
        + b"\n".join(b"data: " + line for line in first.split(b"\n"))
        + b"\n\n"
        + b"data: {not json\n\n"
        + sse(delta({"content": "B"}, "length"))
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)  # no [DONE]: EOF ends the stream too
    assert "".join(c.message.content for c in chunks) == "AB"
    assert chunks[-1].done and chunks[-1].done_reason == "length"


async def test_whole_calls_in_one_delta_and_repeated_names_are_not_doubled():
    body = sse(
        delta(
            {
                "tool_calls": [
                    {
                        "id": "a",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x": "é"}'},
                    },
                    {
                        "id": "b",
                        "type": "function",
                        "function": {"name": "g", "arguments": {"y": 2}},
                    },
                ]
            }
        ),
        delta(
            {
                "tool_calls": [
                    {
                        "index": 2,
                        "id": "c",
                        "function": {"name": "h", "arguments": '{"z"'},
                    }
                ]
            }
        ),
        delta({"tool_calls": [{"index": 2, "function": {"name": "h", "arguments": ": 3}"}}]}),
        delta({}, "tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 9}},
        b"data: [DONE]\n\n",
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)
    got = [(t.id, t.function.name, t.function.arguments) for t in calls_of(chunks)]
    assert got == [("a", "f", {"x": "é"}), ("b", "g", {"y": 2}), ("c", "h", {"z": 3})]
    # all three on the one chunk where the choice finished, then the done chunk with usage
    assert len([c for c in chunks if c.message.tool_calls]) == 1
    assert chunks[-1].done_reason == "tool_calls" and (
        chunks[-1].prompt_eval_count,
        chunks[-1].eval_count,
    ) == (4, 9)


async def test_a_call_whose_choice_never_finishes_is_emitted_once_at_the_end():
    body = sse(
        delta(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c0",
                        "function": {"name": "f", "arguments": '{"a"'},
                    }
                ]
            }
        ),
        delta({"tool_calls": [{"index": 0, "function": {"arguments": ": [1, 2]}"}}]}),
        b"data: [DONE]\n\n",  # the stream ended properly; only the choice never said so
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)
    (call,) = calls_of(chunks)
    assert call.function.arguments == {"a": [1, 2]} and call.valid
    assert chunks[-1].done and chunks[-1].done_reason == "tool_calls"


@pytest.mark.parametrize("tail", [b"", b": keep-alive\n\n", b'data: {"choices": []}\n\n', b"data: [DON"])
async def test_a_cut_off_stream_is_interrupted_and_its_tool_call_never_emitted(tail):
    """Neither a finish_reason nor [DONE]: the answer is not complete, and a call in it may be cut."""
    body = (
        sse(
            delta({"content": "let me look"}),
            delta(
                {"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "rm", "arguments": '{"path": "/tmp/x'}}]}
            ),
            delta({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]}),
        )
        + tail
    )
    with pytest.raises(StreamInterrupted) as info:
        await run(OpenAIClient, "http://s/v1", body)
    assert info.value.partial_text == "let me look"
    assert "without a finish_reason or [DONE]" in str(info.value)


@pytest.mark.parametrize(
    "event, message",
    [
        (
            {
                "error": {
                    "message": "CUDA out of memory",
                    "type": "InternalServerError",
                    "code": 500,
                }
            },
            "CUDA out of memory",
        ),
        ({"object": "error", "message": "engine died", "code": 500}, "engine died"),
    ],
)
async def test_an_error_event_mid_stream_is_an_error_with_the_partial_text(event, message):
    body = sse(
        delta({"content": "half "}),
        delta({"content": "done"}),
        event,
        b"data: [DONE]\n\n",
    )
    with pytest.raises(StreamInterrupted) as info:
        await run(OpenAIClient, "http://s/v1", body)
    assert message in str(info.value) and info.value.partial_text == "half done"


async def test_a_choice_of_the_wrong_shape_is_a_protocol_error_not_a_crash():
    with pytest.raises(BackendProtocolError):
        await run(OpenAIClient, "http://s/v1", sse({"choices": [None]}))


def nd(*objs) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objs)


async def test_ollama_stream_without_its_final_line_is_interrupted():
    body = nd({"message": {"role": "assistant", "content": "abc"}, "done": False})
    with pytest.raises(StreamInterrupted) as info:
        await run(OllamaClient, "http://o", body)
    assert info.value.partial_text == "abc" and "final line" in str(info.value)


async def test_ollama_string_arguments_are_parsed_or_marked_invalid_and_zero_stats_absent():
    body = nd(
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "ok", "arguments": '{"p": "ü"}'}},
                    {"function": {"name": "bad", "arguments": "{oops"}},
                ],
            },
            "done": False,
        },
        {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "eval_count": 3,
        },
    )
    chunks = await run(OllamaClient, "http://o", body)
    ok, bad = calls_of(chunks)
    assert ok.function.arguments == {"p": "ü"} and ok.valid
    assert not bad.valid and bad.function.raw_arguments == "{oops" and "invalid JSON" in bad.function.error
    last = chunks[-1]
    assert last.eval_count == 3 and last.prompt_eval_count is None and last.total_duration is None


async def test_crlf_line_endings_and_a_last_line_without_newline():
    body = nd({"message": {"role": "assistant", "content": "a"}, "done": False}).replace(b"\n", b"\r\n")
    body += json.dumps({"message": {"role": "assistant", "content": ""}, "done": True}).encode()
    chunks = await run(OllamaClient, "http://o", body)
    assert "".join(c.message.content for c in chunks) == "a" and chunks[-1].done


async def test_deltas_without_index_follow_their_id_or_the_latest_call():
    body = sse(
        delta({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": '{"x":'}}]}),
        delta({"tool_calls": [{"function": {"arguments": " 1}"}}]}),  # no index, no id: continues "a"
        delta({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
        delta({"tool_calls": [{"id": "a", "function": {"arguments": ""}}]}),  # known id: still "a"
        delta({}, "tool_calls"),
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)
    assert [(t.id, t.function.name, t.function.arguments) for t in calls_of(chunks)] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {}),
    ]


async def test_a_last_sse_event_without_its_blank_line_still_counts():
    body = (
        sse(delta({"content": "a"}))
        + b'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"length"}]}'
    )
    chunks = await run(OpenAIClient, "http://s/v1", body)
    assert "".join(c.message.content for c in chunks) == "ab" and chunks[-1].done_reason == "length"
