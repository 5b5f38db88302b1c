"""ReAct: the Thought / Action / Action Input / Final Answer text protocol, for models without
native function calling (e.g. Mixtral 8x7B on a server without a tool parser).

:class:`ReactStreamParser` works on the streamed text incrementally (token by token, markers
split across chunks) and at the end:

- while streaming, text before ``Final Answer:`` is the model's thinking, text after it is the
  answer (held back only as long as it could still be the start of a marker);
- a reply that does not start with a ReAct marker is taken as a plain answer and streamed as such;
- at the end, ``Action Input`` is decoded with :meth:`json.JSONDecoder.raw_decode` (nested JSON,
  code fences, trailing chatter all fine — never a brace-matching regex).
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

_ACTION_RE = re.compile(r"^\s*Action\s*:\s*(.+?)\s*$", re.M)
_INPUT_RE = re.compile(r"Action\s+Input\s*:\s*", re.M)
_FINAL_RE = re.compile(r"Final\s+Answer\s*:\s*", re.M)
_FENCE_RE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?")


def system_prompt(tools: list[ToolSpec], extra: str | None = None) -> str:
    lines = [
        "You can use tools to answer. Available tools (name, description, JSON schema of the input):",
        "",
    ]
    for t in tools:
        lines.append(f"- {t.name}: {t.description.strip() or '(no description)'}")
        lines.append(f"  input schema: {json.dumps(t.parameters, ensure_ascii=False)}")
    lines += [
        "",
        "Answer in exactly this format:",
        "",
        "Thought: think about what to do next",
        "Action: the tool name, exactly one of the names above",
        'Action Input: the input as one JSON object, e.g. {"path": "README.md"}',
        "",
        "Then STOP and wait: the result comes back as 'Observation: ...'. Repeat Thought/Action/Action Input",
        "as many times as needed. When you know the answer, write:",
        "",
        "Thought: I know the answer",
        "Final Answer: the answer for the user",
    ]
    if extra:
        lines += ["", extra]
    return "\n".join(lines)


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


def _decode_input(text: str) -> tuple[dict[str, Any] | None, str]:
    body = _FENCE_RE.sub("", text, count=1).lstrip()
    if not body:
        return None, "Action Input is empty"
    try:
        value, _end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as exc:
        # A bare string input ("Action Input: Paris") is common with small models.
        first = body.splitlines()[0].strip().strip("`")
        if first and first[0] not in "{[":
            return {"input": first}, ""
        return None, f"Action Input is not valid JSON: {exc.msg} at position {exc.pos}"
    except RecursionError:
        return None, f"Action Input is nested more than {MAX_ARG_DEPTH} levels deep"
    if too_deep(value):
        return None, f"Action Input is nested more than {MAX_ARG_DEPTH} levels deep"
    value = scrub_obj(value)  # a "\ud800" escape in the model's JSON is a lone surrogate now
    if isinstance(value, dict):
        return value, ""
    return {"input": value}, ""


def parse(text: str) -> ReactResult:
    """Parse a complete ReAct reply."""
    final = _FINAL_RE.search(text)
    action = _ACTION_RE.search(text)
    if final and (not action or final.start() < action.start()):
        thought = text[: final.start()].replace("Thought:", "").strip()
        return ReactResult("final", thought=thought, answer=text[final.end() :].strip())
    if action:
        name = action.group(1).strip().strip("`\"'")
        thought = text[: action.start()].replace("Thought:", "").strip()
        inp = _INPUT_RE.search(text, action.end())
        if not inp:
            return ReactResult("malformed", thought=thought, action=name, error="Action without Action Input")
        args, err = _decode_input(text[inp.end() :])
        if args is None:
            return ReactResult("malformed", thought=thought, action=name, error=err)
        return ReactResult("action", thought=thought, action=name, action_input=args)
    stripped = text.lstrip()
    if not any(stripped.startswith(m) for m in MARKERS):
        return ReactResult("plain", answer=text.strip())
    return ReactResult("malformed", thought=text.replace("Thought:", "").strip(), error="neither an Action nor a Final Answer")


class ReactStreamParser:
    """Split a streamed ReAct reply into thinking and answer pieces as it arrives.

    ``feed(piece)`` returns ``(thinking, answer)`` text that can be shown now; ``finish()`` returns
    what was held back plus the complete :class:`ReactResult`.
    """

    def __init__(self) -> None:
        self.text = ""
        self._mode = "undecided"  # undecided | plain | react | final
        self._emitted = 0  # characters of self.text already handed out

    def feed(self, piece: str) -> tuple[str, str]:
        self.text += piece
        if self._mode == "undecided":
            head = self.text.lstrip()
            if not head:
                return "", ""
            if any(m.startswith(head[: len(m)]) for m in MARKERS) and len(head) < max(len(m) for m in MARKERS):
                if not any(head.startswith(m) for m in MARKERS):
                    return "", ""  # could still become a marker
            self._mode = "react" if any(head.startswith(m) for m in MARKERS) else "plain"
        if self._mode == "plain":
            out = self.text[self._emitted :]
            self._emitted = len(self.text)
            return "", out
        if self._mode == "react":
            m = _FINAL_RE.search(self.text, max(0, self._emitted - len(FINAL)))
            if m:
                thinking = self.text[self._emitted : m.start()]
                self._mode = "final"
                self._emitted = m.end()
                answer = self.text[self._emitted :]
                self._emitted = len(self.text)
                return thinking, answer
            # hold back a tail that could be the start of "Final Answer:"
            safe = len(self.text) - len(FINAL)
            if safe > self._emitted:
                out = self.text[self._emitted : safe]
                self._emitted = safe
                return out, ""
            return "", ""
        out = self.text[self._emitted :]
        self._emitted = len(self.text)
        return "", out

    def finish(self) -> tuple[str, str, ReactResult]:
        result = parse(self.text)
        rest = self.text[self._emitted :]
        self._emitted = len(self.text)
        if self._mode in ("final", "plain"):
            return "", rest, result
        if self._mode == "undecided":
            return ("", rest, result) if result.kind == "plain" else (rest, "", result)
        if result.kind == "final":
            # the marker itself was in the held-back tail
            m = _FINAL_RE.search(self.text)
            return "", self.text[m.end() :] if m else rest, result
        return rest, "", result


def render_action(thought: str, name: str, arguments: dict[str, Any]) -> str:
    """How an earlier tool call is shown back to a ReAct model."""
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Action: {name}\nAction Input: {json.dumps(arguments, ensure_ascii=False)}"
