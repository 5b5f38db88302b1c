"""Whether tools reach a backend's model (core.agent.toolsupport), and what the agent then sends
and says: a scripted client of each kind and a real built-in MCP hub."""

from __future__ import annotations

import pytest

from a2ia_tui.core.agent import toolsupport
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import Notice, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.agent.toolsupport import ToolProtocol, chat_format, decide
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply
from a2ia_tui.core.tools.hub import MCPHub


def settings_with(tmp_path, **env):
    base = {"A2IA_TOOLS__WORKSPACE": str(tmp_path)}
    return load_settings(env={**base, **{f"A2IA_{k}": v for k, v in env.items()}}).settings


def client(kind: str, replies=None) -> ScriptedClient:
    c = ScriptedClient(replies or [text_reply("hi")] * 3)
    c.kind = kind
    c.name = kind
    return c


def test_other_backends_stay_auto(tmp_path):
    s = settings_with(tmp_path)
    for kind in ("vllm", "ollama", "openai"):
        assert decide(s, client(kind)) == ToolProtocol("auto")


def test_users_choice_wins(tmp_path):
    s = settings_with(tmp_path)
    assert decide(s, client("local"), "react").mode == "react"
    assert decide(s, client("local"), "native").mode == "native"
    off = decide(settings_with(tmp_path, TOOLS__ENABLED="false"), client("vllm"))
    assert off.mode == "off" and "--no-tools" in off.reason


def test_bundled_model_default_format_gets_the_measured_choice(tmp_path):
    s = settings_with(tmp_path)
    p = decide(s, client("local"))
    assert p.mode == toolsupport.BUNDLED_MODEL.mode and p.mode in ("react", "off")
    assert "does not pass tools to the model" in p.reason
    # the reason quotes the measurement it rests on
    assert f"ReAct: {toolsupport.BUNDLED_MEASURED['react']} of 20" in p.reason


def test_the_measured_rule_better_of_the_two_if_at_least_half_else_off():
    assert toolsupport.measured_choice(react=0, native=8) == "off"  # what SmolLM2-135M did
    assert toolsupport.measured_choice(react=12, native=8) == "react"
    assert toolsupport.measured_choice(react=10, native=10) == "react"  # a tie: ReAct needs no server support
    assert toolsupport.measured_choice(react=3, native=11) == "native"
    assert toolsupport.measured_choice(react=9, native=9) == "off"
    assert toolsupport.BUNDLED_MODEL.mode == toolsupport.measured_choice(**toolsupport.BUNDLED_MEASURED)


def test_function_calling_format_still_cannot_stream_tool_calls(tmp_path):
    for env in ({"ENGINES__LOCAL__CHAT_FORMAT": "chatml-function-calling"},):
        p = decide(settings_with(tmp_path, **env), client("local"))
        assert p.mode != "native" and "cannot stream" in p.reason


def test_chat_format_read_from_extra_args(tmp_path):
    s = settings_with(tmp_path, ENGINES__LOCAL__EXTRA_ARGS='["--chat_format", "functionary-v2"]')
    assert chat_format(s.engines.local) == "functionary-v2"
    s = settings_with(
        tmp_path, ENGINES__LOCAL__CHAT_FORMAT="chatml", ENGINES__LOCAL__EXTRA_ARGS='["--chat_format=llama-3"]'
    )
    assert chat_format(s.engines.local) == "llama-3"
    assert "llama-3 chat format does not pass tools" in decide(s, client("local")).reason


def test_another_gguf_on_the_local_engine_uses_react(tmp_path):
    gguf = tmp_path / "big.gguf"
    gguf.write_bytes(b"GGUF")
    p = decide(settings_with(tmp_path, ENGINES__LOCAL__MODEL_PATH=str(gguf)), client("local"))
    assert p.mode == "react" and "ReAct" in p.reason


@pytest.fixture
async def hub(tmp_path):
    h = MCPHub({}, settings_with(tmp_path))
    await h.start()
    yield h
    await h.aclose()


async def turn(orch: Orchestrator, text: str = "list the files here") -> list:
    conv = Conversation()
    conv.add_user(text)
    return [ev async for ev in orch.run_turn(conv)]


@pytest.mark.parametrize("bundled", ["off", "react"])
async def test_what_the_bundled_model_is_sent_and_told(tmp_path, hub, monkeypatch, bundled):
    monkeypatch.setattr(toolsupport, "BUNDLED_MODEL", ToolProtocol(bundled, "measured: {react} / {native}"))
    s = settings_with(tmp_path)
    c = client("local")
    orch = Orchestrator(c, hub, s)
    assert orch.tool_protocol().label == ("tools: off" if bundled == "off" else "ReAct")
    first = await turn(orch)
    notes = [e for e in first if isinstance(e, Notice)]
    assert len(notes) == 1 and "local: " in notes[0].text and "does not pass tools" in notes[0].text
    assert isinstance(first[-1], TurnFinished)
    sent = c.calls[0]
    # native tools are never sent to this engine: it would drop them silently
    assert sent.tools is None
    system = [m.content for m in sent.messages if m.role == "system"]
    if bundled == "off":
        assert system == []
    else:
        assert "Action Input" in system[0] and "list_directory" in system[0]
    # said once per backend and decision, not every turn
    second = await turn(orch)
    assert not [e for e in second if isinstance(e, Notice)]
    # ctrl+r (mode react) gives the model ReAct whatever the default
    orch.mode = "react"
    assert orch.tool_protocol().label == "ReAct"


async def test_vllm_still_gets_native_tools_and_no_notice(tmp_path, hub):
    c = client("vllm")
    orch = Orchestrator(c, hub, settings_with(tmp_path))
    events = await turn(orch)
    assert not [e for e in events if isinstance(e, Notice)]
    assert c.calls[0].tools and orch.tool_protocol().label == "tools: auto"
