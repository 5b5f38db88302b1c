"""Edit a question and send it again (F4 for the last one; "Edit: question N" in the palette)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea

from ...core.textsafe import printable

HELP = "ctrl+s sends it, Esc cancels. The old question and its answers stay (alt+← shows them)."


class EditQuestionScreen(ModalScreen[str | None]):
    """The question's text, editable over several lines; dismissed with the new text, or None."""

    DEFAULT_CSS = """
    EditQuestionScreen { align: center middle; }
    EditQuestionScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    EditQuestionScreen TextArea { height: auto; min-height: 3; max-height: 14; }
    EditQuestionScreen .help { color: $text-muted; width: 100%; }
    EditQuestionScreen Horizontal { height: auto; align: right middle; }
    EditQuestionScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "send", "Send", priority=True),
    ]

    def __init__(self, number: int, text: str) -> None:
        super().__init__()
        self.number, self.text = number, printable(text)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Edit question {self.number}", markup=False)
            yield TextArea(self.text, id="question", soft_wrap=True, show_line_numbers=False)
            yield Label(HELP, classes="help", markup=False)
            with Horizontal():
                yield Button("Send", variant="primary", id="send")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_send(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            self.action_send()
        else:
            self.dismiss(None)
