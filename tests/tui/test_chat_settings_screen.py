"""F2: this chat's settings, through the real app (Pilot)."""

from __future__ import annotations

from textual.widgets import Input, Select, Static, TextArea

from a2ia_tui.core.agent.chat_settings import ChatSettings
from a2ia_tui.core.llm.scripted import text_reply
from a2ia_tui.tui.screens.chat_settings import ChatSettingsScreen
from a2ia_tui.tui.widgets.chat import AssistantMessage

from .app_helpers import build_app, idle, send, wait_for


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
