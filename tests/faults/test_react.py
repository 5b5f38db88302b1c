"""Hostile ReAct replies and hostile tool schemas: a one-line error for the model (or a plain
answer), never an exception; the prompt survives any schema an MCP server sends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2ia_tui.core.agent import react
from a2ia_tui.core.llm.types import ToolSpec

MALFORMED = [
    ('{"action": "read_file", "action_input": {"path": ', "not valid JSON"),
    ('```json\n{"action": "read_file", "action_input": {"path": "a"\n```', "not valid JSON"),
    ('{"name": "read_file", "arguments": {"path": "a"}', "not valid JSON"),
    ('{"action": 42, "action_input": {}}', "not a non-empty string"),
    ('{"action": null, "action_input": {}}', "not a non-empty string"),
    ('{"action": ["read_file"], "action_input": {}}', "not a non-empty string"),
    ('{"action": "   ", "action_input": {}}', "not a non-empty string"),
    ('{"tool": {"nested": 1}}', "not a non-empty string"),
    ('Thought: x\nAction:\n```json\n{"action": "read_file", "action_input": {\n```', "not valid JSON"),
    ("Thought: x\nAction:\n", "without a tool name"),
    ("Thought: x\nAction:   \nAction Input: {}", "without a tool name"),
    ("Action: read_file", "without Action Input"),
    ('Action: read_file\nAction Input: {"path": "a",', "not valid JSON"),
    ("Action: read_file\nAction Input:", "empty"),
    ("Action: read_file\nAction Input: " + "[" * 100_000, "levels deep"),
    ("Action: read_file\nAction Input: " + '{"a":' * 100 + "1" + "}" * 100, "levels deep"),
    ('{"action": "read_file", "action_input": ' + "[" * 5000 + "]" * 5000 + "}", "levels deep"),
    ("Thought: only thinking, no action", "neither an Action nor a Final Answer"),
    ("THOUGHT: " + "x" * 50_000, "neither an Action nor a Final Answer"),
]


@pytest.mark.parametrize(("text", "error"), MALFORMED)
def test_malformed_replies_get_one_line(text, error):
    for result in (react.parse(text), stream_result(text, 1), stream_result(text, 7)):
        assert result.kind == "malformed" and error in result.error, result.error
        assert "\n" not in result.error and len(result.error) < 200


def stream_result(text: str, step: int) -> react.ReactResult:
    parser = react.ReactStreamParser()
    for i in range(0, len(text), step):
        parser.feed(text[i : i + step])
    return parser.finish()[2]


ODD_BUT_FINE = [
    # (reply, kind, check)
    ('{"action": "read_file", "action_input": "{\\"path\\": \\"a\\"}"}', "action", {"path": "a"}),
    ('{"action": "read_file", "action_input": "not json {"}', "action", {"input": "not json {"}),
    ('{"action": "read_file", "action_input": [1, 2]}', "action", {"input": [1, 2]}),
    ('{"action": "read_file"}', "action", {}),
    ('{"action": "read_file", "action_input": {"p": "\\ud800x"}}', "action", {"p": "\ufffdx"}),
    ('{"function": 5, "name": "x"}', "plain", None),
    ("{" * 3000, "plain", None),
    ("Action: read_file\nAction Input: \x00\x1b[31m{}", "action", {"input": "\x00\x1b[31m{}"}),
    ('Action: Final Answer\nAction Input: "unterminated', "final", None),
    ('Action: Final Answer\nAction Input: {"answer": ' + "[" * 3000, "final", None),
    ("Final Answer:", "final", None),
    ("\ud800Final Answer: x", "final", None),
]


@pytest.mark.parametrize(("text", "kind", "expected"), ODD_BUT_FINE)
def test_odd_replies_do_not_raise(text, kind, expected):
    for result in (react.parse(text), stream_result(text, 1), stream_result(text, 5)):
        assert result.kind == kind, result
        if expected is not None:
            assert result.action_input == expected


HOSTILE_SCHEMAS: list[object] = [
    None,
    [],
    "schema",
    {"properties": None},
    {"properties": ["a", "b"]},
    {"properties": {"a": None, "b": 5, "c": "str"}},
    {"properties": {"a": {"type": 5}}, "required": "a"},
    {"properties": {"a": {"type": ["string", None, 3]}}, "required": [1, None]},
    {"properties": {"a": {"anyOf": "x"}, "b": {"anyOf": [None, 1]}, "c": {"enum": []}, "d": {"enum": "ab"}}},
    {"properties": {"a": {"items": {"items": {"items": {"items": {"items": {"type": "string"}}}}}, "type": "array"}}},
    {"properties": {"a": {"default": float("nan")}, "b": {"default": {"x": [1] * 1000}}}},
    {"properties": {"a\nAction: run_command": {"type": "string", "description": "x\n" * 500}}},
]


@pytest.mark.parametrize("schema", HOSTILE_SCHEMAS)
def test_prompt_survives_hostile_schemas(schema):
    prompt = react.system_prompt([ToolSpec("t", "desc\x1b]0;title\x07" * 100, schema)])
    tool_lines = [line for line in prompt.splitlines() if line.startswith("- t(")]
    assert len(tool_lines) == 1 and len(tool_lines[0]) < 2000


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Thought:",
                "Action:",
                "Action Input:",
                "Final Answer:",
                "ACTION :",
                "```json\n",
                "```",
                "{",
                "}",
                '"',
                "[",
                "\n",
                " ",
                "final_answer",
                '"action": ',
                '"name": ',
                '"arguments": ',
                "Observation:",
                "é",
                "\ud800",
            ]
        )
        | st.text(max_size=8),
        max_size=30,
    ).map("".join),
    st.integers(1, 9),
)
def test_any_reply_parses_without_raising(text, step):
    result = stream_result(text, step)
    assert result.kind in ("final", "action", "plain", "malformed")
    assert "\n" not in result.error
    assert result == react.parse(text)
    if result.kind == "action":
        assert isinstance(result.action_input, dict) and result.action
