"""The streaming hot path's helpers: build :class:`ChatChunk`s without validation (pydantic's
``model_construct`` and ``model_copy``), and parse a JSON line with orjson, the standard library deciding what it
refuses.

Policy: only data the client itself has already checked goes through :func:`stream_chunk` (strings
it took from a parsed JSON object, tool calls it built with the validating constructors). Skipping
pydantic's validation there is what keeps ingestion close to the cost of reading the socket
(see ``tests/benchmarks/bench_stream.py``); everything else builds models the normal way.

Stream data is untrusted, so the few checks that keep these unvalidated models well-typed are
here, placed where they cost nothing per event: :func:`parse_json` makes lone surrogates safe
(only lines orjson refused can hold them), :func:`take_run` refuses content that is not text (the
join fails on it anyway), and the model name is checked once per chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from json.decoder import JSONDecoder
from typing import Any

from ..errors import BackendProtocolError
from ..textsafe import scrub_obj
from .types import ChatChunk, Message, ToolCall

log = logging.getLogger("a2ia_tui.llm")

_raw_decode = JSONDecoder().raw_decode
_orjson_loads: Callable[[str], Any] | None
try:
    from orjson import loads as _orjson_loads
except ImportError:  # no orjson wheel for this platform: the standard library alone
    _orjson_loads = None


def _refuse_all(text: str) -> Any:
    raise ValueError("no orjson")


#: orjson's loads, or (without an orjson wheel) a stand-in that sends every line to parse_json.
orjson_loads: Any = _orjson_loads if _orjson_loads is not None else _refuse_all
#: Ollama's count and timing fields, in ChatChunk's order.
STATS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)


def parse_json(text: str) -> Any:
    """One JSON value from ``text`` (a complete line). Raises ValueError when it is not JSON.

    orjson first (about twice as fast as the standard library on a streamed event); what it
    refuses (NaN, lone surrogates, text after the value, or any malformed line) goes to the
    standard library's ``raw_decode`` (which stops at the end of the value), leading whitespace
    skipped: the standard library decides what is JSON. Text after the value is ignored. One difference
    remains: orjson reads an integer beyond 64 bits as a float (no field of a stream event these
    clients read comes near that).

    Lone surrogates (``"\\ud800"`` escapes) come back as U+FFFD: orjson refuses them, so only a
    line that took the standard library's path can hold one. JSON nested too deeply for the
    standard library's recursion limit is a ValueError like any other malformed line."""
    if _orjson_loads is not None:
        try:
            return _orjson_loads(text)
        except ValueError:
            pass
    try:
        value = _raw_decode(text.lstrip(" \t\n\r"))[0]
        if _orjson_loads is not None or "\\ud" in text or "\\uD" in text:
            value = scrub_obj(value)
        return value
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def not_text(what: str, value: object) -> BackendProtocolError:
    """The one-line error for a stream field that must be text and is not."""
    return BackendProtocolError(f"malformed stream event: {what} is {type(value).__name__}, not text")


def ignored(what: str, value: object) -> None:
    """A wrong-typed optional field (reasoning, usage, counts, timings) is dropped, with a note."""
    log.debug("ignored a stream field of the wrong type: %s is %s", what, type(value).__name__)


def optional_text(what: str, value: object) -> str | None:
    """``value`` when it is text, else None (noted)."""
    if value is None or value.__class__ is str:
        return value
    ignored(what, value)
    return None


def count(what: str, value: object) -> int | None:
    """A server-reported count or duration: a non-negative integer, else None (noted)."""
    if value is None or (value.__class__ is int and value >= 0):
        return value
    ignored(what, value)
    return None


# An assistant message and a chunk with every field set (pydantic's model_construct), copied
# with the fields of each new chunk (model_copy: public, unvalidated, ~40% cheaper than a
# model_construct of every field).
_new_message = Message.model_construct(
    role="assistant", content="", thinking=None, tool_calls=None, tool_call_id=None, tool_name=None
).model_copy
_new_chunk = ChatChunk.model_construct(
    model=None, message=None, done=False, done_reason=None, **dict.fromkeys(STATS), pieces=1
).model_copy


def text_chunk(model: str | None, content: str, thinking: str | None, pieces: int = 1) -> ChatChunk:
    """A chunk with a piece of text and/or thinking, straight from an event (checked here)."""
    if content.__class__ is not str:
        raise not_text("content", content)
    if thinking is not None and thinking.__class__ is not str:
        thinking = optional_text("reasoning", thinking)
    return known_text_chunk(model, content, thinking, pieces)


def known_text_chunk(model: str | None, content: str, thinking: str | None, pieces: int) -> ChatChunk:
    """The commonest chunk, on the shortest path: ``content`` and ``thinking`` are known text."""
    if model.__class__ is not str:
        model = None  # a server's "model" of another type is dropped, not carried unvalidated
    msg = _new_message(update={"content": content, "thinking": thinking, "tool_calls": []})
    return _new_chunk(update={"model": model, "message": msg, "pieces": pieces})


def stream_chunk(
    model: str | None,
    content: str = "",
    thinking: str | None = None,
    tool_calls: list[ToolCall] | None = None,
    *,
    done: bool = False,
    done_reason: str | None = None,
    stats: dict[str, int | None] | None = None,
) -> ChatChunk:
    """A :class:`ChatChunk` with an assistant :class:`Message`, built without validation."""
    if model.__class__ is not str:
        model = None
    if content.__class__ is not str:
        raise not_text("content", content)
    if thinking is not None and thinking.__class__ is not str:
        thinking = optional_text("reasoning", thinking)
    if done_reason is not None and done_reason.__class__ is not str:
        done_reason = optional_text("done_reason", done_reason) or "stop"
    msg = _new_message(update={"content": content, "thinking": thinking, "tool_calls": tool_calls or []})
    fields: dict[str, Any] = {"model": model, "message": msg, "done": done, "done_reason": done_reason}
    if stats:
        g = stats.get
        for k in STATS:
            fields[k] = count(k, g(k))
    return _new_chunk(update=fields)


def take_run(model: str | None, run: list[str]) -> ChatChunk:
    """One chunk carrying the content-only events collected in ``run`` (which is emptied): the
    clients merge the events of one network read this way (``ChatChunk.pieces``).

    Content that is not text is caught here, by the join, at no cost to well-formed runs."""
    try:
        text = "".join(run)
    except TypeError:
        bad = next(v for v in run if v.__class__ is not str)
        run.clear()
        raise not_text("content", bad) from None
    chunk = known_text_chunk(model, text, None, len(run))
    run.clear()
    return chunk
