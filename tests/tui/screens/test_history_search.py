"""Pilot tests of the saved chats' search (SQLite FTS5 behind it) and "delete all", at 80x24,
from the keys and from the palette; and a snapshot of a search."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input, OptionList

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.scripted import text_reply
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.store import HistoryStore
from a2ia_tui.tui.screens.history import HistoryScreen
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, UserMessage
from tests.helpers.app import build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(60)
SIZE = (80, 24)


def save(app, title: str, question: str, answer: str) -> Conversation:
    conv = Conversation(title=title)
    conv.add_user(question)
    conv.add(Message(role="assistant", content=answer), backend="vllm", model="m")
    store_of(app).sync(conv)
    return conv


def store_of(app) -> HistoryStore:
    assert app.services.store is not None
    return app.services.store


def options(screen: HistoryScreen) -> list[tuple[str | None, str]]:
    ol = screen.query_one("#chats", OptionList)
    return [(ol.get_option_at_index(i).id, str(ol.get_option_at_index(i).prompt)) for i in range(ol.option_count)]


async def open_saved_chats(pilot, app) -> HistoryScreen:
    await wait_for(pilot, lambda: app.orchestrator is not None)
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
    return app.screen


async def test_search_finds_a_chat_by_its_text_and_opens_it() -> None:
    app, _ = build_app()
    bread = save(app, "Baking", "a recipe for bread", "Flour, water, salt and yeast.")
    save(app, "Sorting", "sort a list", "Use sorted().")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_saved_chats(pilot, app)
        assert [i for i, _ in options(screen)] == [save_id for save_id in options_ids(app)]
        await pilot.press("slash")
        assert app.focused is screen.query_one("#history-search")
        await pilot.press(*"yea")  # the start of a word is enough
        await wait_for(pilot, lambda: [i for i, _ in options(screen)] == [bread.id])
        [(_, line)] = options(screen)
        assert "Baking" in line and "Flour, water, salt and yeast." in line
        await pilot.press("enter")  # to the list
        assert app.focused is screen.query_one("#chats")
        await pilot.press("enter")  # open it
        await wait_for(pilot, lambda: app.conversation.id == bread.id)
        assert [u.text for u in app.query(UserMessage)] == ["a recipe for bread"]


def options_ids(app) -> list[str]:
    return [info.id for info in store_of(app).list()]


async def test_typing_in_the_search_box_is_text_not_keys() -> None:
    """r, d and D typed in the search box are letters, not rename / delete / delete all."""
    app, _ = build_app()
    save(app, "Cards", "red and dark decks", "Done.")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_saved_chats(pilot, app)
        await pilot.press("slash", *"rdD")
        assert screen.query_one("#history-search", Input).value == "rdD"
        assert isinstance(app.screen, HistoryScreen) and len(store_of(app).list()) == 1
        await wait_for(pilot, lambda: "No saved chat contains “rdD”." in options(screen)[0][1])
        await pilot.press("ctrl+a", "ctrl+k", *"dark")  # a field of the input: cleared, then a word
        await wait_for(pilot, lambda: len(options(screen)) == 1 and options(screen)[0][0] is not None)


async def test_hostile_text_in_a_result_is_shown_as_text() -> None:
    app, _ = build_app()
    save(app, "[@click=app.quit]title", "look \x1b[31mhere[/] [b]bold[/b]", "ok")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_saved_chats(pilot, app)
        await pilot.press("slash", *"look")
        await wait_for(pilot, lambda: options(screen)[0][0] is not None)
        line = options(screen)[0][1]
        assert "[@click=app.quit]title" in line and "[b]bold[/b]" in line and "\x1b" not in line
        await pilot.press("enter")
        assert app.is_running


async def test_delete_all_asks_first_and_replaces_the_open_chat() -> None:
    app, _ = build_app({"vllm": [text_reply("One.")]})
    save(app, "Older", "old question", "old answer")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "the open chat")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        open_id = app.conversation.id
        screen = await open_saved_chats(pilot, app)
        await pilot.press("D")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        assert "Delete all 2 saved chats? This cannot be undone." in str(app.screen.query_one("Label").render())
        await pilot.press("n")  # no: nothing goes
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(store_of(app).list()) == 2
        await pilot.press("D")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and not store_of(app).list())
        await wait_for(pilot, lambda: options(screen) == [(None, "No saved chats yet.")])
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.conversation.id != open_id)
        assert not app.query(UserMessage)
        assert any("was deleted" in n.text for n in app.query(NoteMessage))
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("D")  # nothing left: no question
        await pilot.pause(0.2)
        assert isinstance(app.screen, HistoryScreen)
    assert not store_of(app).list()  # the replaced chat did not come back on quit


@pytest.mark.parametrize(("command", "expect"), [("saved chats search", "search"), ("saved chats delete", "confirm")])
async def test_the_palette_opens_the_search_and_delete_all(command: str, expect: str) -> None:
    app, _ = build_app()
    save(app, "Kept", "a question", "an answer")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*command)
        await pilot.pause(0.5)
        await pilot.press("enter")
        if expect == "search":
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
            await wait_for(pilot, lambda: app.focused is app.screen.query_one("#history-search"))
        else:
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("escape")  # no
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
            assert len(store_of(app).list()) == 1


def test_search_snapshot_80x24(snap_compare) -> None:
    """You should see the saved chats at 80x24 over the app: the help line, the search box holding
    "yeast", and one result, "Baking (2 messages)", with its passage below it, the word yeast
    highlighted (dates are the epoch: a fixed clock)."""
    app, _ = build_app(flags={"ui.sidebar": False, "ui.gpu": False})
    save(app, "Baking", "a recipe for bread", "Flour, water, salt and yeast, then a long rise overnight.")
    save(app, "Sorting", "sort a list", "Use sorted().")

    async def run_before(pilot):
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await app.push_screen(HistoryScreen(app.services.store, clock=lambda _t: time.gmtime(0)))
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        app.screen.query_one("#history-search", Input).value = "yeast"
        await wait_for(pilot, lambda: len(options(app.screen)) == 1)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
