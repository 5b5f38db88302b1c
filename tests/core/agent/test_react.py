"""ReAct parsing: incremental, token by token, nested JSON, code fences, unicode, retries."""

from __future__ import annotations

import pytest

from a2ia_tui.core.agent import react
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import (
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
)
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply
from a2ia_tui.core.llm.types import ToolSpec


def stream(text: str, step: int = 1):
    parser = react.ReactStreamParser()
    thinking, answer = [], []
    for i in range(0, len(text), step):
        t, a = parser.feed(text[i : i + step])
        thinking.append(t)
        answer.append(a)
    t, a, result = parser.finish()
    thinking.append(t)
    answer.append(a)
    return "".join(thinking), "".join(answer), result


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_final_answer_token_by_token_is_not_empty(step):
    text = "Thought: I know this.\nFinal Answer: Paris is the capital of France."
    thinking, answer, result = stream(text, step)
    assert result.kind == "final" and result.answer == "Paris is the capital of France."
    assert answer.strip() == "Paris is the capital of France."
    assert "I know this." in thinking and "Final Answer" not in answer


def test_nested_json_in_action_input():
    text = 'Thought: write it\nAction: write_file\nAction Input: {"path": "a.json", "content": "{\\"k\\": [1, {\\"n\\": {}}]}", "opts": {"a": [1, 2, {"b": null}]}}\nObservation:'
    _, _, result = stream(text, 3)
    assert result.kind == "action" and result.action == "write_file"
    assert result.action_input == {
        "path": "a.json",
        "content": '{"k": [1, {"n": {}}]}',
        "opts": {"a": [1, 2, {"b": None}]},
    }


def test_code_fenced_json_and_trailing_chatter():
    text = 'Thought: list it\nAction: list_directory\nAction Input: ```json\n{"path": "src"}\n```\nI will wait for the result now.'
    result = react.parse(text)
    assert result.kind == "action" and result.action_input == {"path": "src"}


def test_unicode_arguments_exact():
    text = 'Action: echo\nAction Input: {"text": "naïve café — 日本語 🌍"}'
    assert react.parse(text).action_input == {"text": "naïve café — 日本語 🌍"}


def test_plain_answer_without_format_streams_as_answer():
    thinking, answer, result = stream("The answer is 4.", 1)
    assert result.kind == "plain" and answer == "The answer is 4." and thinking == ""


def test_malformed_action_input():
    result = react.parse('Thought: hm\nAction: add\nAction Input: {"a": 1, "b":')
    assert result.kind == "malformed" and "not valid JSON" in result.error


def test_system_prompt_lists_tools_with_signatures():
    prompt = react.system_prompt(
        [
            ToolSpec(
                "add", "Add numbers", {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
            )
        ]
    )
    assert "- add(a: int): Add numbers" in prompt and "Final Answer:" in prompt


class FakeHub:
    """Just enough of MCPHub for ReAct orchestration tests without processes."""

    def __init__(self):
        from a2ia_tui.core.tools.hub import HubTool

        self._tools = [
            HubTool(
                "add",
                "toy",
                "add",
                "Add",
                {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
                True,
                False,
            )
        ]

    def tools(self):
        return self._tools

    def specs(self):
        return [t.spec() for t in self._tools]

    def tool(self, name):
        return next((t for t in self._tools if t.name == name), None)

    async def call(self, name, args):
        from a2ia_tui.core.tools.hub import ToolResult

        return ToolResult(str(args["a"] + args["b"]), False)


async def test_react_turn_with_malformed_output_gets_bounded_reminders():
    settings = load_settings(env={}).settings
    settings.agent.mode = "react"
    settings.agent.react_format_retries = 2
    client = ScriptedClient(
        [
            text_reply("Thought: let me think more"),
            text_reply('Thought: add\nAction: add\nAction Input: {"a": 2,'),
            text_reply('Thought: ok\nAction: add\nAction Input: {"a": 2, "b": 3}'),
            text_reply("Thought: done\nFinal Answer: 5"),
        ]
    )
    conv = Conversation()
    conv.add_user("2+3?")
    events = [e async for e in Orchestrator(client, FakeHub(), settings).run_turn(conv)]
    assert len([e for e in events if isinstance(e, Notice)]) == 2
    assert [e.result for e in events if isinstance(e, ToolCallFinished)] == ["5"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == "5"
    assert any(isinstance(e, ThinkingDelta) for e in events)
    assert isinstance(events[-1], TurnFinished)
    assert react.FORMAT_REMINDER in client.calls[1].messages[-1].content
    assert conv.messages[-1].content == "5"


async def test_react_retries_are_bounded():
    settings = load_settings(env={}).settings
    settings.agent.mode = "react"
    settings.agent.react_format_retries = 1
    client = ScriptedClient([text_reply("Thought: hmm"), text_reply("Thought: hmm again")])
    conv = Conversation()
    conv.add_user("?")
    events = [e async for e in Orchestrator(client, FakeHub(), settings).run_turn(conv)]
    assert isinstance(events[-1], TurnFinished) and client.remaining == 0
    assert not [e for e in events if isinstance(e, ToolCallRequested)]
