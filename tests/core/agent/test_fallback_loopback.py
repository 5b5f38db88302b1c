"""``auto`` mode against loopback servers speaking the real wire formats: vLLM's 400 without
auto tool choice, and Ollama's 400 "<model> does not support tools" (remembered per model)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import Notice, TextDelta, ToolCallFinished, TurnFailed, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import MCPServerConfig, load_settings
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.tools.hub import MCPHub

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.fakes.llm_server import FakeLLMServer, Reply

TOY = Path(__file__).resolve().parents[2] / "fakes" / "mcp_servers" / "toy_server.py"
NO_TOOLS = {"error": "registry.ollama.ai/library/gemma:2b does not support tools"}


@pytest.fixture
async def hub(tmp_path):
    settings = load_settings(env={"A2IA_TOOLS__WORKSPACE": str(tmp_path)}).settings
    h = MCPHub({"toy": MCPServerConfig(name="toy", command=sys.executable, args=[str(TOY)])}, settings, builtin=False)
    await h.start()
    assert h.states()["toy"].status == "ready", h.states()
    yield h
    await h.aclose()


async def turn(orch: Orchestrator, conv: Conversation, text: str) -> list:
    conv.add_user(text)
    return [ev async for ev in orch.run_turn(conv)]


async def test_vllm_without_auto_tool_choice_falls_back_to_react(hub):
    replies = [
        Reply(text='Thought: add them\nAction: add\nAction Input: {"a": 40, "b": 2}'),
        Reply(text="Thought: done\nFinal Answer: forty-two"),
    ]
    async with FakeLLMServer("vllm", replies=replies, auto_tool_choice=False) as srv:
        client = OpenAIClient(srv.url, name="vllm", model="fake-model")
        try:
            orch = Orchestrator(client, hub, hub.settings)
            conv = Conversation()
            events = await turn(orch, conv, "what is 40+2?")
        finally:
            await client.aclose()
        bodies = [r.body for r in srv.requests if r.path.endswith("/chat/completions")]
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and "ReAct" in notices[0].text and "enable-auto-tool-choice" in notices[0].text
    assert [e.result for e in events if isinstance(e, ToolCallFinished)] == ["42"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == "forty-two"
    assert isinstance(events[-1], TurnFinished)
    # First request carried tools and was refused; the ReAct ones carry none.
    assert bodies[0].get("tools") and all(not b.get("tools") for b in bodies[1:])
    assert len(bodies) == 3


async def test_ollama_model_without_tools_falls_back_per_model(hub):
    replies = [
        Reply(status=400, error_body=NO_TOOLS),
        Reply(text="Thought: easy\nFinal Answer: hi from gemma"),
        Reply(text="Thought: again\nFinal Answer: still gemma"),
        Reply(text="hello from qwen"),
    ]
    async with FakeLLMServer("ollama", replies=replies, models=["gemma:2b", "qwen2.5:7b"]) as srv:

        def chat_bodies() -> list[dict]:
            return [r.body for r in srv.requests if r.path == "/api/chat"]

        client = OllamaClient(srv.url, name="ollama", model="gemma:2b")
        other = OllamaClient(srv.url, name="ollama", model="qwen2.5:7b")
        try:
            orch = Orchestrator(client, hub, hub.settings)
            conv = Conversation()
            first = await turn(orch, conv, "hi")
            n1 = len(chat_bodies())
            second = await turn(orch, conv, "again")
            n2 = len(chat_bodies())
            orch.set_client(other)  # tool support is per model on Ollama: native again
            third = await turn(orch, conv, "and you?")
            bodies = chat_bodies()
        finally:
            await client.aclose()
            await other.aclose()

    text = lambda evs: "".join(e.text for e in evs if isinstance(e, TextDelta)).strip()  # noqa: E731
    assert any(isinstance(e, Notice) and "does not support tools" in e.text for e in first)
    assert text(first) == "hi from gemma" and n1 == 2
    assert bodies[0].get("tools") and not bodies[1].get("tools")
    # Same model, next turn: straight to ReAct, no second refusal, no second notice.
    assert text(second) == "still gemma" and n2 == 3 and not bodies[2].get("tools")
    assert not any(isinstance(e, Notice) for e in second)
    assert text(third) == "hello from qwen" and bodies[3].get("tools") and bodies[3]["model"] == "qwen2.5:7b"
    assert isinstance(third[-1], TurnFinished)


async def test_native_mode_does_not_fall_back(hub):
    async with FakeLLMServer("vllm", replies=[Reply(text="unused")], auto_tool_choice=False) as srv:
        client = OpenAIClient(srv.url, name="vllm", model="fake-model")
        try:
            orch = Orchestrator(client, hub, hub.settings)
            orch.mode = "native"
            conv = Conversation()
            events = await turn(orch, conv, "x")
        finally:
            await client.aclose()
    assert isinstance(events[-1], TurnFailed) and "enable-auto-tool-choice" in events[-1].message
    assert not any(isinstance(e, Notice) for e in events)
