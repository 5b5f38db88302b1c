"""Content-only events that arrive in one network read are merged into one chunk (``pieces``
says how many), so a flood costs the consumer one event per read; events that arrive one by one
stay one chunk each. Text, order, thinking and tool calls are the same either way, and token
estimates count pieces."""

from __future__ import annotations

import httpx
import pytest

from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.monitor.tokens import TokenMeter
from tests.helpers.streams import Pieces, ollama_stream, openai_stream

WORDS = [f"w{i} " for i in range(50)]


async def _chunks(client_cls, url: str, pieces: list[bytes]):
    transport = httpx.MockTransport(lambda req: httpx.Response(200, stream=Pieces(pieces)))
    client = client_cls(url, name="t", model="m", transport=transport)
    meter = TokenMeter()
    meter.start()
    out = []
    async for chunk in client.stream_chat([Message(role="user", content="go")]):
        meter.observe(chunk)
        out.append(chunk)
    await client.aclose()
    return out, meter


def _events(data: bytes, sep: bytes) -> list[bytes]:
    return [part + sep for part in data.split(sep) if part]


@pytest.mark.parametrize("flavor", ["openai", "ollama"])
async def test_one_read_is_one_chunk_and_one_by_one_stays_one_by_one(flavor) -> None:
    cls: type[OpenAIClient] | type[OllamaClient]
    if flavor == "openai":
        cls, url, data, sep = OpenAIClient, "http://x/v1", openai_stream(WORDS), b"\r\n\r\n"
    else:
        cls, url, data, sep = OllamaClient, "http://x", ollama_stream(WORDS), b"\n"
    whole, meter_whole = await _chunks(cls, url, [data])
    apart, meter_apart = await _chunks(cls, url, _events(data, sep))

    text_whole = [c for c in whole if c.message.content]
    text_apart = [c for c in apart if c.message.content]
    # all 50 words came in one read: one chunk carrying 50 pieces
    assert len(text_whole) == 1 and text_whole[0].pieces == len(WORDS)
    # one event per read: one chunk per word
    assert len(text_apart) == len(WORDS) and all(c.pieces == 1 for c in text_apart)
    for chunks in (whole, apart):
        assert "".join(c.message.content for c in chunks) == "".join(WORDS)
        assert [t.name for c in chunks for t in c.message.tool_calls]  # tool calls still delivered
    # the estimate counts what the server sent, not how it was read
    assert meter_whole._estimated == meter_apart._estimated >= len(WORDS)


async def test_thinking_between_texts_keeps_its_place() -> None:
    from tests.helpers.streams import choice, sse

    data = b"".join(
        [
            sse(choice({"content": "a"})),
            sse(choice({"content": "b"})),
            sse(choice({"reasoning": "hmm"})),
            sse(choice({"content": "c"})),
            sse(choice({}, "stop")),
            b"data: [DONE]\n\n",
        ]
    )
    chunks, _ = await _chunks(OpenAIClient, "http://x/v1", [data])
    seq = [(c.message.content, c.message.thinking, c.pieces) for c in chunks if c.message.content or c.message.thinking]
    assert seq == [("ab", None, 2), ("", "hmm", 1), ("c", None, 1)]
