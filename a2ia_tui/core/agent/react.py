"""ReAct: the Thought / Action / Action Input / Final Answer text protocol, for models without
native function calling (e.g. Mixtral 8x7B on a server without a tool parser).

Models write it in several dialects; :func:`parse` accepts the common ones:

- ``Thought: …`` / ``Action: tool`` / ``Action Input: {json}``, with or without the Thought, the
  markers in any case at a line start, with odd spacing (``ACTION :``) or in Markdown bold, the
  Action Input on the Action's own line, the input fenced (```json) or bare, chatter after it;
- the final answer as a line (``Final Answer: …``) or as an action (``Action: Final Answer`` with
  the answer as its input, or ``"action": "final_answer"`` in a JSON object);
- one JSON object, bare or fenced, at the start of the reply, after ``Action:`` or after a
  Thought: ``{"action": …, "action_input": …}`` (LangChain) or ``{"name": …, "arguments": …}``
  (also ``"parameters"``, an OpenAI ``"function"`` wrapper, arguments as a JSON string).

:class:`ReactStreamParser` works on the streamed text incrementally (token by token, markers
split across chunks) and at the end:

- while streaming, text before the final answer is the model's thinking; text after a
  ``Final Answer:`` line, or after an ``Action: Final Answer`` whose input is bare text, is the
  answer (held back only as long as it could still be the start of a marker);
- a reply that starts with neither a ReAct marker nor a JSON object is a plain answer, streamed as
  such; one that starts with a JSON object is held until it is complete;
- at the end, JSON is decoded with :meth:`json.JSONDecoder.raw_decode` (nested JSON, code fences,
  trailing chatter all fine — never a brace-matching regex), and :meth:`~ReactStreamParser.finish`
  hands out the part of the answer that could not stream (a JSON final answer arrives in one piece).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..llm._calls import MAX_ARG_DEPTH, too_deep
from ..llm.types import ToolSpec
from ..textsafe import scrub_obj

FINAL = "Final Answer:"
MARKERS = ("Thought:", "Action:", "Action Input:", FINAL, "Observation:")
# The markers lower case without spaces: how the head of a reply is recognised.
_COMPACT_MARKERS = tuple(m.replace(" ", "").lower() for m in MARKERS)
_SPACES_RE = re.compile(r"[\s_*]+")  # also Markdown emphasis: **Thought:**

# "Final Answer:" anywhere as written (the historical form), or in any case at a line start.
_FINAL_PAT = r"(?:\bFinal[ \t_]*Answer|(?im:^[ \t]*\**[ \t]*final[ \t_-]*answer))[ \t]*\**[ \t]*:[ \t]*\**"
_FINAL_RE = re.compile(_FINAL_PAT + r"\s*")
# An Action line; its rest is the tool name, maybe followed by the Action Input on the same line.
_ACTION_RE = re.compile(r"^[ \t]*\**[ \t]*action[ \t]*\**[ \t]*:[ \t]*\**[ \t]*(.*)$", re.I | re.M)
_INPUT_RE = re.compile(r"action[ \t_-]*input[ \t]*\**[ \t]*:[ \t]*\**[ \t]*", re.I)
_THOUGHT_RE = re.compile(
    r"\**\bThought[ \t]*\**[ \t]*:[ \t]*\**[ \t]*|(?im:^[ \t]*\**[ \t]*thought[ \t]*\**[ \t]*:[ \t]*\**[ \t]*)"
)
_FENCE_RE = re.compile(r"^\s*```[a-zA-Z0-9_-]*[ \t]*\n?")
# A line that opens a JSON object, bare or inside a code fence.
_BLOB_RE = re.compile(r"^[ \t]*(?:```[a-zA-Z0-9_-]*[ \t]*\n\s*)?\{", re.M)
# "Final Answer" used as an action name, maybe with ": answer" or the Action Input after it.
_FINAL_NAME_RE = re.compile(
    r"""^[`"'*]*final[ \t_-]*answer[`"'*]*[ \t,;]*(?:(?P<colon>:)|(?P<input>action[ \t_-]*input[ \t]*:))?[ \t]*""", re.I
)
# While streaming: the first Final Answer marker, or the first complete Action line.
_STREAM_RE = re.compile(
    r"(?P<final>"
    + _FINAL_PAT
    + r")[ \t]*|(?im:^[ \t]*\**[ \t]*action[ \t]*\**[ \t]*:[ \t]*\**[ \t]*(?P<name>[^\n]*)\n)"
)
_ACTION_HEAD_RE = re.compile(r"[ \t]*\**[ \t]*action[ \t]*\**[ \t]*:[ \t]*\**[ \t]*", re.I)
_STREAM_INPUT_RE = re.compile(r"[ \t]*\**[ \t]*action[ \t_-]*input[ \t]*\**[ \t]*:[ \t]*\**[ \t]*", re.I)
# How far before the text already handed out a streamed marker search starts: a "Final Answer:"
# with odd spacing may start before the held-back tail. (Action lines are held back whole.)
_LOOKBACK = 32

_NAME_KEYS = ("action", "tool", "tool_name", "name")
_INPUT_KEYS = ("action_input", "arguments", "parameters", "tool_input", "input", "args")
_ANSWER_KEYS = ("answer", "final_answer", "text", "content", "output", "response", "input")


def system_prompt(tools: list[ToolSpec], extra: str | None = None) -> str:
    """The ReAct instructions. Tools are listed as compact signatures, not JSON schemas: the
    schemas of the 8 built-in tools alone took ~970 tokens, half of a 2,048-token context."""
    lines = ["You can use these tools:"]
    lines += [_signature(t) for t in tools]
    lines += [
        "",
        "To use a tool, reply exactly:",
        "Thought: what to do next",
        "Action: one tool name from the list",
        'Action Input: its arguments as one JSON object, e.g. {"path": "a.txt"}',
        "Then stop and wait for the 'Observation: ...'. To answer, reply:",
        "Thought: I know the answer",
        "Final Answer: the answer for the user",
    ]
    if extra:
        lines += ["", extra]
    return "\n".join(lines)


_TYPES = {"string": "str", "integer": "int", "number": "number", "boolean": "bool", "object": "object", "array": "list"}


def _type_name(schema: Any, depth: int = 0) -> str:
    # Tolerant of any JSON a server sends as a schema: unknown shapes read as "any".
    if not isinstance(schema, dict) or depth > 3:
        return "any"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return "|".join(json.dumps(v, ensure_ascii=False) for v in enum[:8]) + ("|…" if len(enum) > 8 else "")
    for key in ("anyOf", "oneOf"):
        alts = schema.get(key)
        if isinstance(alts, list) and alts:
            names = [_type_name(a, depth + 1) for a in alts if not (isinstance(a, dict) and a.get("type") == "null")]
            return "|".join(dict.fromkeys(names)) or "null"
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(_TYPES.get(k, str(k)) for k in kind if k != "null") or "null"
    if kind == "array" and "items" in schema:
        return f"list[{_type_name(schema['items'], depth + 1)}]"
    return _TYPES.get(kind, "any") if isinstance(kind, str) else "any"


def _one_line(text: Any, limit: int) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# The first sentence of a description: enough to choose a tool, and the prompt stays small.
# ("e.g." and "i.e." do not end one.)
_SENTENCE_RE = re.compile(r"(?<![ .][a-z]\.)(?<=[.!?])\s+|\n\s*\n")


def _signature(tool: ToolSpec) -> str:
    """``- read_file(path: str, start_line: int = null): Read a text file …``"""
    schema = tool.parameters if isinstance(tool.parameters, dict) else {}
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    required = schema.get("required")
    required = set(required) if isinstance(required, list) and all(isinstance(r, str) for r in required) else set()
    params, notes = [], []
    for name, prop in props.items():
        kind = _type_name(prop)
        part = f"{name}: {kind}"
        if isinstance(prop, dict) and prop.get("default") is not None:
            default = _one_line(json.dumps(prop["default"], ensure_ascii=False), 40)
            # A scalar default says the type already: "path = ".""
            part = f"{name} = {default}" if kind in ("str", "int", "number", "bool") else f"{part} = {default}"
        elif name not in required:  # optional, no default (or null): "name?: type"
            part = f"{name}?: {_type_name(prop)}"
        params.append(part)
        if isinstance(prop, dict) and prop.get("description"):
            notes.append(f"{name}: {_one_line(prop['description'], 100)}")
    desc = _one_line(_SENTENCE_RE.split(str(tool.description or "").strip(), 1)[0], 160) or "(no description)"
    if notes:
        desc += " Args: " + "; ".join(notes)
    return f"- {tool.name}({', '.join(params)}): {desc}"


FORMAT_REMINDER = (
    "Your last reply did not follow the format. Reply with either\n"
    "Thought: ...\nAction: <tool name>\nAction Input: <one JSON object>\n"
    "or\nThought: ...\nFinal Answer: <the answer>"
)


@dataclass(frozen=True)
class ReactResult:
    kind: str  # "final" | "action" | "plain" | "malformed"
    thought: str = ""
    answer: str = ""
    action: str = ""
    action_input: dict[str, Any] | None = None
    error: str = ""


_DEEP = f"nested more than {MAX_ARG_DEPTH} levels deep"


def _decode_json(text: str, pos: int = 0) -> tuple[Any, str]:
    """One JSON value at ``pos``: (value, "") or (None, one-line error). Lone surrogates scrubbed."""
    try:
        value, _end = json.JSONDecoder().raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at position {exc.pos - pos}"
    except RecursionError:
        return None, _DEEP
    if too_deep(value):
        return None, _DEEP
    return scrub_obj(value), ""  # a "\ud800" escape in the model's JSON is a lone surrogate now


def _decode_input(text: str) -> tuple[dict[str, Any] | None, str]:
    body = _FENCE_RE.sub("", text, count=1).lstrip()
    if not body:
        return None, "Action Input is empty"
    value, err = _decode_json(body)
    if err:
        # A bare string input ("Action Input: Paris") is common with small models.
        first = body.splitlines()[0].strip().strip("`")
        if err != _DEEP and first and first[0] not in "{[":
            return {"input": first}, ""
        return None, f"Action Input is {err}"
    return _as_arguments(value), ""


def _as_arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        decoded, err = _decode_json(value.strip())  # arguments sent as a JSON string (OpenAI style)
        if not err and isinstance(decoded, dict):
            return decoded
    return value if isinstance(value, dict) else {"input": value}


def _answer_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        for key in _ANSWER_KEYS:
            text = value.get(key)
            if isinstance(text, str):
                return text.strip()
        only = next(iter(value.values()), None) if len(value) == 1 else None
        if isinstance(only, str):
            return only.strip()
    return json.dumps(value, ensure_ascii=False)


def _final_from_input(text: str) -> str:
    """The answer given as an action's input: a JSON string or object, or bare text."""
    body = _FENCE_RE.sub("", text, count=1).strip()
    if body[:1] in ('"', "{"):
        value, err = _decode_json(body)
        if not err:
            return _answer_text(value)
    if body.endswith("```"):
        body = body[:-3].rstrip()
    return body


def _thought(text: str) -> str:
    return _THOUGHT_RE.sub("", text).strip()


def _is_action_object(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("function"), dict):
        value = value["function"]
    # {"name": ...} alone is too common in ordinary JSON answers to be read as a call.
    return any(k in value for k in _NAME_KEYS[:3]) or ("name" in value and any(k in value for k in _INPUT_KEYS))


def _from_object(thought: str, value: dict[str, Any]) -> ReactResult:
    if isinstance(value.get("function"), dict):
        value = value["function"]
    name = next((value[k] for k in _NAME_KEYS if k in value), None)
    if not isinstance(name, str) or not name.strip():
        return ReactResult("malformed", thought=thought, error="the action name is not a non-empty string")
    name = name.strip()
    raw: Any = next((value[k] for k in _INPUT_KEYS if k in value), {})
    if _FINAL_NAME_RE.fullmatch(name):
        return ReactResult("final", thought=thought, answer=_answer_text(raw))
    return ReactResult("action", thought=thought, action=name, action_input=_as_arguments(raw))


def _find_object(text: str, anywhere: bool) -> tuple[int, Any, str] | None:
    """The first line opening a JSON action object: (start, value, error); only at the very start
    of the reply unless ``anywhere`` (a reply that began with a ReAct marker)."""
    for n, m in enumerate(_BLOB_RE.finditer(text)):
        if n >= 8 or (not anywhere and text[: m.start()].strip()):
            return None
        value, err = _decode_json(text, m.end() - 1)
        if err and (not anywhere or n == 0) and not text[: m.start()].strip():
            return m.start(), None, err
        if _is_action_object(value):
            return m.start(), value, ""
    return None


def _starts_with_marker(text: str) -> bool:
    compact = _SPACES_RE.sub("", text[:64]).lower()
    return compact.startswith(_COMPACT_MARKERS)


def parse(text: str) -> ReactResult:
    """Parse a complete ReAct reply."""
    react = _starts_with_marker(text)
    final = _FINAL_RE.search(text)
    action = _ACTION_RE.search(text)
    blob = _find_object(text, anywhere=react)
    first = min((m.start() for m in (final, action) if m), default=len(text) + 1)
    if blob is not None and blob[0] < first:
        start, value, err = blob
        if value is not None:
            return _from_object(_thought(text[:start]), value)
        if re.search(r'"(?:action|name|tool)"\s*:', text[start : start + 200]):
            return ReactResult("malformed", thought=_thought(text[:start]), error=f"the action object is {err}")
    if final and (not action or final.start() < action.start()):
        return ReactResult("final", thought=_thought(text[: final.start()]), answer=text[final.end() :].strip())
    if action:
        return _parse_action(text, action)
    if not react:
        return ReactResult("plain", answer=text.strip())
    return ReactResult("malformed", thought=_thought(text), error="neither an Action nor a Final Answer")


def _parse_action(text: str, action: re.Match[str]) -> ReactResult:
    thought = _thought(text[: action.start()])
    line = action.group(1)
    same_line = _INPUT_RE.search(line)
    raw_name = (line[: same_line.start()] if same_line else line).strip().rstrip(",;").strip()
    if not raw_name or raw_name.startswith(("{", "```")):
        # LangChain style: "Action:" then a JSON object, bare or fenced, on this line or the next.
        body = text[action.start(1) :]
        obj = _find_object(body, anywhere=False)
        if obj is None or obj[1] is None:
            error = f"the action object is {obj[2]}" if obj else "Action without a tool name"
            return ReactResult("malformed", thought=thought, error=error)
        return _from_object(thought, obj[1])
    name = raw_name.strip("`\"'*")
    final = _FINAL_NAME_RE.match(raw_name)
    if final and (final.end() == len(raw_name) or final.group("colon") or same_line):
        # The final answer written as an action.
        if final.group("colon"):
            return ReactResult("final", thought=thought, answer=text[action.start(1) + final.end() :].strip())
        if same_line:
            return ReactResult(
                "final", thought=thought, answer=_final_from_input(line[same_line.end() :] + text[action.end() :])
            )
        inp = _INPUT_RE.match(text, action.end() + 1) if text[action.end() : action.end() + 1] == "\n" else None
        inp = inp or _INPUT_RE.search(text, action.end())
        return ReactResult(
            "final", thought=thought, answer=_final_from_input(text[inp.end() if inp else action.end() :])
        )
    if same_line:
        inp_at = action.start(1) + same_line.end()
    else:
        inp = _INPUT_RE.search(text, action.end())
        if not inp:
            return ReactResult("malformed", thought=thought, action=name, error="Action without Action Input")
        inp_at = inp.end()
    args, err = _decode_input(text[inp_at:])
    if args is None:
        return ReactResult("malformed", thought=thought, action=name, error=err)
    return ReactResult("action", thought=thought, action=name, action_input=args)


def _head_mode(text: str) -> str | None:
    """How a reply that starts like this streams: plain | react | hold (a JSON object, shown when
    complete); None while it could still be either."""
    head = text.lstrip()
    if not head:
        return None
    if head[0] == "{":
        return "hold"
    if head[0] == "`":
        if not head.startswith("```"):
            return None if head in ("`", "``") else "plain"
        nl = head.find("\n")
        if nl < 0:
            return None if len(head) < 40 else "plain"
        body = head[nl + 1 :].lstrip()
        if not body:
            return None
        return "hold" if body[0] == "{" else "plain"
    compact = _SPACES_RE.sub("", head[:48]).lower()
    if compact.startswith(_COMPACT_MARKERS):
        return "react"
    if len(head) < 48 and any(m.startswith(compact) for m in _COMPACT_MARKERS):
        return None  # could still become a marker
    return "plain"


class ReactStreamParser:
    """Split a streamed ReAct reply into thinking and answer pieces as it arrives.

    ``feed(piece)`` returns ``(thinking, answer)`` text that can be shown now; ``finish()`` returns
    what was held back plus the complete :class:`ReactResult`.
    """

    def __init__(self) -> None:
        self.text = ""
        # undecided | plain | react | final (answer streaming) | hold | action (no answer coming)
        self._mode = "undecided"
        self._emitted = 0  # characters of self.text already handed out

    def feed(self, piece: str) -> tuple[str, str]:
        if not piece:
            return "", ""
        self.text += piece
        if self._mode == "undecided":
            mode = _head_mode(self.text)
            if mode is None:
                return "", ""
            self._mode = mode
        if self._mode in ("plain", "final"):
            out = self.text[self._emitted :]
            self._emitted = len(self.text)
            return "", out
        if self._mode == "hold":
            return "", ""
        if self._mode == "action":
            out = self.text[self._emitted :]
            self._emitted = len(self.text)
            return out, ""
        return self._feed_react()

    def _think_until(self, end: int) -> str:
        out = self.text[self._emitted : end] if end > self._emitted else ""
        self._emitted = max(self._emitted, end)
        return out

    def _feed_react(self) -> tuple[str, str]:
        text = self.text
        start = max(0, self._emitted - _LOOKBACK)
        window = text[start:].lower()
        # Runs per token: the regex only when a marker word is there at all.
        m = _STREAM_RE.search(text, start) if "answer" in window or "action" in window else None
        if m is not None and m.group("final") is not None:
            # "Final Answer:" on an Action line is the answer only as "Action: Final Answer: …";
            # otherwise it is inside the Action Input ({"content": "Final Answer: draft"}).
            line_start = text.rfind("\n", 0, m.start()) + 1
            head = _ACTION_HEAD_RE.match(text[line_start : m.end()])
            if head and not _FINAL_NAME_RE.match(text[line_start + head.end() : m.end()]):
                m = None
        if m is not None and m.group("final") is not None:
            thinking = self._think_until(m.start())
            self._mode = "final"
            self._emitted = m.end()
            answer = text[self._emitted :]
            self._emitted = len(text)
            return thinking, answer
        if m is not None:
            name = m.group("name").strip()
            fin = _FINAL_NAME_RE.match(name)
            if not fin or not (fin.end() == len(name) or fin.group("colon") or fin.group("input")):
                # A tool call: everything from here on is thinking.
                self._mode = "action"
                return self._think_until(len(text)), ""
            if fin.end() == len(name):
                inp = _STREAM_INPUT_RE.match(text, m.end())
                if inp is None:
                    rest = _SPACES_RE.sub("", text[m.end() :]).lower()
                    if "actioninput:".startswith(rest):
                        return self._think_until(m.start()), ""  # the Action Input may still come
                    start = m.end()  # "Action: Final Answer" then the answer itself
                else:
                    start = inp.end()
            else:
                start = m.start("name") + fin.end()
            thinking = self._think_until(m.start())
            body = text[start:].lstrip()
            if not body:
                return thinking, ""
            if body[0] in '"{[`':
                self._mode = "hold"  # JSON: the answer comes out of it at the end
                return thinking, ""
            self._mode = "final"
            self._emitted = start
            answer = text[start:]
            self._emitted = len(text)
            return thinking, answer
        # Hold back a tail that could be the start of "Final Answer:" or of an Action line.
        safe = len(text) - len(FINAL)
        # The last line, if it started after the text handed out (an Action line is held back
        # whole from its start, so its start is always found in this window).
        newline = text.rfind("\n", start)
        if newline >= 0 or start == 0:
            line_start = newline + 1
            line = _SPACES_RE.sub("", text[line_start : line_start + 16]).lower()
            if line.startswith("action") or "action".startswith(line):
                safe = min(safe, line_start)
        return self._think_until(safe), ""

    def finish(self) -> tuple[str, str, ReactResult]:
        result = parse(self.text)
        rest = self.text[self._emitted :]
        self._emitted = len(self.text)
        if self._mode in ("final", "plain"):
            return "", rest, result
        if result.kind in ("final", "plain"):
            # Nothing of this answer streamed yet (held JSON, marker in the held-back tail...).
            return "", result.answer, result
        return rest, "", result


def render_action(thought: str, name: str, arguments: dict[str, Any]) -> str:
    """How an earlier tool call is shown back to a ReAct model."""
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Action: {name}\nAction Input: {json.dumps(arguments, ensure_ascii=False)}"
