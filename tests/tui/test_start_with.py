"""``a2ia-tui "question"`` and ``a2ia-tui --continue``: how the words are read (a subcommand's
name is the subcommand, unless it comes after ``--``), and the app, driven by Pilot, sending the
question and reopening the last chat."""

from __future__ import annotations

import argparse

import pytest

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.scripted import text_reply
from a2ia_tui.core.llm.types import Message
from a2ia_tui.entry import parse_args
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, UserMessage
from a2ia_tui.tui.widgets.prompt import Prompt
from tests.helpers.app import build_app, idle, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("argv", "command", "question"),
    [
        (["why", "is", "the", "sky", "blue?"], None, ["why", "is", "the", "sky", "blue?"]),
        (["--model", "m", "hello"], None, ["hello"]),
        (["monitor"], "monitor", None),
        (["monitor", "--json"], "monitor", None),
        (["--", "monitor the GPU"], None, ["monitor the GPU"]),
        (["--", "monitor", "the", "GPU"], None, ["monitor", "the", "GPU"]),
        (["export", "--list"], "export", None),
        (["--backend", "vllm", "serve", "--port", "0"], "serve", None),
        ([], None, []),
    ],
)
def test_words_are_a_question_unless_they_name_a_subcommand(argv, command, question) -> None:
    args = parse_args(argv)
    assert args.command == command
    assert getattr(args, "question", None) == question


def test_continue_and_a_question_together() -> None:
    args = parse_args(["--continue", "and", "then?"])
    assert args.command is None and args.continue_last and args.question == ["and", "then?"]
    assert not parse_args([]).continue_last


def test_run_app_hands_the_question_and_continue_to_the_app(monkeypatch) -> None:
    from a2ia_tui.commands import app as app_command
    from a2ia_tui.tui import factory

    seen = {}

    class Stub:
        return_code = 0
        exit_note = None

        def run(self) -> None:
            pass

    def make_app(loaded, services=None):
        seen["services"] = services
        return Stub()

    monkeypatch.setattr(factory, "make_app", make_app)
    monkeypatch.setattr("a2ia_tui.core.engines.manager.EngineManager.install_signal_handlers", lambda: None)
    args = parse_args(["--no-tools", "--continue", "what", "now?"])
    assert app_command.run_app(args) == 0
    assert seen["services"].start_question == "what now?" and seen["services"].continue_last
    assert isinstance(args, argparse.Namespace)


async def test_a_question_from_the_command_line_is_sent_when_the_app_opens() -> None:
    app, clients = build_app({"vllm": [text_reply("Rayleigh scattering.")]})
    app.services.start_question = "why is the sky blue?"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query(AssistantMessage) and idle(app))
        assert [u.text for u in app.query(UserMessage)] == ["why is the sky blue?"]
        assert app.query_one(AssistantMessage).text == "Rayleigh scattering."
        assert clients["vllm"].calls[0].messages[-1].content == "why is the sky blue?"
        assert len(clients["vllm"].calls) == 1  # sent once
        assert app.query_one(Prompt).value == ""


async def test_continue_reopens_the_last_chat_and_asks_in_it(tmp_path) -> None:
    app, clients = build_app({"vllm": [text_reply("It was 42.")]})
    store = app.services.store
    assert store is not None
    for title, question, answer in (("older", "first?", "one"), ("latest", "what was the number?", "forty")):
        conv = Conversation(title=title)
        conv.add_user(question)
        conv.add(Message(role="assistant", content=answer))
        store.sync(conv)
        latest_id = conv.id
    app.services.continue_last = True
    app.services.start_question = "and exactly?"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.query(AssistantMessage)) == 2 and idle(app))
        assert app.conversation.id == latest_id
        assert [u.text for u in app.query(UserMessage)] == ["what was the number?", "and exactly?"]
        sent = clients["vllm"].calls[0].messages
        assert [m.content for m in sent if m.role != "system"] == ["what was the number?", "forty", "and exactly?"]
    assert [e.message.content for e in store.load(latest_id).entries][-1] == "It was 42."


async def test_continue_without_a_saved_chat_says_so() -> None:
    app, _ = build_app({"vllm": []})
    app.services.continue_last = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query(NoteMessage) and app.orchestrator is not None)
        assert "no saved chat yet" in app.query_one(NoteMessage).text
        assert not app.conversation.entries


async def test_continue_with_history_off_says_so() -> None:
    app, _ = build_app({"vllm": []}, store=False)
    app.services.continue_last = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.query(NoteMessage) and app.orchestrator is not None)
        assert "history is off" in app.query_one(NoteMessage).text
