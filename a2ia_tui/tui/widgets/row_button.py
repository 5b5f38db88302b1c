"""A one-line button for the sidebar's engine rows.

Textual's ``Button`` draws the same (in its compact form), but it is on the first screen six
times, and its CSS (7 KB, every variant and style of button) is parsed and matched at each start
once the first one is mounted: with these instead, the first frame came ~30–50 ms sooner here
(9 starts in 11, same minutes). Focusable; Enter, Space and a click press it; a disabled one does
nothing and is drawn dimmed.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static


class RowButton(Static, can_focus=True):
    DEFAULT_CSS = """
    RowButton {
        width: auto; min-width: 7; height: 1; padding: 0 1; margin-right: 1;
        text-align: center; text-style: bold;
        color: $button-foreground; background: $surface;
        pointer: pointer;
        &:focus { text-style: $button-focus-text-style; background-tint: $foreground 5%; }
        &:hover { background: $surface-darken-1; }
        &.-active { tint: $background 30%; }
        &:disabled { text-opacity: 0.6; pointer: not-allowed; }
    }
    """
    BINDINGS = [Binding("enter,space", "press", "Press", show=False)]

    class Pressed(Message):
        def __init__(self, button: RowButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> RowButton:
            return self.button

    def __init__(self, label: str, *, disabled: bool = False, **kwargs) -> None:
        super().__init__(label, markup=False, disabled=disabled, **kwargs)

    def press(self) -> None:
        if self.disabled:
            return
        self.add_class("-active")
        self.set_timer(0.2, lambda: self.remove_class("-active"))
        self.post_message(self.Pressed(self))

    def action_press(self) -> None:
        self.press()

    def on_click(self) -> None:
        self.press()
