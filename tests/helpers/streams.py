"""LLM wire bodies for the clients' tests: an OpenAI SSE stream and an Ollama NDJSON stream with
text, reasoning and interleaved tool calls, and an httpx body handed over in given pieces."""

from __future__ import annotations

import json

import httpx


def sse(obj) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\r\n\r\n"


def choice(delta: dict, finish: str | None = None) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "token_ids": None}


def openai_stream(words: list[str]) -> bytes:
    """Role chunk, a keep-alive, the words, reasoning, then TWO tool calls whose argument JSON is
    split into 4-character fragments interleaved by index, finish, usage, [DONE]."""
    out = [sse(choice({"role": "assistant", "content": ""})), b": keep-alive\n\n"]
    out += [sse(choice({"content": w})) for w in words]
    out.append(sse(choice({"reasoning": "ü"})))
    calls = [
        ("echo", json.dumps({"text": "".join(words), "n": [1, {"x": "ß"}]}, ensure_ascii=False)),
        ("note", json.dumps({"t": "".join(reversed(words))}, ensure_ascii=False)),
    ]
    for i, (name, _args) in enumerate(calls):
        out.append(
            sse(choice({"tool_calls": [{"index": i, "id": f"c{i}", "type": "function", "function": {"name": name}}]}))
        )
    frags = [[args[j : j + 4] for j in range(0, len(args), 4)] for _n, args in calls]
    for step in range(max(len(f) for f in frags)):
        for i, parts in enumerate(frags):
            if step < len(parts):
                fn = {"name": None, "arguments": parts[step]}
                out.append(sse(choice({"content": None, "tool_calls": [{"index": i, "function": fn}]})))
    out.append(sse(choice({}, "tool_calls")))
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
