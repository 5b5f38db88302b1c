"""Fitting a request into the context window: whole turns go, oldest first; pairs stay paired."""

from __future__ import annotations

from a2ia_tui.core.agent.context import chars_per_token, estimate_tokens, fit_context, turns
from a2ia_tui.core.llm.scripted import make_call
from a2ia_tui.core.llm.types import Message


def chat(n_turns: int, size: int = 300) -> list[Message]:
    msgs = [Message(role="system", content="be brief")]
    for i in range(n_turns):
        msgs.append(Message(role="user", content=f"q{i} " + "x" * size))
        call = make_call("read_file", {"path": f"f{i}.txt"}, f"c{i}")
        msgs.append(Message(role="assistant", content="", tool_calls=[call]))
        msgs.append(Message(role="tool", content="y" * size, tool_call_id=f"c{i}", tool_name="read_file"))
        msgs.append(Message(role="assistant", content=f"a{i} " + "z" * size))
    return msgs


def test_a_chat_that_fits_is_sent_whole():
    msgs = chat(3)
    fit = fit_context(msgs, limit=10_000)
    assert fit.messages == msgs and fit.dropped_turns == 0 and not fit.overflow
    assert fit.estimate == estimate_tokens(msgs)


def test_oldest_whole_turns_go_first_keeping_the_system_prompt_and_pairs():
    msgs = chat(10)
    limit = estimate_tokens(chat(4))  # room for about four turns
    fit = fit_context(msgs, limit=limit)
    assert fit.dropped_turns >= 6 and not fit.overflow and fit.estimate <= limit
    assert fit.messages[0] == msgs[0]  # the system prompt stays
    assert fit.messages[-4:] == msgs[-4:]  # the last turn stays
    # every tool result still follows the call it answers, and the kept part starts at a question
    assert fit.messages[1].role == "user"
    ids = [c.id for m in fit.messages for c in m.tool_calls]
    assert [m.tool_call_id for m in fit.messages if m.role == "tool"] == ids


def test_the_answer_reserve_counts():
    msgs = chat(4)
    size = estimate_tokens(msgs)
    assert fit_context(msgs, limit=size).dropped_turns == 0
    assert fit_context(msgs, limit=size, reserve=200).dropped_turns >= 1


def test_policy_stop_drops_nothing_and_says_overflow():
    msgs = chat(10)
    fit = fit_context(msgs, limit=500, drop_oldest=False)
    assert fit.messages == msgs and fit.dropped_turns == 0 and fit.overflow


def test_a_last_turn_larger_than_the_window_is_an_overflow_not_an_empty_request():
    msgs = [Message(role="system", content="s"), Message(role="user", content="x" * 30_000)]
    fit = fit_context(msgs, limit=1_000)
    assert fit.messages == msgs and fit.overflow


def test_turns_cut_at_each_question():
    msgs = chat(2)
    assert [len(t) for t in turns(msgs)] == [1, 4, 4]  # the system message alone, then two turns


def test_the_servers_usage_calibrates_the_estimate():
    msgs = [Message(role="user", content="x" * 4_000)]
    assert chars_per_token(msgs, 1_004) == 4.0
    assert chars_per_token(msgs, None) is None
    assert chars_per_token(msgs, 3) is None  # nonsense figures are ignored
    assert estimate_tokens(msgs, 4.0) < estimate_tokens(msgs)  # the default errs on the large side


# -- in the orchestrator, against loopback servers that report their window --------------------

from a2ia_tui.core.agent.conversation import Conversation  # noqa: E402
from a2ia_tui.core.agent.events import Notice, TurnFailed, TurnFinished  # noqa: E402
from a2ia_tui.core.agent.orchestrator import Orchestrator  # noqa: E402
from a2ia_tui.core.config import load_settings  # noqa: E402
from a2ia_tui.core.llm.ollama import OllamaClient  # noqa: E402
from a2ia_tui.core.llm.vllm import VLLMClient  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, Reply  # noqa: E402


def _settings(**agent: object):
    env = {"A2IA_TOOLS__ENABLED": "false"} | {f"A2IA_AGENT__{k.upper()}": str(v) for k, v in agent.items()}
    return load_settings(env=env).settings


def _long_chat(n: int) -> Conversation:
    conv = Conversation()
    for i in range(n):
        conv.add_user(f"question {i} " + "words " * 200)
        conv.add(Message(role="assistant", content=f"answer {i} " + "more " * 200))
    return conv


async def _turn(orch: Orchestrator, conv: Conversation, text: str = "the last question") -> list[object]:
    conv.add_user(text)
    return [ev async for ev in orch.run_turn(conv)]


async def test_vllm_window_drops_the_oldest_turns_and_the_chat_keeps_them():
    async with FakeLLMServer("vllm", [Reply(text="ok")], models=["m"], max_model_len=2048) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            conv = _long_chat(12)  # ~12 x 800 tokens by the default estimate: far over 2,048
            before = len(conv.entries)
            events = await _turn(Orchestrator(client, None, _settings(system_prompt="stay brief")), conv)
    assert isinstance(events[-1], TurnFinished)
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert len(notes) == 1 and "oldest turn(s) are left out" in notes[0] and "2,048" in notes[0]
    sent = srv.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "stay brief"}
    assert sent[1]["role"] == "user" and sent[-1]["content"] == "the last question"
    assert len(sent) < before  # some turns left out of the request...
    assert len(conv.entries) == before + 2  # ...but none out of the chat (question + answer added)


async def test_policy_stop_sends_nothing_and_says_why_in_one_line():
    async with FakeLLMServer("vllm", [Reply(text="never")], models=["m"], max_model_len=2048) as srv:
        async with VLLMClient(srv.url, model="m") as client:
            conv = _long_chat(12)
            events = await _turn(Orchestrator(client, None, _settings(context_overflow="stop")), conv)
    failed = events[-1]
    assert isinstance(failed, TurnFailed)
    assert "does not fit" in failed.message and "2,048" in failed.message and "\n" not in failed.message
    assert not [r for r in srv.requests if r.path.endswith("/chat/completions")]
    assert conv.entries[-2].message.content == "the last question"  # the question is kept


async def test_ollama_is_sent_num_ctx_from_the_setting_capped_at_the_model():
    async with FakeLLMServer("ollama", [Reply(text="a"), Reply(text="b")], models=["m"], max_model_len=32768) as srv:
        async with OllamaClient(srv.url, model="m") as client:
            await _turn(Orchestrator(client, None, _settings(context_window=16384)), Conversation())
            assert srv.requests[-1].body["options"]["num_ctx"] == 16384
            await _turn(Orchestrator(client, None, _settings(context_window=65536)), Conversation())
            assert srv.requests[-1].body["options"]["num_ctx"] == 32768  # the model's own maximum


async def test_a_server_that_does_not_say_its_window_gets_the_chat_unchanged():
    async with FakeLLMServer("openai", [Reply(text="ok")], models=["m"]) as srv:
        from a2ia_tui.core.llm.openai import OpenAIClient

        async with OpenAIClient(srv.url, model="m") as client:
            conv = _long_chat(30)
            n = len(conv.messages) + 1
            events = await _turn(Orchestrator(client, None, _settings()), conv)
    assert not [e for e in events if isinstance(e, Notice)]
    assert len(srv.requests[-1].body["messages"]) == n
