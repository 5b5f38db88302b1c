"""F2: this chat's settings, through the real app (Pilot)."""

from __future__ import annotations

from textual.widgets import Input, Label, Select, Static, TextArea

from a2ia_tui.core.agent.chat_settings import ChatSettings
from a2ia_tui.core.llm.scripted import text_reply
from a2ia_tui.tui.screens.chat_settings import ChatSettingsScreen
from a2ia_tui.tui.widgets.messages import AssistantMessage
from tests.helpers.app import build_app, idle, send, wait_for


async def test_settings_are_checked_kept_on_error_and_applied_to_the_next_request() -> None:
    app, clients = build_app({"vllm": [text_reply("one"), text_reply("two")]})
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "first")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
        assert clients["vllm"].calls[-1].temperature is None
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        screen = app.screen
        screen.query_one("#cs-system", TextArea).text = "Be terse."
        screen.query_one("#cs-temperature", Input).value = "7"
        screen.query_one("#cs-max_tokens", Input).value = "64"
        screen.query_one("#cs-think", Select).value = "off"
        await pilot.click("#save")
        await pilot.pause()
        # out of range: one line, the form stays with everything typed
        assert app.screen is screen
        assert str(screen.query_one("#cs-error", Static).render()) == "temperature: 7.0 is outside 0..2"
        assert screen.query_one("#cs-system", TextArea).text == "Be terse."
        screen.query_one("#cs-temperature", Input).value = "0.2"
        # (a button ignores clicks during its 0.2 s pressed look)
        await wait_for(pilot, lambda: not screen.query_one("#save").has_class("-active"))
        await pilot.click("#save")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        wanted = ChatSettings(system_prompt="Be terse.", temperature=0.2, max_tokens=64, think=False)
        assert app.conversation.settings == wanted
        store = app.services.store
        assert store is not None and store.load(app.conversation.id).settings == wanted  # saved with the chat
        await send(pilot, "second")
        await wait_for(pilot, lambda: idle(app) and len(app.query(AssistantMessage)) == 2)
    call = clients["vllm"].calls[-1]
    assert call.temperature == 0.2 and call.options == {"max_tokens": 64}
    assert call.messages[0].content == "Be terse."


async def test_escape_changes_nothing() -> None:
    app, _ = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        app.screen.query_one("#cs-temperature", Input).value = "1"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        assert app.conversation.settings == ChatSettings()


async def test_values_from_the_command_line_are_shown_in_force_beside_their_fields() -> None:
    app, clients = build_app({"vllm": [text_reply("one")]})
    app.services.chat_overrides = ChatSettings(
        system_prompt="You answer in French, always, whatever the question.", temperature=0.4, max_tokens=64
    )
    async with app.run_test(size=(80, 24)) as pilot:
        app.conversation.settings = ChatSettings(temperature=0.3, top_p=0.9)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        screen = app.screen
        notes = {
            name: str(screen.query_one(f"#cs-{name}-flag", Label).render())
            for name in ("system_prompt", "temperature", "max_tokens")
        }
        assert notes == {
            "system_prompt": '--system "You answer in French, al…" wins (command line)',
            "temperature": "--temperature 0.4 wins (command line)",
            "max_tokens": "--max-tokens 64 wins (command line)",
        }
        assert not screen.query("#cs-top_p-flag")  # no flag: no note
        # each note is whole on its field's line, inside the form, and the field keeps room to type
        form = screen.query_one("Vertical").content_region
        for name in ("temperature", "max_tokens"):
            note, field = screen.query_one(f"#cs-{name}-flag").region, screen.query_one(f"#cs-{name}").region
            assert note.y == field.y and note.x >= field.right and note.right <= form.right, (note, field, form)
            assert note.width == len(notes[name]) and field.width >= 12
        # the chat's own value stays in its field, editable, and is what Save keeps
        assert screen.query_one("#cs-temperature", Input).value == "0.3"
        await pilot.click("#save")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        assert app.conversation.settings == ChatSettings(temperature=0.3, top_p=0.9)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and app.query(AssistantMessage))
    call = clients["vllm"].calls[-1]
    assert call.temperature == 0.4 and call.options == {"top_p": 0.9, "max_tokens": 64}
    assert call.messages[0].content.startswith("You answer in French")


async def test_without_flags_no_note_is_shown() -> None:
    app, _ = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        assert not app.screen.query(".flag")
