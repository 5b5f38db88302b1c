"""The prompt's placeholder line is drawn once per state, and is what Input draws."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from a2ia_tui.tui.widgets.prompt import Prompt


class _One(App):
    def compose(self) -> ComposeResult:
        yield Prompt(id="prompt")


async def test_the_placeholder_is_drawn_once_per_state_and_again_after_a_theme_change(monkeypatch) -> None:
    app = _One()
    async with app.run_test(size=(60, 6)) as pilot:
        prompt = app.query_one(Prompt)
        prompt.cursor_blink = False
        prompt.focus()
        await pilot.pause()
        drawn: list[int] = []
        real = Input.render_line

        def counting(self, y):
            drawn.append(y)
            return real(self, y)

        monkeypatch.setattr(Input, "render_line", counting)
        prompt._placeholder_strips.clear()  # (the app's first frame drew it already)
        first = prompt.render_line(0)
        assert prompt.render_line(0) is first and len(drawn) == 1
        assert first.text == real(prompt, 0).text and "Message the agent" in first.text
        prompt.value = "typed"  # text is drawn by Input every time
        assert "typed" in prompt.render_line(0).text and len(drawn) == 2
        prompt.value = ""
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        light = prompt.render_line(0)
        assert len(drawn) == 3 and list(light) != list(first)  # other colours
        assert list(light) == list(real(prompt, 0))
