"""Thinking on/off on vLLM: ``enable_thinking`` is sent only to a chat template that reads it.

The loopback vLLM answers ``POST /tokenize`` through a scripted template with or without the
switch; hostile answers (errors, not JSON, wrong types) must leave the switch sent as asked, with
no claim and no crash.
"""

from __future__ import annotations

import socket

import pytest

from a2ia_tui.core.agent.chat_settings import ChatSettings
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import AgentEvent, Notice, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.vllm import VLLMClient
from tests.fakes.llm_server import FakeLLMServer, Reply

NO_SWITCH = "vllm: m's chat template has no thinking switch; think was not sent"


def _orchestrator(client: VLLMClient | OpenAIClient) -> Orchestrator:
    return Orchestrator(client, None, load_settings(env={"A2IA_TOOLS__ENABLED": "false"}).settings)


async def _turns(orch: Orchestrator, think: bool | None, n: int = 2) -> list[list[AgentEvent]]:
    conv = Conversation()
    conv.settings = ChatSettings(think=think)
    out: list[list[AgentEvent]] = []
    for _ in range(n):
        conv.add_user("hi")
        out.append([ev async for ev in orch.run_turn(conv)])
    return out


def _chats(srv: FakeLLMServer) -> list[dict]:
    return [r.body for r in srv.requests if r.path == "/v1/chat/completions"]


def _tokenizes(srv: FakeLLMServer) -> list[dict]:
    return [r.body for r in srv.requests if r.path == "/tokenize"]


@pytest.mark.parametrize("think", [True, False])
async def test_a_template_with_the_switch_gets_it_exactly_and_is_asked_once(think):
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"], template_switch=True) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            turns = await _turns(_orchestrator(client), think)
            assert await client.thinking_switch() is True
    assert all(isinstance(t[-1], TurnFinished) for t in turns)
    assert not [e for t in turns for e in t if isinstance(e, Notice)]
    assert [b["chat_template_kwargs"] for b in _chats(srv)] == [{"enable_thinking": think}] * 2
    # one probe (two renderings), in vLLM's TokenizeChatRequest shape, for both turns
    asked = _tokenizes(srv)
    assert sorted(b["chat_template_kwargs"]["enable_thinking"] for b in asked) == [False, True]
    assert all(b["model"] == "m" and b["add_generation_prompt"] is True and b["messages"] for b in asked)


async def test_a_template_without_the_switch_is_not_sent_it_and_the_user_is_told_once():
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"]) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            first, second = await _turns(_orchestrator(client), True)
    assert [e.text for e in first if isinstance(e, Notice)] == [NO_SWITCH]
    assert not [e for e in second if isinstance(e, Notice)]
    assert isinstance(second[-1], TurnFinished)
    assert all("chat_template_kwargs" not in b for b in _chats(srv))
    assert len(_tokenizes(srv)) == 2


async def test_no_thinking_setting_asks_nothing():
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"]) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            await _turns(_orchestrator(client), None, n=1)
    assert not _tokenizes(srv)
    assert "chat_template_kwargs" not in _chats(srv)[0]


async def test_the_answer_is_kept_per_model():
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m", "other"]) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            assert await client.thinking_switch() is False
            srv.template_switch = True  # (a different model behind the same server)
            assert await client.thinking_switch() is False  # kept: not asked again
            client.model = "other"
            assert await client.thinking_switch() is True
    assert len(_tokenizes(srv)) == 4


HOSTILE = [
    pytest.param((404, {"detail": "Not Found"}), id="no-tokenize-route"),
    pytest.param((500, {"error": {"message": "boom", "type": "InternalServerError", "code": 500}}), id="500"),
    pytest.param((200, b"{not json"), id="bad-json"),
    pytest.param((200, b""), id="empty-body"),
    pytest.param((200, [1, 2, 3]), id="a-list"),
    pytest.param((200, {"count": 3}), id="no-tokens"),
    pytest.param((200, {"tokens": "123"}), id="tokens-a-string"),
    pytest.param((200, {"tokens": [1, "2", 3]}), id="a-token-not-an-int"),
    pytest.param((200, {"tokens": [True, False]}), id="booleans"),
    pytest.param((200, {"tokens": []}), id="no-token-at-all"),
    pytest.param((200, {"tokens": None}), id="null"),
]


@pytest.mark.parametrize("answer", HOSTILE)
async def test_a_hostile_or_missing_tokenize_falls_back_to_sending_the_switch(answer):
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"]) as srv:
        srv.tokenize_answer = answer
        async with VLLMClient(srv.url, model="m") as client:
            first, second = await _turns(_orchestrator(client), False)
            assert await client.thinking_switch() is None
    assert isinstance(first[-1], TurnFinished) and isinstance(second[-1], TurnFinished)
    assert not [e for t in (first, second) for e in t if isinstance(e, Notice)]  # no claim either way
    assert [b["chat_template_kwargs"] for b in _chats(srv)] == [{"enable_thinking": False}] * 2
    assert len(_tokenizes(srv)) == 2  # "no answer" is kept too: not asked every turn


async def test_an_unreachable_server_is_not_remembered():
    with socket.socket() as s:  # a port nothing listens on (until the fake takes it below)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with VLLMClient(f"http://127.0.0.1:{port}/v1", model="m") as client:
        assert await client.thinking_switch() is None
        async with FakeLLMServer("vllm", models=["m"], template_switch=True, port=port):
            assert await client.thinking_switch() is True  # asked again once it is up


async def test_a_generic_openai_server_is_never_probed_and_says_it_has_no_switch():
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"], template_switch=True) as srv:
        async with OpenAIClient(srv.url, model="m", name="proxy") as client:
            (events,) = await _turns(_orchestrator(client), True, n=1)
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "proxy: this server has no thinking switch; think was not sent"
    ]
    assert not _tokenizes(srv)
