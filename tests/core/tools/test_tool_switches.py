"""Tools switched off: by the mcpServers file (``disabled``, ``disabledTools``: every client,
a2ia-cli included) and per chat (``Conversation.tools_off``)."""

from __future__ import annotations

import json

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import ToolCallFinished, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import load_mcp_servers
from a2ia_tui.core.errors import ConfigError
from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply, tool_reply
from a2ia_tui.core.tools.hub import MCPHub
from tests.helpers.tools import FAKES


def write_file(tmp_path, servers: dict) -> object:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def toy_entry(**extra: object) -> dict:
    import sys

    return {"command": sys.executable, "args": [str(FAKES / "toy_server.py"), "--name", "toy"], **extra}


async def test_disabled_tools_are_never_offered_and_an_unknown_name_is_a_note(settings, tmp_path):
    servers = load_mcp_servers(write_file(tmp_path, {"toy": toy_entry(disabledTools=["crash", "add", "nosuch"])}))
    assert servers["toy"].disabled_tools == ["crash", "add", "nosuch"]
    async with MCPHub(servers, settings, builtin=False) as hub:
        state = hub.states()["toy"]
        names = {t.name for t in hub.tools()}
        assert state.status == "ready" and state.tool_count == len(names)
        assert "echo" in names and not {"crash", "add"} & names
        assert hub.tool("crash") is None
        assert state.note == "disabledTools names no tool of this server: 'nosuch'"


async def test_a_disabled_server_is_not_started(settings, tmp_path):
    servers = load_mcp_servers(write_file(tmp_path, {"toy": toy_entry(disabled=True)}))
    async with MCPHub(servers, settings, builtin=False) as hub:
        assert hub.states() == {} and hub.tools() == []


def test_disabled_tools_of_the_wrong_type_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_mcp_servers(write_file(tmp_path, {"toy": toy_entry(disabledTools="crash")}))
    assert "mcpServers.toy.disabledTools" in str(info.value) and "\n" not in str(info.value)


async def test_a_chat_that_turned_a_tool_off_neither_offers_nor_runs_it(settings, tmp_path):
    servers = load_mcp_servers(write_file(tmp_path, {"toy": toy_entry()}))
    async with MCPHub(servers, settings, builtin=False) as hub:
        client = ScriptedClient([tool_reply(("echo", {"text": "hi"})), text_reply("done")])
        orch = Orchestrator(client, hub, settings)
        conv = Conversation(tools_off=frozenset({"toy/echo"}))
        conv.add_user("echo hi")
        events = [ev async for ev in orch.run_turn(conv)]
        offered = {t.name for t in client.calls[0].tools or ()}
        assert "echo" not in offered and "add" in offered
        finished = [e for e in events if isinstance(e, ToolCallFinished)]
        assert len(finished) == 1 and finished[0].is_error and "echo" in finished[0].result
        assert isinstance(events[-1], TurnFinished)
        # the whole server off: nothing of it is offered; another chat still has everything
        conv2 = Conversation(tools_off=frozenset({"toy"}))
        conv2.add_user("hi")
        client.add(text_reply("ok"), text_reply("ok"))
        [ev async for ev in orch.run_turn(conv2)]
        assert not client.calls[-1].tools
        conv3 = Conversation()
        conv3.add_user("hi")
        [ev async for ev in orch.run_turn(conv3)]
        assert "echo" in {t.name for t in client.calls[-1].tools or ()}
