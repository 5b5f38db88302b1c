"""Pilot tests: every key, the palette, saved chats (open, rename, delete), export, history off."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.widgets import Input

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.engines.state import EngineState
from a2ia_tui.core.llm.scripted import ScriptedClient, make_call, text_reply
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.protocols import History
from a2ia_tui.core.store import to_markdown
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.widgets.chat import ChatView
from a2ia_tui.tui.widgets.messages import AssistantMessage, NoteMessage, UserMessage
from a2ia_tui.tui.widgets.prompt import Prompt
from a2ia_tui.tui.widgets.trace import TraceItem
from tests.fakes.services import FakeEngines
from tests.helpers.app import LayoutCounter, build_app, idle, send, wait_for


def store(app: A2IAApp) -> History:
    """The app's history store, which these tests' apps always have."""
    assert app.services.store is not None
    return app.services.store


pytestmark = pytest.mark.timeout(60)


def saved_conversation(n_pairs: int = 2) -> Conversation:
    conv = Conversation(title="Saved one")
    for i in range(n_pairs):
        conv.add_user(f"question {i}")
        conv.add(Message(role="assistant", content=f"answer **{i}**"), backend="ollama", model="llama3")
    call = make_call("notes__read", {"path": "x"}, call_id="c1")
    conv.add(Message(role="assistant", content="", tool_calls=[call]), backend="ollama", model="llama3")
    conv.add(Message(role="tool", content="the note", tool_call_id="c1", tool_name="notes__read"), duration_s=0.5)
    conv.add(Message(role="assistant", content="It says: the note."), backend="ollama", model="llama3")
    return conv


async def test_toggle_keys_hide_and_show_panes() -> None:
    app, _ = build_app()
    async with app.run_test(size=(140, 40)) as pilot:
        for key, pane in (("ctrl+b", "#sidebar"), ("ctrl+t", "#trace"), ("ctrl+g", "#gpu")):
            assert app.query_one(pane).display
            await pilot.press(key)
            assert not app.query_one(pane).display
            await pilot.press(key)
            assert app.query_one(pane).display


async def test_narrow_terminal_hides_side_panes_until_asked() -> None:
    app, _ = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.query_one("#sidebar").display and not app.query_one("#gpu").display
        assert app.query_one("#trace").display
        await pilot.press("ctrl+b")
        assert app.query_one("#sidebar").display
        # one side at a time below 100 columns: the sidebar asked for, the right pane makes room
        await pilot.pause()
        assert not app.query_one("#right").display and app.query_one("#chat").region.width == 80 - 30
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.query_one("#trace").display and not app.query_one("#sidebar").display
        # a wider terminal shows every pane asked for
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: app.query_one("#sidebar").display and app.query_one("#trace").display)


def chat_text(app) -> str:
    chat = app.query_one("#chat")
    region = chat.region
    lines = app.screen._compositor.render_strips()[region.y : region.bottom]
    return " ".join(" ".join(line.text[region.x : region.right] for line in lines).split())


async def test_the_chat_keeps_most_of_a_120_column_terminal() -> None:
    """From 140 columns the side panes have their full widths; between 100 and 139 the right
    pane is narrower, so at 120 columns the chat is 54 wide (it was 46), sidebar shown."""
    app, _ = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one("#sidebar").display and app.query_one("#right").display
        assert app.query_one("#chat").region.width == 120 - 30 - 36 == 54
        assert app.query_one("#right").region.width == 36
        await pilot.resize_terminal(140, 40)
        await wait_for(pilot, lambda: app.query_one("#right").region.width == 44)
        assert app.query_one("#chat").region.width == 140 - 30 - 44
        # and a terminal made narrower folds the sidebar and the GPU pane away at once (the
        # app read its size before it was updated: the panes followed one resize late)
        await pilot.resize_terminal(90, 30)
        await wait_for(pilot, lambda: not app.query_one("#sidebar").display)
        assert not app.query_one("#gpu").display and app.query_one("#trace").display
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: app.query_one("#sidebar").display)
        assert app.query_one("#right").region.width == 36


async def test_ctrl_n_starts_a_new_chat() -> None:
    from a2ia_tui.tui.widgets.chat import HINT

    app, _ = build_app({"vllm": [text_reply("one")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        assert HINT in chat_text(app)  # an empty chat says what to do
        await send(pilot, "first")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert HINT not in chat_text(app) and "first" in chat_text(app)
        old = app.conversation.id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.conversation.id != old and not app.conversation.entries
        assert not app.query(UserMessage) and not app.query(AssistantMessage)
        assert len(store(app).load(old).entries) == 2
        assert HINT in chat_text(app) and "first" not in chat_text(app)


async def test_ctrl_r_toggles_react() -> None:
    app, _ = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+r")
        assert app.orchestrator is not None
        assert app.orchestrator.mode == "react"
        assert "ReAct" in str(app.query_one("#status").render())
        await pilot.press("ctrl+r")
        assert app.orchestrator.mode == "auto"


async def test_without_tools_the_status_bar_says_so_and_ctrl_r_changes_nothing() -> None:
    app, _ = build_app(flags={"tools.enabled": False})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await wait_for(pilot, lambda: "tools: off" in str(app.query_one("#status").render()))
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.orchestrator is not None
        assert app.orchestrator.mode == "auto" and "tools: off" in str(app.query_one("#status").render())


async def test_ctrl_e_exports_markdown() -> None:
    app, _ = build_app({"vllm": [text_reply("exported *answer*")]})
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "export me")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        await pilot.press("ctrl+e")
        path = app.export_path()
        assert path.read_text() == to_markdown(app.conversation)
        assert "exported *answer*" in path.read_text()
        # the toast shows the file's whole name (a long path wrapped in it and lost the name)...
        await wait_for(pilot, lambda: bool(app.screen.query("Toast")))
        toast = app.screen.query_one("Toast")
        lines = [toast.render_line(y).text.strip() for y in range(toast.size.height)]
        assert any(path.name in line for line in lines), lines
        # ...and the chat keeps the full path
        notes = [str(n.render()) for n in app.query(NoteMessage)]
        assert f"Exported to {path}" in notes


async def test_ctrl_l_opens_the_engine_log() -> None:
    app, _ = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "EngineLogScreen")


async def test_ctrl_q_quits_and_closes_everything() -> None:
    from tests.helpers.app import MiniHub

    hub = MiniHub()
    app, _clients = build_app(hub=hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None and hub.started)
        assert app.orchestrator is not None
        client = app.orchestrator.client
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert hub.closed and isinstance(client, ScriptedClient) and client.closed
    assert app.return_code == 0


class QuitEngines(FakeEngines):
    """vLLM runs, managed by this app; closing stops it unless it was left running (detach)."""

    def __init__(self) -> None:
        super().__init__()
        self._states["vllm"] = EngineState(status="ready", managed=True)
        self.stopped: list[str] = []
        self.detached = False

    def detach(self) -> None:
        self.detached = True

    async def aclose(self) -> None:
        if not self.detached:
            self.stopped.append("vllm")


@pytest.mark.parametrize("choice", ["cancel", "leave", "stop"])
async def test_ctrl_q_with_a_running_engine_asks(choice: str) -> None:
    app, _ = build_app()
    app.services.engines = engines = QuitEngines()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "QuitScreen")
        await pilot.click(f"#{choice}")
        if choice == "cancel":
            await pilot.pause(0.1)
            assert app.is_running and not app.screen.is_modal
            return
        await wait_for(pilot, lambda: not app.is_running)
    assert engines.detached == (choice == "leave")
    assert engines.stopped == (["vllm"] if choice == "stop" else [])


async def test_palette_lists_keys_backends_and_switches() -> None:
    app, _ = build_app({"ollama": []})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for needed in (
            "New chat (ctrl+n)",
            "Export (ctrl+e)",
            "ReAct (ctrl+r)",
            "Sidebar (ctrl+b)",
            "Stop answer (escape)",
        ):
            assert needed in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        await pilot.press(*"backend ollama")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.backend == "ollama")


async def test_saved_chats_open_rename_delete() -> None:
    app, _ = build_app()
    conv = saved_conversation()
    store(app).sync(conv)
    other = Conversation(title="Other")
    other.add_user("zzz")
    store(app).sync(other)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        # newest first: "Other", then "Saved one"; rename "Other"
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TextInputScreen")
        app.screen.query_one("Input", Input).value = "Renamed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        assert store(app).load(other.id).title == "Renamed"
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(store(app).list()) == 1)
        await pilot.pause()
        await pilot.press("enter")  # open the remaining one
        await wait_for(pilot, lambda: app.conversation.id == conv.id)
        await pilot.pause()
        assert [u.text for u in app.query(UserMessage)] == ["question 0", "question 1"]
        texts = [m.text for m in app.query(AssistantMessage)]
        assert texts == ["answer **0**", "answer **1**", "It says: the note."]  # the call alone: a note, as live
        item = app.query_one(TraceItem)
        assert item.state == "ok" and "the note" in str(item.query_one(".preview").render())
        # the reopened conversation continues exactly
        assert [e.message.model_dump() for e in app.conversation.entries] == [
            e.message.model_dump() for e in conv.entries
        ]


async def test_large_conversation_mounts_lazily() -> None:
    from a2ia_tui.tui.widgets.chat import PAGE

    app, _ = build_app()
    conv = Conversation(title="big")
    for i in range(500):
        conv.add_user(f"q{i}")
        conv.add(Message(role="assistant", content=f"a{i}"))
    store(app).sync(conv)
    async with app.run_test(size=(120, 40)) as pilot:

        def shown() -> list[int]:
            return [int(u.text[1:]) for u in app.query(UserMessage)]

        def mounted() -> int:
            return len(app.query(UserMessage)) + len(app.query(AssistantMessage))

        await app.open_conversation(conv.id)
        # Only the last page is mounted. (Under load the far-message release may already have
        # unmounted part of it: hence at most, not exactly.)
        assert 0 < mounted() <= PAGE and shown()[-1] == 499
        first = shown()[0]
        app.chat.scroll_home(animate=False)  # scrolling to the top mounts the previous page
        await wait_for(pilot, lambda: shown()[0] < first)
        assert mounted() <= 2 * PAGE


async def test_history_off_is_a_note_and_the_app_runs(tmp_path) -> None:
    app, _ = build_app({"vllm": [text_reply("still works")]}, store=False)
    app.services.history_error = "cannot open the history database /x: unable to open database file"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        assert any("History is off" in n.text for n in app.query(NoteMessage))
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert app.query_one(AssistantMessage).text == "still works"
        await pilot.press("ctrl+o")
        assert not app.screen.is_modal


async def test_footer_shows_the_keys_at_once_in_one_order_and_redraws_only_when_they_change(monkeypatch) -> None:
    from textual.binding import Binding, BindingType
    from textual.widgets import Static

    from a2ia_tui.tui.widgets.keybar import KeyBar

    class Refresher(Static, can_focus=True):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("f9", "noop", "Refresh")]  # a key the app leaves free

    app, _ = build_app()
    async with app.run_test(size=(170, 40)) as pilot:
        footer = app.query_one(KeyBar)
        described = [k.description for k in footer.keys]
        assert described[:3] == ["Quit", "Stop answer", "New chat"] and "Export" in described
        assert described[-1] == "palette"
        line = footer.render_line(0).text
        assert "^q Quit" in line and "^e Export" in line and line.rstrip().endswith("^p palette")
        redraws = 0
        real = footer.refresh

        def counting(*args, **kwargs):
            nonlocal redraws
            redraws += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(footer, "refresh", counting)
        # focus moves to widgets that add no shown key: nothing to redraw
        app.query_one("#backends").focus()
        await pilot.pause()
        app.query_one("#prompt").focus()
        await pilot.pause()
        assert redraws == 0
        # a focused widget with a key of its own: the footer shows it (after the app's keys,
        # before the palette's), and drops it after
        await app.query_one("#trace").mount(Refresher("r", id="refresher"))
        app.query_one("#refresher").focus()
        await wait_for(pilot, lambda: "Refresh" in [k.description for k in footer.keys])
        assert [k.description for k in footer.keys][-2:] == ["Refresh", "palette"]
        assert "f9 Refresh" in footer.render_line(0).text
        app.query_one("#prompt").focus()
        # back to the same keys, in one order whatever is focused (Textual's footer put the
        # prompt's overridden ctrl+e first)
        await wait_for(pilot, lambda: [k.description for k in footer.keys] == described)


async def test_footer_keys_are_clickable_and_the_palette_key_stays_in_a_narrow_terminal() -> None:
    from a2ia_tui.tui.widgets.keybar import KeyBar

    app, _ = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        footer = app.query_one(KeyBar)
        line = footer.render_line(0).text
        assert len(line) == 80
        assert line.rstrip().endswith("^p palette")  # always there
        assert "^r ReAct" not in line  # what does not fit is left out, not cut in half
        assert "^q Quit" in line
        # a click on a key presses it: ctrl+t toggles the trace pane
        trace = app.query_one("#trace")
        shown = trace.display
        await pilot.click(KeyBar, offset=(line.index("^t Trace") + 1, 0))
        await wait_for(pilot, lambda: trace.display != shown)


async def test_typing_in_the_prompt_repaints_it_without_laying_out_the_screen() -> None:
    """Input's virtual size follows its text, and Textual lays the whole screen out when a
    widget's virtual size changes: a layout per keystroke. The prompt only repaints, and still
    scrolls to keep the cursor in view."""
    app, _ = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.pause()
        prompt = app.query_one("#prompt", Prompt)
        with LayoutCounter() as layouts:
            for ch in "abcdefghij" * 10:
                await pilot.press(ch)
            await pilot.pause()
            assert prompt.value == "abcdefghij" * 10
            assert layouts.n < 10  # was one per keystroke (100)
            assert prompt.scroll_x == prompt.max_scroll_x > 0  # the end of the text is in view
            # cleared, as Enter does at each turn: the placeholder is wider than the prompt at
            # some sizes, and its horizontal scrollbar (0 rows high) came and went, a layout
            prompt.styles.width = 20  # narrower than the placeholder, at any terminal size
            await pilot.pause()
            prompt.value = "x"
            app.query_one("#chat", ChatView).add_user("a first question")  # laid out with a short text
            for _ in range(4):
                await pilot.pause(0.05)
            layouts.n = 0
            prompt.value = ""
            # the next layout (here the question's, as at each turn) is one layout, not two
            app.query_one("#chat", ChatView).add_user("a question")
            for _ in range(4):
                await pilot.pause(0.05)
        assert layouts.n == 1, layouts.n


async def saved_chats_over_one_question(pilot, app) -> str:
    """Ask one question, then open the saved chats (ctrl+o) over it; returns the chat's id."""
    await wait_for(pilot, lambda: app.orchestrator is not None)
    await send(pilot, "first")
    await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
    return app.conversation.id


async def test_deleting_the_open_chat_starts_a_new_one_and_never_brings_it_back() -> None:
    """Deleted from the saved chats while it is open, the chat must stay deleted: it used to
    come back, with only the messages sent after the deletion (the next save wrote the
    conversation again, and only its new messages)."""
    app, _ = build_app({"vllm": [text_reply("One."), text_reply("Two.")]})
    async with app.run_test(size=(120, 40)) as pilot:
        deleted = await saved_chats_over_one_question(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: not store(app).list())
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ != "HistoryScreen")
        await wait_for(pilot, lambda: app.conversation.id != deleted)
        assert not app.query(AssistantMessage) and not app.query(UserMessage)  # a new, empty chat
        await send(pilot, "second")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        saved = store(app).list()
        assert [c.id for c in saved] == [app.conversation.id] and deleted not in [c.id for c in saved]


async def test_renaming_the_open_chat_keeps_the_new_title() -> None:
    """Renamed from the saved chats while it is open, the chat must keep its new title: the next
    save wrote the old one back (the app's copy of the conversation still had it)."""
    app, _ = build_app({"vllm": [text_reply("One."), text_reply("Two.")]})
    async with app.run_test(size=(120, 40)) as pilot:
        cid = await saved_chats_over_one_question(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TextInputScreen")
        app.screen.query_one("Input", Input).value = "Renamed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: store(app).load(cid).title == "Renamed")
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ != "HistoryScreen")
        await send(pilot, "second")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
        assert store(app).load(cid).title == "Renamed"
        assert app.conversation.title == "Renamed"
        assert app.export_path().name.startswith("Renamed-")


async def test_chats_nobody_typed_in_are_not_saved() -> None:
    """Each start of the app and each ctrl+n made a new chat, and the saves at ctrl+n and at quit
    wrote it even when empty: the saved chats filled with empty "New chat" entries."""
    app, _ = build_app({"vllm": [text_reply("One.")]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert store(app).list() == []
        await send(pilot, "hello")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        await pilot.press("ctrl+n")
        await pilot.pause()
        await app.shutdown()  # as ctrl+q: saves the (empty) open chat, closes the store
    from a2ia_tui.core.store import HistoryStore

    assert [c.title for c in HistoryStore(app.services.loaded.paths.history_db).list()] == ["hello"]


async def test_page_keys_scroll_the_chat_from_the_prompt() -> None:
    """PgUp / PgDn scroll the chat a page while the prompt keeps the focus (Input has no use for
    them), ctrl+home / ctrl+end go to its start / end; up, the view stops following the answer,
    and at the end it follows again."""
    answer = "\n\n".join(f"Paragraph {i}: some words to read." for i in range(60))
    app, _ = build_app({"vllm": [text_reply(answer)]})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "a long one")
        await wait_for(pilot, lambda: idle(app))
        chat = app.chat
        await wait_for(pilot, lambda: chat.max_scroll_y > 50 and chat.scroll_y == chat.max_scroll_y)
        prompt = app.query_one("#prompt", Prompt)
        assert app.focused is prompt
        bottom = chat.scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert bottom - chat.size.height <= chat.scroll_y < bottom and app.focused is prompt
        assert chat._anchor_released  # the view no longer follows
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert chat.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert 0 < chat.scroll_y < bottom
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert chat.scroll_y == chat.max_scroll_y and not chat._anchor_released


async def test_a_reopened_chat_shows_its_last_answers_figures_in_the_status_bar() -> None:
    """The status bar's last-answer figures (tokens/s, time to first token, tokens in/out, so the
    context used) are those saved with the reopened chat's last answer, not the figures of the
    chat shown before (nor "ctx 0" after a new chat); a chat without an answer shows none."""
    app, _ = build_app({"vllm": [text_reply("Fresh.")]})
    conv = Conversation(title="Figures")
    conv.add_user("q")
    conv.add(
        Message(role="assistant", content="old answer"),
        backend="vllm",
        model="vllm-model",
        prompt_tokens=1200,
        completion_tokens=300,
        ttft_s=0.5,
        tokens_per_s=42.0,
    )
    store(app).sync(conv)
    empty = Conversation(title="No answer")
    empty.add_user("nothing came")
    store(app).sync(empty)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.status.fields["tokens_out"])
        await app.open_conversation(conv.id)
        await pilot.pause()
        text = app.status.render_text()
        assert "42.0 tok/s" in text and "ttft 0.50 s" in text and "in 1200 / out 300" in text, text
        assert "ctx 1500/" in text or app.status.fields["context_max"] is None, text
        await app.open_conversation(empty.id)
        await pilot.pause()
        text = app.status.render_text()
        assert "tok/s" not in text and "in " not in text and "ttft" not in text, text
