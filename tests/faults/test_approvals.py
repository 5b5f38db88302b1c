"""Stray keys must not answer an approval (issue 16, "Trust": only a deliberate key press answers).

A sentence typed while a destructive tool's approval appeared used to land on the approval: it
took the focus at once, a ``y`` in the sentence allowed the call and an ``a`` allowed the tool
for the whole session. Here sentences full of y, n and a are typed before the approval appears,
while it appears and right after; with unsent text in the prompt; with an empty prompt but a key
in the last second; pasted; with a dialog up. Each time: the tool did not run, the prompt holds
the whole sentence, and the approval then answers to a deliberate key (ctrl+y, a click, or the
keyboard it takes once the prompt is empty and no key came for a second). "Always" needs a
confirmation that no letter, Enter or space gives. ``a2ia-cli`` discards type-ahead before it asks
(driven in a real pseudo-terminal).

The quiet second is measured on the app's injectable clock: the tests stop it and move it on,
instead of sleeping (no wall-clock assertion anywhere).
"""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from textual import events
from textual.widget import Widget

from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.tui.widgets.prompt import Prompt
from tests.helpers.app import MiniHub, build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(180)

#: Typed at the prompt around an approval. "\n" is an Enter (refused while the turn runs: the
#: text stays in the prompt).
SENTENCES = [
    "y",
    "a",
    "n",
    "yes",
    "always allow it, yes",
    "yay! any way you like, yes yes",
    "nay... Always? Y/N",
    "aaaa yyyy nnnn",
    "y a n y a n",
    "say yes\nand then always",
    "yes\n",
    "ya\nyy\naa",
]


class Clock:
    """The app's key clock, stopped: "the last second" lasts until a test moves it on."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def hold_replies(app) -> asyncio.Event:
    """The model's replies wait for the returned event (set = they flow), so a test can type
    before the approval appears."""
    client = app.orchestrator.client
    flowing = asyncio.Event()
    flowing.set()
    real = client.stream_chat

    async def held(*args, **kwargs):
        await flowing.wait()
        async for chunk in real(*args, **kwargs):
            yield chunk

    client.stream_chat = held
    return flowing


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["enter" if ch == "\n" else ch for ch in text])


async def ticks(pilot) -> None:
    """Long enough for the app's approval check (every 0.1 s) to run a few times."""
    for _ in range(3):
        await pilot.pause(0.1)


def prompt(app) -> Prompt:
    return app.query_one("#prompt", Prompt)


def focused(app) -> Widget | None:
    """``app.focused`` read afresh: an assert on the attribute itself would narrow its type for
    the rest of the test, and the focus moves."""
    return app.focused


async def started(pilot, app, clock: Clock) -> None:
    app.key_quiet.clock = clock
    await wait_for(pilot, lambda: app.orchestrator is not None)


def assert_waiting(app, item, hub_calls_before: int, hub) -> None:
    assert item.pending and item.state == "approval"
    assert app.focused is not item and not item.has_focus_within
    assert len(hub.called) == hub_calls_before, hub.called
    ask = str(item.query_one(".ask").render())
    assert "Waiting for your answer: press ctrl+y or click here" in ask


# -- sentences around an approval --------------------------------------------------------------


@pytest.mark.parametrize("when", ["before", "during", "after"])
async def test_sentences_typed_around_an_approval_never_answer_it(when: str) -> None:
    """Twelve sentences, one turn each: typed before the approval appears (the model's reply is
    held), across its arrival, or right after it. The call waits; the prompt keeps every
    character; a deliberate answer (ctrl+y, a click, or an empty prompt and a quiet second)
    then allows or declines it."""
    hub = MiniHub()
    script = []
    for i in range(len(SENTENCES)):
        script += [tool_reply(("notes__delete", {"path": f"r{i}"})), text_reply(f"done {i}")]
    app, _ = build_app({"vllm": script}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        flowing = hold_replies(app)
        allowed: list[str] = []
        for i, sentence in enumerate(SENTENCES):
            if when != "after":
                flowing.clear()
            await send(pilot, f"delete r{i}")
            await wait_for(pilot, lambda: prompt(app).value == "")  # the question was taken
            if when == "before":
                await type_text(pilot, sentence)
                flowing.set()
                await wait_for(pilot, lambda: app.trace.pending_item() is not None)
            elif when == "during":
                half = len(sentence) // 2
                await type_text(pilot, sentence[:half])
                flowing.set()
                await wait_for(pilot, lambda: app.trace.pending_item() is not None)
                await type_text(pilot, sentence[half:])
            else:
                await wait_for(pilot, lambda: app.trace.pending_item() is not None)
                await type_text(pilot, sentence)
            item = app.trace.pending_item()
            assert item is not None
            await ticks(pilot)
            expected = sentence.replace("\n", "")
            assert prompt(app).value == expected
            assert focused(app) is prompt(app)
            assert_waiting(app, item, len(allowed), hub)
            # unsent text: the approval waits however long nobody types
            clock.advance(30)
            await ticks(pilot)
            assert_waiting(app, item, len(allowed), hub)
            assert focused(app) is prompt(app) and prompt(app).value == expected

            # now a deliberate answer, three ways
            way = i % 3
            if way == 0:
                await pilot.press("ctrl+y")
            elif way == 1:
                await pilot.click(item.query_one(".ask"))
            else:
                await pilot.press("ctrl+u")  # the prompt emptied...
                assert prompt(app).value == ""
                await ticks(pilot)
                assert app.focused is not item  # ...but a key just now: it still waits
                clock.advance(1.01)
            await wait_for(pilot, lambda: app.focused is item)
            assert "Run this tool (destructive)?  [y] yes  [n] no  [a] always…" in str(item.query_one(".ask").render())
            answer = "y" if i % 2 else "n"
            await pilot.press(answer)
            await wait_for(pilot, lambda: idle(app))
            if answer == "y":
                allowed.append(f"r{i}")
            assert [a["path"] for _, a in hub.called] == allowed
            assert item.state == ("ok" if answer == "y" else "declined")
            if way != 2:
                assert prompt(app).value == expected  # the sentence is still there to send
            assert focused(app) is prompt(app)
            prompt(app).value = ""
            clock.advance(5)


async def test_an_empty_prompt_with_a_key_in_the_last_second_holds_the_approval() -> None:
    """Typed and deleted, or only moved the cursor: the prompt is empty but a key came less than
    a second ago, so the next one may be meant for the prompt. The approval takes the keyboard
    only once a full second passed without a key (on the app's clock)."""
    hub = MiniHub()
    keys_variants = [["x", "backspace"], ["y", "backspace"], ["left"], ["ctrl+a"], ["a", "ctrl+u"], ["up", "ctrl+u"]]
    script = []
    for i in range(len(keys_variants)):
        script += [tool_reply(("notes__delete", {"path": f"k{i}"})), text_reply("ok")]
    app, _ = build_app({"vllm": script}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        for i, keys in enumerate(keys_variants):
            await send(pilot, f"delete k{i}")
            await wait_for(pilot, lambda: app.trace.pending_item() is not None)
            item = app.trace.pending_item()
            assert item is not None
            clock.advance(0.7)
            await pilot.press(*keys)
            assert prompt(app).value == ""
            await ticks(pilot)
            assert_waiting(app, item, i, hub)
            clock.advance(0.9)  # 0.9 s after the last key
            await ticks(pilot)
            assert_waiting(app, item, i, hub)
            clock.advance(0.2)  # 1.1 s: quiet, and nothing to lose
            await wait_for(pilot, lambda: app.focused is item)
            await pilot.press("y")
            await wait_for(pilot, lambda: idle(app))
            assert [a["path"] for _, a in hub.called] == [f"k{j}" for j in range(i + 1)]
            clock.advance(5)


async def test_a_paste_into_the_prompt_does_not_answer() -> None:
    """A paste (bracketed: one event, no keys) is typing too: the pasted text stays in the
    prompt and counts as a key for the quiet second."""
    hub = MiniHub()
    pastes = ["yes", "a", "y\nn\na", "always allow everything, yes"]
    script = []
    for i in range(len(pastes)):
        script += [tool_reply(("notes__delete", {"path": f"p{i}"})), text_reply("ok")]
    app, _ = build_app({"vllm": script}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        flowing = hold_replies(app)
        for i, text in enumerate(pastes):
            flowing.clear()
            await send(pilot, f"delete p{i}")
            await wait_for(pilot, lambda: prompt(app).value == "")
            clock.advance(5)  # the Enter is long past...
            app.post_message(events.Paste(text))  # ...and a paste arrives as the approval does
            await wait_for(pilot, lambda: prompt(app).value != "")
            assert text.startswith(prompt(app).value)  # (a one-line input keeps the first line)
            assert app.key_quiet.last_key == clock.t  # it counts as a key
            flowing.set()
            await wait_for(pilot, lambda: app.trace.pending_item() is not None)
            item = app.trace.pending_item()
            assert item is not None
            await ticks(pilot)
            assert_waiting(app, item, 0, hub)
            clock.advance(30)
            await ticks(pilot)
            assert_waiting(app, item, 0, hub)
            await pilot.press("ctrl+y", "n")
            await wait_for(pilot, lambda: idle(app))
            assert hub.called == [] and item.state == "declined"
            prompt(app).value = ""


async def test_an_approval_never_takes_the_keyboard_from_a_dialog() -> None:
    """The command palette is open when the approval arrives: what is typed goes on to the
    palette, however long the prompt stays empty; closed, the approval comes up."""
    hub = MiniHub()
    app, _ = build_app({"vllm": [tool_reply(("notes__delete", {"path": "d"})), text_reply("ok")]}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        flowing = hold_replies(app)
        flowing.clear()
        await send(pilot, "delete d")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.is_modal)
        flowing.set()
        await wait_for(pilot, lambda: app.trace.pending_item() is not None)
        item = app.trace.pending_item()
        assert item is not None
        await type_text(pilot, "yes always")
        clock.advance(30)
        await ticks(pilot)
        assert app.screen.is_modal and hub.called == [] and item.pending
        assert app.screen.focused is not None and app.screen.focused.screen is app.screen
        for _ in range(3):  # the palette may first close its list of matches
            if not app.screen.is_modal:
                break
            await pilot.press("escape")
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: not app.screen.is_modal)
        assert app.turn_running and item.pending
        # back on the main screen with a key just pressed: the keyboard is the prompt's, not
        # the approval's (it must not have been handed the focus behind the palette's back)
        await ticks(pilot)
        assert focused(app) is prompt(app)
        clock.advance(1.5)
        await wait_for(pilot, lambda: app.focused is item)
        await pilot.press("n")
        await wait_for(pilot, lambda: idle(app))
        assert hub.called == [] and item.state == "declined"


# -- "always" ----------------------------------------------------------------------------------


async def test_always_needs_a_deliberate_confirmation() -> None:
    """``a`` opens "Always allow notes__delete…?": letters, space and Enter (its focus starts on
    Cancel) and Escape all keep asking; only Tab + Enter or a click on "Always allow" say yes,
    and then the next call of the tool runs without a question."""
    hub = MiniHub()
    script = [
        tool_reply(("notes__delete", {"path": "one"})),
        text_reply("ok"),
        tool_reply(("notes__delete", {"path": "two"})),
        text_reply("ok"),
        tool_reply(("notes__delete", {"path": "three"})),
        text_reply("ok"),
    ]
    app, _ = build_app({"vllm": script}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)

        async def approval():
            await wait_for(pilot, lambda: app.trace.pending_item() is not None)
            clock.advance(2)
            await wait_for(pilot, lambda: app.focused is app.trace.pending_item())
            return app.trace.pending_item()

        def dialog_up() -> bool:
            return type(app.screen).__name__ == "AlwaysAllowScreen"

        await send(pilot, "delete one")
        item = await approval()
        for stray in (
            ["y"],
            ["y", "e", "s"],
            ["a"],
            ["space"],
            ["enter"],
            ["a", "n", "y", "enter"],
            ["escape"],
            ["Y"],
            ["ctrl+y"],
            ["n", "o", "space", "y", "enter"],
        ):
            await pilot.press("a")
            await wait_for(pilot, dialog_up)
            assert "Always allow notes__delete for the rest of this session" in str(
                app.screen.query_one("Label").render()
            )
            await pilot.press(*stray)
            await ticks(pilot)
            assert item.pending and hub.called == [], stray
            if dialog_up():  # letters and space leave it open
                await pilot.press("escape")
            await wait_for(pilot, lambda: not dialog_up() and app.focused is item)
        await pilot.press("a")
        await wait_for(pilot, dialog_up)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: idle(app))
        assert [a["path"] for _, a in hub.called] == ["one"]
        assert focused(app) is prompt(app)
        await send(pilot, "delete two")  # always: no question
        await wait_for(pilot, lambda: idle(app) and len(hub.called) == 2)  # no key was pressed
        assert [a["path"] for _, a in hub.called] == ["one", "two"]


async def test_always_by_a_click_on_its_button() -> None:
    hub = MiniHub()
    script = [tool_reply(("notes__delete", {"path": "one"})), text_reply("ok")]
    app, _ = build_app({"vllm": script}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        await send(pilot, "delete one")
        await wait_for(pilot, lambda: app.trace.pending_item() is not None)
        item = app.trace.pending_item()
        assert item is not None
        await pilot.press("ctrl+y", "a")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AlwaysAllowScreen")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: idle(app))
        assert hub.called == [("notes__delete", {"path": "one"})] and item.state == "ok"


# -- the key bar and the real built-in tool server ---------------------------------------------


async def test_the_key_bar_shows_the_key_while_an_approval_waits() -> None:
    from a2ia_tui.tui.widgets.keybar import KeyBar

    hub = MiniHub()
    app, _ = build_app({"vllm": [tool_reply(("notes__delete", {"path": "k"})), text_reply("ok")]}, hub=hub)
    clock = Clock()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app, clock)
        bar = app.query_one(KeyBar)

        def shown() -> list[str]:
            return [k.description for k in bar.keys]

        assert "Tool approval" not in shown()
        await send(pilot, "delete k")
        await wait_for(pilot, lambda: app.trace.pending_item() is not None)
        await type_text(pilot, "yes")
        await wait_for(pilot, lambda: shown()[:1] == ["Tool approval"])
        assert bar.keys[0].key == "ctrl+y"
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: "Tool approval" not in shown())  # it has the keyboard now
        await pilot.press("n")
        await wait_for(pilot, lambda: idle(app))
        assert "Tool approval" not in shown() and hub.called == []


async def test_the_real_builtin_server_writes_nothing_on_stray_keys(tmp_path) -> None:
    """The built-in MCP server (a real subprocess over stdio) and its destructive write_file:
    a sentence typed as the approval appears writes nothing; ctrl+y then y writes the file."""
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.tools.hub import MCPHub

    ws = tmp_path / "ws"
    ws.mkdir()
    flags = {"tools.workspace": str(ws), "tools.approval": "destructive"}
    hub = MCPHub({}, load_settings(None, flags=flags).settings)
    script = [
        tool_reply(("write_file", {"path": "x.txt", "content": "pwned"})),
        text_reply("no"),
        tool_reply(("write_file", {"path": "y.txt", "content": "ok"})),
        text_reply("yes"),
    ]
    app, _ = build_app({"vllm": script}, hub=hub, flags=flags)
    clock = Clock()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await started(pilot, app, clock)
            await send(pilot, "write x")
            await wait_for(pilot, lambda: app.trace.pending_item() is not None, timeout=60)
            item = app.trace.pending_item()
            assert item is not None
            await type_text(pilot, "yes, always allow writes, y a y a")
            clock.advance(10)
            await ticks(pilot)
            assert item.pending and focused(app) is prompt(app)
            assert not (ws / "x.txt").exists()
            await pilot.press("ctrl+y", "n")
            await wait_for(pilot, lambda: idle(app), timeout=60)
            assert not (ws / "x.txt").exists() and item.state == "declined"
            prompt(app).value = ""
            await send(pilot, "write y")
            await wait_for(pilot, lambda: app.trace.pending_item() is not None, timeout=60)
            await pilot.press("ctrl+y", "y")
            await wait_for(pilot, lambda: idle(app), timeout=60)
            assert (ws / "y.txt").read_text() == "ok"
    finally:
        await hub.aclose()


# -- a2ia-cli in a pseudo-terminal ---------------------------------------------------------------


def _held_server(replies):
    """A loopback vLLM-style server whose first chat reply waits for ``release`` (set by the
    test once its type-ahead is in the terminal)."""
    from tests.fakes.llm_server import FakeLLMServer

    class Held(FakeLLMServer):
        release = threading.Event()
        asked = threading.Event()

        async def _openai_chat(self, body, writer):
            if not self.asked.is_set():
                self.asked.set()
                await asyncio.to_thread(self.release.wait, 60)
            return await super()._openai_chat(body, writer)

    return Held("vllm", replies)


#: Keys typed while the answer streams, before the approval question: every one would answer
#: it if read.
TYPE_AHEAD = ["y\n", "a\ny\n", "yes\n", "always\n", "yyyy", "y\nyes\nalways\na\n", "\x1b[Ay\n"]


@pytest.mark.parametrize("keys", TYPE_AHEAD, ids=[repr(k) for k in TYPE_AHEAD])
def test_cli_discards_keys_typed_before_the_question(tmp_path, keys) -> None:
    from tests.helpers.term import Term

    ws = tmp_path / "ws"
    ws.mkdir()
    from tests.fakes.llm_server import Reply

    srv = _held_server(
        [
            Reply(text="Writing it.", tool_calls=[("write_file", {"path": "x.txt", "content": "pwned"})]),
            Reply(text="Not written."),
        ]
    )
    with srv.threaded():
        t = Term(
            ["--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model"], {"A2IA_TOOLS__WORKSPACE": str(ws)}
        )
        try:
            t.expect("vllm> ")
            t.send("write x")
            assert srv.asked.wait(60)  # the CLI is in the turn, waiting for the model
            os.write(t.master, keys.encode())  # typed ahead, while "the answer streams"
            srv.release.set()
            t.expect("The model wants to run write_file")
            shown = t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
            if "\n" in keys:
                assert "(discarded what was typed before this question)" in shown
            assert not (ws / "x.txt").exists()
            t.send("n")  # the one deliberate answer
            assert "declined" in t.expect("vllm> ")
            t.send("/quit")
            assert t.close() == 0
        finally:
            if t.proc.poll() is None:
                t.proc.kill()
                t.proc.wait()
    assert not (ws / "x.txt").exists()
    chats = [r.body for r in srv.requests if r.path == "/v1/chat/completions"]
    assert len(chats) == 2  # the type-ahead was not sent as a message either
    assert [m["role"] for m in chats[1]["messages"]][-2:] == ["assistant", "tool"]


def test_cli_always_is_confirmed_and_the_confirmation_discards_type_ahead(tmp_path) -> None:
    """ "a" asks again; keys typed before that second question are discarded too; anything
    but y / yes goes back to the first question; y confirms."""
    from tests.fakes.llm_server import FakeLLMServer, Reply
    from tests.helpers.term import Term

    ws = tmp_path / "ws"
    ws.mkdir()
    replies = [
        Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "one"})]),
        Reply(text="Wrote a."),
        Reply(tool_calls=[("write_file", {"path": "b.txt", "content": "two"})]),
        Reply(text="Wrote b."),
    ]
    with FakeLLMServer("vllm", replies).threaded() as srv:
        t = Term(
            ["--backend", "vllm", "--vllm-url", srv.url, "--model", "fake-model"], {"A2IA_TOOLS__WORKSPACE": str(ws)}
        )
        try:
            t.expect("vllm> ")
            t.send("write a")
            t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
            # "a" and, typed at once, a "y" before the confirmation is on the screen
            os.write(t.master, b"a\ny\n")
            t.expect("Run write_file without asking again in this session? [y/N]: ")
            assert not (ws / "a.txt").exists()
            t.send("nope")
            t.expect("Not always: answer for this call.")
            t.expect("Allow? [y]es / [n]o / [a]lways for this tool: ")
            t.send("a")
            t.expect("Run write_file without asking again in this session? [y/N]: ")
            t.send("y")
            assert "Wrote a." in t.expect("vllm> ")
            t.send("write b")  # always: no question
            shown = t.expect("vllm> ")
            assert "Wrote b." in shown and "Allow?" not in shown
            t.send("/quit")
            assert t.close() == 0
        finally:
            if t.proc.poll() is None:
                t.proc.kill()
                t.proc.wait()
    assert (ws / "a.txt").read_text() == "one" and (ws / "b.txt").read_text() == "two"
