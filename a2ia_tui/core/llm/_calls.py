"""Tool calls built from a server's stream: untrusted data, so every part is checked here, once,
for both wire formats.

- a call whose name or id is not a string is kept but marked ``ToolCall.refused``: the
  orchestrator never runs it and tells the model why;
- arguments that are not a JSON object, or are nested deeper than :data:`MAX_ARG_DEPTH`, become
  ``{}`` with ``FunctionCall.error`` set (the model is told, nothing runs);
- lone surrogates in arguments become U+FFFD (they would break the MCP session's UTF-8).
"""

from __future__ import annotations

import json
from typing import Any

from ..textsafe import scrub, scrub_obj
from .types import FunctionCall, ToolCall

#: Deeper arguments are refused: they cannot be meant, and they would exhaust the recursion of
#: whatever shows, validates or saves them (jsonschema, the indented JSON of the trace).
MAX_ARG_DEPTH = 64


def _has_surrogate_escape(text: str) -> bool:
    # Only a "\ud800"-style escape decodes to a lone surrogate (the text itself holds none).
    return "\\ud" in text or "\\uD" in text


def parse_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Parse a tool call's argument text; ``({}, error)`` when it is not a JSON object."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"invalid JSON in arguments: {exc.msg} at position {exc.pos}"
    except RecursionError:
        return {}, f"arguments nested more than {MAX_ARG_DEPTH} levels deep"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    if too_deep(value):
        return {}, f"arguments nested more than {MAX_ARG_DEPTH} levels deep"
    if _has_surrogate_escape(raw):
        value = scrub_obj(value)  # shallow enough now to walk
    return value, None


def too_deep(value: Any, limit: int = MAX_ARG_DEPTH) -> bool:
    """Whether a JSON-like value nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth >= limit:
            return True
        stack.extend((v, depth + 1) for v in item)
    return False


def _kind(value: object) -> str:
    return type(value).__name__


def tool_call(
    call_id: object,
    name: object,
    fallback_id: str,
    arguments: object,
    raw_arguments: str | None = None,
    error: str | None = None,
    refused: str | None = None,
) -> ToolCall:
    """A :class:`ToolCall` from wire values of any type; never raises for bad data.

    ``call_id`` missing (None or "") takes ``fallback_id``; ``name`` missing is "" (an unknown
    tool, answered as such). A name or id of another type refuses the call."""
    problems = [refused] if refused else []
    if name is None:
        name = ""
    elif name.__class__ is not str:
        problems.append(f"its name is {_kind(name)}, not a string")
        name = ""
    if call_id is None or call_id == "":
        call_id = fallback_id
    elif call_id.__class__ is not str:
        problems.append(f"its id is {_kind(call_id)}, not a string")
        call_id = fallback_id
    if arguments is None:
        arguments = {}
    elif not isinstance(arguments, dict):
        arguments, error = {}, error or f"arguments must be a JSON object, got {_kind(arguments)}"
    elif too_deep(arguments):
        arguments, error = {}, f"arguments nested more than {MAX_ARG_DEPTH} levels deep"
    if raw_arguments is not None:
        raw_arguments = scrub(raw_arguments)
    return ToolCall(
        id=call_id,
        function=FunctionCall(name=name, arguments=arguments, raw_arguments=raw_arguments, error=error),
        refused="; ".join(problems) or None,
    )
