"""A chat's own settings: validation, the three layers, and what each server is sent."""

from __future__ import annotations

import pytest

from a2ia_tui.core.agent.chat_settings import ChatSettings, ChatSettingsError
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.agent.events import Notice, TurnFinished
from a2ia_tui.core.agent.orchestrator import Orchestrator
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.vllm import VLLMClient
from tests.fakes.llm_server import FakeLLMServer, Reply


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("temperature", 2.5, "outside 0..2"),
        ("temperature", -0.1, "outside 0..2"),
        ("temperature", float("nan"), "outside"),
        ("temperature", True, "expected a number"),
        ("temperature", "0.7", "expected a number"),
        ("top_p", 1.01, "outside 0..1"),
        ("max_tokens", 0, "outside 1.."),
        ("max_tokens", 2.5, "whole number"),
        ("think", "yes", "expected true or false"),
        ("system_prompt", 42, "expected text"),
        ("system_prompt", "x" * 100_001, "longer than"),
    ],
)
def test_out_of_range_or_wrong_type_is_one_line_naming_the_field(field, value, reason):
    with pytest.raises(ChatSettingsError) as info:
        ChatSettings(**{field: value})
    assert str(info.value).startswith(f"{field}: ") and reason in str(info.value)
    assert "\n" not in str(info.value)


def test_values_are_normalised():
    s = ChatSettings(temperature=1, max_tokens=256.0, system_prompt="   ")
    assert s.temperature == 1.0 and isinstance(s.temperature, float)
    assert s.max_tokens == 256 and isinstance(s.max_tokens, int)
    assert s.system_prompt is None  # blank means unset, so the config's prompt applies


def test_read_back_keeps_what_is_valid_and_says_what_was_dropped():
    s, notes = ChatSettings.from_dict({"temperature": 0.3, "top_p": 7, "colour": "red", "think": False})
    assert s == ChatSettings(temperature=0.3, think=False)
    assert sorted(notes) == [
        "chat settings: top_p: 7 is outside 0..1; ignored",
        "chat settings: unknown key 'colour' ignored",
    ]
    assert ChatSettings.from_dict(None) == (ChatSettings(), [])
    assert ChatSettings.from_dict([1, 2]) == (ChatSettings(), ["chat settings: not an object, ignored"])
    assert ChatSettings.from_dict(ChatSettings(max_tokens=9, system_prompt="be brief").to_dict())[0] == ChatSettings(
        max_tokens=9, system_prompt="be brief"
    )


def test_layers_flags_over_chat_over_config():
    config = ChatSettings(system_prompt="config prompt", temperature=0.1)
    chat = ChatSettings(temperature=0.5, top_p=0.9)
    flags = ChatSettings(temperature=0.9)
    got = flags.over(chat.over(config))
    assert got == ChatSettings(system_prompt="config prompt", temperature=0.9, top_p=0.9)
    assert ChatSettings().over(config) == config
    assert got.to_dict() == {"system_prompt": "config prompt", "temperature": 0.9, "top_p": 0.9}


def _settings(tmp_path, **agent):
    env = {"A2IA_TOOLS__ENABLED": "false"}
    env.update({f"A2IA_AGENT__{k.upper()}": str(v) for k, v in agent.items()})
    return load_settings(env=env).settings


async def _turn(orch: Orchestrator, conv: Conversation) -> list[object]:
    conv.add_user("hi")
    return [ev async for ev in orch.run_turn(conv)]


async def test_ollama_gets_options_and_think_exactly(tmp_path):
    async with FakeLLMServer("ollama", [Reply(text="ok")], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            orch = Orchestrator(client, None, _settings(tmp_path, system_prompt="from config"))
            conv = Conversation()
            conv.settings = ChatSettings(temperature=0.25, top_p=0.5, max_tokens=64, think=True)
            events = await _turn(orch, conv)
    assert isinstance(events[-1], TurnFinished)
    body = srv.requests[-1].body
    assert body["options"] == {"temperature": 0.25, "top_p": 0.5, "num_predict": 64, "num_ctx": 8192}
    assert body["think"] is True
    assert body["messages"][0] == {"role": "system", "content": "from config"}


async def test_vllm_gets_top_level_fields_and_the_template_switch(tmp_path):
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"], template_switch=True) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            orch = Orchestrator(client, None, _settings(tmp_path))
            orch.overrides = ChatSettings(system_prompt="from flags", max_tokens=32)
            conv = Conversation()
            conv.settings = ChatSettings(system_prompt="from chat", temperature=0.0, think=False)
            await _turn(orch, conv)
    body = srv.requests[-1].body
    assert body["temperature"] == 0.0 and body["max_tokens"] == 32
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "top_p" not in body  # unset: left to the server
    assert body["messages"][0] == {"role": "system", "content": "from flags"}


async def test_every_configured_value_is_the_bottom_layer(tmp_path):
    settings = _settings(tmp_path, temperature=0.7, top_p=0.8, max_tokens=99, think="false")
    async with FakeLLMServer("ollama", [Reply(text="ok")], models=["m"]) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            orch = Orchestrator(client, None, settings)
            conv = Conversation()
            conv.settings = ChatSettings(top_p=0.3)
            await _turn(orch, conv)
    body = srv.requests[-1].body
    assert body["options"] == {"temperature": 0.7, "top_p": 0.3, "num_predict": 99, "num_ctx": 8192}
    assert body["think"] is False


async def test_unset_values_are_omitted_and_no_system_message_is_invented(tmp_path):
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"]) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            await _turn(Orchestrator(client, None, _settings(tmp_path)), Conversation())
    body = srv.requests[-1].body
    for key in ("temperature", "top_p", "max_tokens", "chat_template_kwargs"):
        assert key not in body
    assert [m["role"] for m in body["messages"]] == ["user"]


async def test_a_server_without_a_thinking_switch_says_so_once(tmp_path):
    async with FakeLLMServer("vllm", [Reply(text="one"), Reply(text="two")], models=["m"]) as srv:
        async with OpenAIClient(srv.url, model="m", name="my-proxy") as client:
            orch = Orchestrator(client, None, _settings(tmp_path))
            conv = Conversation()
            conv.settings = ChatSettings(think=True)
            first = await _turn(orch, conv)
            second = await _turn(orch, conv)
    notes = [e.text for e in first if isinstance(e, Notice)]
    assert notes == ["my-proxy: this server has no thinking switch; think was not sent"]
    assert not [e for e in second if isinstance(e, Notice)]
    assert all("think" not in r.body and "chat_template_kwargs" not in r.body for r in srv.requests if r.body)
