"""Orchestrator with a scripted LLMClient and a real MCP hub (built-in server + toy server)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import (
    Approval,
    ApprovalNeeded,
    Notice,
    TextDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFailed,
    TurnFinished,
    Usage,
)
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import MCPServerConfig, load_settings
from a2ia_tui.core.errors import StreamInterrupted, ToolsUnsupported
from a2ia_tui.core.llm.scripted import ScriptedClient, ScriptStep, make_call, text_reply, tool_reply
from a2ia_tui.core.llm.types import ChatChunk, FunctionCall, Message, ToolCall
from a2ia_tui.core.tools.hub import MCPHub

TOY = Path(__file__).resolve().parents[2] / "fakes" / "mcp_servers" / "toy_server.py"


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "notes.txt").write_text("the secret is 42\n", encoding="utf-8")
    return load_settings(env={"A2IA_TOOLS__WORKSPACE": str(tmp_path)}).settings


@pytest.fixture
async def hub(settings):
    toy = MCPServerConfig(name="toy", command=sys.executable, args=[str(TOY)])
    h = MCPHub({"toy": toy}, settings)
    await h.start()
    assert all(s.status == "ready" for s in h.states().values()), h.states()
    yield h
    await h.aclose()


async def run(orch, conv, text="question", approve=Approval.ALLOW):
    conv.add_user(text)
    events = []
    async for ev in orch.run_turn(conv):
        events.append(ev)
        if isinstance(ev, ApprovalNeeded):
            ev.future.set_result(approve)
    return events


def kinds(events, cls):
    return [e for e in events if isinstance(e, cls)]


async def test_tool_call_split_over_many_chunks_runs_once(settings, hub):
    # The client layer already assembles fragments; here the call arrives on one chunk as the
    # contract says, and must run exactly once even though the stream goes on afterwards.
    call = make_call("add", {"a": 2, "b": 40}, "c1")
    step = ScriptStep(
        chunks=[
            ChatChunk(message=Message(role="assistant", content="Let me add. ")),
            ChatChunk(message=Message(role="assistant", tool_calls=[call])),
            ChatChunk(message=Message(role="assistant", content="")),
            ChatChunk(done=True, done_reason="tool_calls", eval_count=9, prompt_eval_count=5),
        ]
    )
    client = ScriptedClient([step, text_reply("It is 42.")])
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv)
    finished = kinds(events, ToolCallFinished)
    assert len(kinds(events, ToolCallRequested)) == 1 and len(finished) == 1
    assert finished[0].result == "42" and not finished[0].is_error
    roles = [m.role for m in conv.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    tool_msg = conv.messages[2]
    assert tool_msg.tool_call_id == "c1" and tool_msg.tool_name == "add" and tool_msg.content == "42"
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "stop"
    # the second request carried the tool result and the tool list
    assert client.calls[1].messages[-1].role == "tool"
    assert {t.name for t in client.calls[0].tools} >= {"add", "read_file"}
    usage = kinds(events, Usage)
    assert usage[0].completion_tokens == 9 and usage[0].exact


async def test_two_parallel_calls_results_in_call_order(settings, hub):
    client = ScriptedClient(
        [
            tool_reply(("slow", {"seconds": 0.4}), ("add", {"a": 1, "b": 1})),
            text_reply("done"),
        ]
    )
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv)
    finished = kinds(events, ToolCallFinished)
    assert [f.result for f in finished] == ["2", "slept"]  # concurrent: the fast one ends first
    tools = [m for m in conv.messages if m.role == "tool"]
    assert [m.content for m in tools] == ["slept", "2"]  # appended in call order


async def test_bad_json_unknown_tool_and_schema_violation_go_back_as_errors(settings, hub):
    bad_json = ToolCall(
        id="b1", function=FunctionCall(name="add", raw_arguments='{"a": 1,', error="invalid JSON in arguments: x")
    )
    client = ScriptedClient(
        [
            tool_reply(bad_json, ("no_such_tool", {}), ("add", {"a": "one", "b": 2})),
            text_reply("sorry"),
        ]
    )
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv)
    results = [f.result for f in kinds(events, ToolCallFinished)]
    assert "not valid JSON" in results[0]
    assert "unknown tool 'no_such_tool'" in results[1] and "read_file" in results[1]
    assert "invalid arguments for 'add' at a" in results[2]
    assert all(f.is_error for f in kinds(events, ToolCallFinished))
    assert [m.content.startswith("Error") for m in conv.messages if m.role == "tool"] == [True] * 3


async def test_tool_error_result(settings, hub):
    client = ScriptedClient([tool_reply(("read_file", {"path": "missing.txt"})), text_reply("no file")])
    events = await run(Orchestrator(client, hub, settings), Conversation())
    (fin,) = kinds(events, ToolCallFinished)
    assert fin.is_error and "not a file" in fin.result


async def test_max_steps_stops_with_a_clear_message(settings, hub):
    settings.agent.max_steps = 2
    client = ScriptedClient([tool_reply(("noop", {})), tool_reply(("noop", {})), tool_reply(("noop", {}))])
    events = await run(Orchestrator(client, hub, settings), Conversation())
    assert isinstance(events[-1], TurnFinished) and events[-1].reason == "max_steps"
    assert "max_steps" in kinds(events, Notice)[0].text
    assert client.remaining == 1


@pytest.mark.parametrize("answer, expect", [(Approval.ALLOW, False), (Approval.DENY, True)])
async def test_approval_for_destructive_tools(settings, hub, tmp_path, answer, expect):
    client = ScriptedClient([tool_reply(("write_file", {"path": "out.txt", "content": "héllo"})), text_reply("ok")])
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv, approve=answer)
    (need,) = kinds(events, ApprovalNeeded)
    assert need.call.name == "write_file" and need.reason == "destructive"
    (fin,) = kinds(events, ToolCallFinished)
    assert fin.is_error is expect
    assert (tmp_path / "out.txt").exists() is (not expect)
    if expect:
        assert "declined" in fin.result


async def test_always_allow_for_the_session_and_overrides(settings, hub, tmp_path):
    settings.tools.overrides["run_command"] = "deny"
    orch = Orchestrator(
        ScriptedClient(
            [
                tool_reply(("write_file", {"path": "a.txt", "content": "1"})),
                text_reply("ok"),
                tool_reply(("write_file", {"path": "b.txt", "content": "2"}), ("run_command", {"command": "ls"})),
                text_reply("ok"),
            ]
        ),
        hub,
        settings,
    )
    conv = Conversation()
    first = await run(orch, conv, approve=Approval.ALWAYS)
    assert len(kinds(first, ApprovalNeeded)) == 1
    second = await run(orch, conv)
    assert kinds(second, ApprovalNeeded) == []
    fins = {f.name: f for f in kinds(second, ToolCallFinished)}
    assert not fins["write_file"].is_error and "disabled" in fins["run_command"].result


async def test_no_one_to_ask_declines_unless_yes(settings, hub, tmp_path):
    for auto, exists in ((False, False), (True, True)):
        orch = Orchestrator(
            ScriptedClient([tool_reply(("write_file", {"path": f"x{auto}.txt", "content": "1"})), text_reply("ok")]),
            hub,
            settings,
        )
        orch.interactive, orch.auto_approve = False, auto
        events = await run(orch, Conversation())
        assert kinds(events, ApprovalNeeded) == []
        assert (tmp_path / f"x{auto}.txt").exists() is exists


async def test_cancel_mid_stream_keeps_partial_marked_and_next_turn_works(settings, hub):
    client = ScriptedClient([text_reply("one two three four five six seven", delay_s=0.05), text_reply("fresh answer")])
    orch = Orchestrator(client, hub, settings)
    conv = Conversation()
    conv.add_user("long please")
    got: list[str] = []

    async def consume():
        async for ev in orch.run_turn(conv):
            if isinstance(ev, TextDelta):
                got.append(ev.text)

    task = asyncio.create_task(consume())
    while len(got) < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    last = conv.entries[-1]
    assert last.message.role == "assistant" and last.meta.status == "interrupted"
    assert last.message.content == "".join(got)
    events = await run(orch, conv, "again")
    assert "".join(e.text for e in kinds(events, TextDelta)) == "fresh answer"


async def test_cancel_mid_tool_cancels_and_history_stays_valid(settings, hub):
    client = ScriptedClient([tool_reply(("slow", {"seconds": 5})), text_reply("after")])
    orch = Orchestrator(client, hub, settings)
    conv = Conversation()
    conv.add_user("wait")
    started = asyncio.Event()

    async def consume():
        async for ev in orch.run_turn(conv):
            if isinstance(ev, ToolCallRequested):
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    tool_msgs = [e for e in conv.entries if e.message.role == "tool"]
    assert len(tool_msgs) == 1 and "cancelled" in tool_msgs[0].message.content
    events = await run(orch, conv, "next")
    assert isinstance(events[-1], TurnFinished)


async def test_backend_failure_mid_stream_is_turn_failed_with_partial(settings, hub):
    step = text_reply("partial words here")
    step.chunks = step.chunks[:2]
    step.error = StreamInterrupted("the server closed the connection mid-stream", "partial words")
    conv = Conversation()
    events = await run(Orchestrator(ScriptedClient([step]), hub, settings), conv)
    assert isinstance(events[-1], TurnFailed) and "closed the connection" in events[-1].message
    assert conv.entries[-1].meta.status == "failed" and conv.entries[-1].message.content == "partial words"


async def test_backend_swap_between_turns_keeps_the_conversation(settings, hub):
    a = ScriptedClient([text_reply("from a")], name="a")
    b = ScriptedClient([text_reply("from b")], name="b")
    orch = Orchestrator(a, hub, settings)
    conv = Conversation()
    await run(orch, conv, "first")
    orch.set_client(b)
    await run(orch, conv, "second")
    assert [m.content for m in b.calls[0].messages if m.role != "system"] == ["first", "from a", "second"]
    assert [e.meta.backend for e in conv.entries if e.message.role == "assistant"] == ["a", "b"]


async def test_huge_result_truncated_for_the_model_full_for_the_ui(settings, hub, tmp_path):
    settings.agent.max_tool_result_chars = 500
    (tmp_path / "big.txt").write_text("x" * 5000)
    client = ScriptedClient([tool_reply(("read_file", {"path": "big.txt"})), text_reply("big")])
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv)
    (fin,) = kinds(events, ToolCallFinished)
    assert len(fin.result) == 5000 and fin.truncated_for_model
    entry = next(e for e in conv.entries if e.message.role == "tool")
    assert len(entry.message.content) < 700 and "truncated" in entry.message.content
    assert entry.meta.full_result == "x" * 5000


async def test_auto_mode_falls_back_to_react_when_tools_are_rejected(settings, hub):
    rejected = ScriptStep(
        error=ToolsUnsupported(400, '"auto" tool choice requires --enable-auto-tool-choice', hint="x")
    )
    client = ScriptedClient(
        [
            rejected,
            text_reply('Thought: I should add.\nAction: add\nAction Input: {"a": 20, "b": 22}'),
            text_reply("Thought: I know.\nFinal Answer: 42"),
        ],
        name="vllm",
    )
    conv = Conversation()
    events = await run(Orchestrator(client, hub, settings), conv)
    assert "ReAct" in kinds(events, Notice)[0].text
    assert kinds(events, ToolCallFinished)[0].result == "42"
    assert "".join(e.text for e in kinds(events, TextDelta)).strip() == "42"
    assert client.calls[1].tools is None and "Action Input" in client.calls[1].messages[0].content
    assert client.calls[2].messages[-1].content == "Observation: 42"


async def test_an_empty_failed_step_stays_for_the_ui_but_is_not_sent_to_the_model(settings, hub):
    from a2ia_tui.core.errors import BackendHTTPError

    client = ScriptedClient([ScriptStep(error=BackendHTTPError(500, "boom")), text_reply("fine now")])
    orch = Orchestrator(client, hub, settings)
    conv = Conversation()
    first = await run(orch, conv, "one")
    assert isinstance(first[-1], TurnFailed)
    failed = conv.entries[-1]
    assert failed.message.role == "assistant" and failed.meta.status == "failed" and "boom" in failed.meta.error
    await run(orch, conv, "two")
    sent = client.calls[1].messages
    assert [m.role for m in sent] == ["user", "user"] and [m.content for m in sent] == ["one", "two"]
