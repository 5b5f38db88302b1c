"""Property: any re-chunking of a valid byte stream — split at any byte, including inside a UTF-8
character or a line ending — yields the same text, thinking and tool calls."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message
from tests.helpers.streams import Pieces, ollama_stream, openai_stream


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
