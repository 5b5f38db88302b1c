"""Property: any re-chunking of a valid byte stream — split at any byte, including inside a UTF-8
character or a line ending — yields the same text, thinking and tool calls."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message


def sse(obj) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\r\n\r\n"


def _choice(delta: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "token_ids": None}


def openai_stream(words: list[str]) -> bytes:
    """Role chunk, a keep-alive, the words, reasoning, then TWO tool calls whose argument JSON is
    split into 4-character fragments interleaved by index, finish, usage, [DONE]."""
    out = [sse(_choice({"role": "assistant", "content": ""})), b": keep-alive\n\n"]
    out += [sse(_choice({"content": w})) for w in words]
    out.append(sse(_choice({"reasoning": "ü"})))
    calls = [
        ("echo", json.dumps({"text": "".join(words), "n": [1, {"x": "ß"}]}, ensure_ascii=False)),
        ("note", json.dumps({"t": "".join(reversed(words))}, ensure_ascii=False)),
    ]
    for i, (name, _args) in enumerate(calls):
        out.append(
            sse(_choice({"tool_calls": [{"index": i, "id": f"c{i}", "type": "function", "function": {"name": name}}]}))
        )
    frags = [[args[j : j + 4] for j in range(0, len(args), 4)] for _n, args in calls]
    for step in range(max(len(f) for f in frags)):
        for i, parts in enumerate(frags):
            if step < len(parts):
                fn = {"name": None, "arguments": parts[step]}
                out.append(sse(_choice({"content": None, "tool_calls": [{"index": i, "function": fn}]})))
    out.append(sse(_choice({}, "tool_calls")))
    out.append(sse({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}}))
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def ollama_stream(words: list[str]) -> bytes:
    lines = [
        json.dumps(
            {"message": {"role": "assistant", "content": w}, "done": False},
            ensure_ascii=False,
        )
        for w in words
    ]
    lines.append(
        json.dumps(
            {
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "function": {
                                "name": "echo",
                                "arguments": {"t": "".join(words)},
                            }
                        }
                    ],
                },
                "done": False,
            },
            ensure_ascii=False,
        )
    )
    lines.append(
        json.dumps(
            {
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "eval_count": len(words),
            }
        )
    )
    return ("\n".join(lines) + "\n").encode()


class Pieces(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def __aiter__(self):
        for p in self.pieces:
            yield p


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(data[prev:p])
        prev = p
    out.append(data[prev:])
    return [p for p in out if p]


async def run(client_cls, url, data_pieces):
    transport = httpx.MockTransport(lambda req: httpx.Response(200, stream=Pieces(data_pieces)))
    client = client_cls(url, model="m", transport=transport)
    chunks = [c async for c in client.stream_chat([Message(role="user", content="x")])]
    await client.aclose()
    text = "".join(c.message.content for c in chunks)
    thinking = "".join(c.message.thinking or "" for c in chunks)
    calls = [
        (
            t.id if client_cls is OpenAIClient else "",
            t.function.name,
            t.function.arguments,
        )
        for c in chunks
        for t in c.message.tool_calls
    ]
    return text, thinking, calls, sum(c.done for c in chunks)


WORDS = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=6),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=WORDS, cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=25))
def test_openai_sse_any_rechunking_same_result(words, cuts):
    data = openai_stream(words)
    whole = asyncio.run(run(OpenAIClient, "http://x/v1", [data]))
    pieces = asyncio.run(run(OpenAIClient, "http://x/v1", split(data, cuts)))
    assert whole == pieces
    assert whole[0] == "".join(words) and whole[3] == 1
    assert [c[:2] for c in whole[2]] == [("c0", "echo"), ("c1", "note")]
    assert whole[2][0][2] == {"text": "".join(words), "n": [1, {"x": "ß"}]}
    assert whole[2][1][2] == {"t": "".join(reversed(words))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=WORDS, cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=25))
def test_ollama_ndjson_any_rechunking_same_result(words, cuts):
    data = ollama_stream(words)
    whole = asyncio.run(run(OllamaClient, "http://x", [data]))
    pieces = asyncio.run(run(OllamaClient, "http://x", split(data, cuts)))
    assert whole == pieces
    assert whole[0] == "".join(words)
    assert whole[2][0][1:] == ("echo", {"t": "".join(words)})


def test_every_single_byte_split_of_a_multibyte_stream():
    data = openai_stream(["日本", "語", " 🌍"])
    expected = asyncio.run(run(OpenAIClient, "http://x/v1", [data]))
    for i in range(1, len(data)):
        assert asyncio.run(run(OpenAIClient, "http://x/v1", [data[:i], data[i:]])) == expected
