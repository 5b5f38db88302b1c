"""Pilot tests: regenerate the last answer (F5), edit a question (F4 and the palette), flip between
the alternatives (alt+← / alt+→), and the tree saved and reopened as it was shown."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.tui.screens.edit_question import EditQuestionScreen
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, UserMessage
from tests.helpers.app import FLAGS, MiniHub, approval_with_keys, build_app, idle, ready, send, settle, wait_for

pytestmark = pytest.mark.timeout(90)


def answers(app) -> list[str]:
    return [m.text for m in app.query(AssistantMessage)]


def marks(app) -> list[str]:
    return [n.text for n in app.query(NoteMessage) if n.level == "branch"]


async def ask(pilot, text: str, n: int) -> None:
    await send(pilot, text)
    await wait_for(pilot, lambda: idle(pilot.app) and len(pilot.app.query(AssistantMessage)) == n)


async def test_regenerate_sends_the_same_question_and_keeps_the_first_answer() -> None:
    app, clients = build_app({"vllm": [text_reply("first"), text_reply("second"), text_reply("third")]})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await ask(pilot, "what is 2+2?", 1)
        await pilot.press("f5")
        await wait_for(pilot, lambda: idle(app) and answers(app) == ["second"])
        calls = clients["vllm"].calls
        assert [m.content for m in calls[1].messages if m.role != "system"] == ["what is 2+2?"]
        assert [u.text for u in app.query(UserMessage)] == ["what is 2+2?"]  # asked once, shown once
        assert marks(app) == ["◂ answer 2 of 2 ▸   alt+← alt+→"]
        await pilot.press("alt+left")
        await wait_for(pilot, lambda: answers(app) == ["first"])
        assert marks(app) == ["◂ answer 1 of 2 ▸   alt+← alt+→"]
        assert app.services.store is not None
        saved = app.services.store.load(app.conversation.id)  # the flip alone is saved
        assert [e.message.content for e in saved.entries] == ["what is 2+2?", "first"]
        await pilot.press("alt+left")  # none earlier: said, nothing changes
        await pilot.pause(0.2)
        assert answers(app) == ["first"]
        await pilot.press("alt+right")
        await wait_for(pilot, lambda: answers(app) == ["second"])
        # the conversation sent next follows the branch shown
        await ask(pilot, "and 3+3?", 2)
        assert [m.content for m in calls[-1].messages if m.role != "system"] == [
            "what is 2+2?",
            "second",
            "and 3+3?",
        ]


async def test_a_regenerated_destructive_tool_call_asks_again() -> None:
    hub = MiniHub()
    script = [tool_reply(("notes__delete", {"path": "a.txt"})), text_reply("Deleted.")] * 2
    app, _ = build_app({"vllm": script}, hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "delete a.txt")
        await approval_with_keys(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: idle(app) and answers(app) == ["Deleted."])
        await pilot.press("f5")
        item = await approval_with_keys(pilot)  # asked again, not carried over
        assert item.state == "approval" and len(hub.called) == 1
        await pilot.press("n")
        await wait_for(pilot, lambda: idle(app) and len(app.conversation.entries) == 4)
        assert len(hub.called) == 1  # declined: the tool did not run a second time
        assert app.conversation.alternatives() == {1: (2, 2)}


async def test_edit_the_last_question_with_f4_and_an_earlier_one_from_the_palette() -> None:
    app, clients = build_app({"vllm": [text_reply(f"a{n}") for n in range(1, 5)]})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await ask(pilot, "q1", 1)
        await ask(pilot, "q2", 2)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, EditQuestionScreen))
        area = app.screen.query_one(TextArea)
        assert area.text == "q2"
        area.text = "q2, said better"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: idle(app) and answers(app) == ["a1", "a3"])
        calls = clients["vllm"].calls
        assert [m.content for m in calls[-1].messages if m.role != "system"] == ["q1", "a1", "q2, said better"]
        assert marks(app) == ["◂ question 2 of 2 ▸   alt+← alt+→"]
        # the first question, from the palette
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*"Edit: question 1")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EditQuestionScreen))
        app.screen.query_one(TextArea).text = "q1 again"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: idle(app) and answers(app) == ["a4"])
        assert [u.text for u in app.query(UserMessage)] == ["q1 again"]
        # every earlier continuation is still there
        await pilot.press("alt+left")
        await wait_for(pilot, lambda: [u.text for u in app.query(UserMessage)] == ["q1", "q2, said better"])
        assert app.services.store is not None
        saved = app.services.store.load(app.conversation.id)
        assert len(saved.entries) + len(saved.others) == 8


async def test_an_unchanged_or_cancelled_edit_changes_nothing_and_f5_waits_for_the_answer() -> None:
    app, clients = build_app({"vllm": [text_reply("a1"), text_reply("slow " * 200, delay_s=0.02)]})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("f5")  # no question yet
        await pilot.press("f4")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, EditQuestionScreen) and not clients["vllm"].calls
        await ask(pilot, "q1", 1)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, EditQuestionScreen))
        await pilot.press("ctrl+s")  # the same text: nothing to branch
        await wait_for(pilot, lambda: not app.screen.is_modal)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, EditQuestionScreen))
        app.screen.query_one(TextArea).text = "changed, then cancelled"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.is_modal)
        assert len(clients["vllm"].calls) == 1 and app.conversation.others == []
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.turn_running)
        await pilot.press("f5")  # a second one while the first streams: refused, one request
        await pilot.press("escape")
        await wait_for(pilot, lambda: idle(app))
        assert len(clients["vllm"].calls) == 2


def test_snapshot_a_regenerated_answer_at_80x24(snap_compare) -> None:
    """You should see the question, the line "◂ answer 2 of 2 ▸   alt+← alt+→" in the accent
    colour, then the second answer."""
    app, _ = build_app({"vllm": [text_reply("The first answer."), text_reply("The **second** answer.")]}, flags=FLAGS)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "Say something")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        await pilot.press("f5")
        await wait_for(pilot, lambda: idle(app) and answers(app) == ["The **second** answer."])
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_the_edit_screen_at_80x24(snap_compare) -> None:
    """You should see "Edit question 1" over the chat, the question in an editable box, the line
    on ctrl+s and Esc, and the Send and Cancel buttons."""
    app, _ = build_app({"vllm": [text_reply("An answer.")]}, flags=FLAGS)

    async def run_before(pilot):
        await wait_for(pilot, lambda: ready(app))
        await send(pilot, "A question\nover two lines")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, EditQuestionScreen))
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_the_branch_keys_do_nothing_over_another_screen() -> None:
    app, clients = build_app({"vllm": [text_reply("a1"), text_reply("a2")]})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await ask(pilot, "q1", 1)
        await pilot.press("ctrl+o")  # the saved chats
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press("f5", "f4", "alt+left")
        await pilot.pause(0.3)
        assert len(clients["vllm"].calls) == 1 and app.conversation.others == []
        assert not isinstance(app.screen, EditQuestionScreen)
