"""Small modal dialogs: a yes/no question, the "always allow" confirmation, the quit choice, a
one-line text input."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ...core.textsafe import printable

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 64; max-width: 95%; height: auto; border: thick $accent; background: $surface; padding: 1 2; }}
{name} Label {{ width: 100%; }}
{name} Horizontal {{ height: auto; align: right middle; margin: 1 0 0 0; }}
{name} Button {{ margin: 0 0 0 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """A question; dismisses True (yes) or False (no / escape)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        Binding("escape", "dismiss(False)", "No"),
        Binding("y", "dismiss(True)", "Yes", show=False),
        Binding("n", "dismiss(False)", "No", show=False),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            with Horizontal():
                yield Button(self.no, id="no")
                yield Button(self.yes, id="yes", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AlwaysAllowScreen(ModalScreen[bool]):
    """ "Always allow TOOL for this session?": dismisses True only for a deliberate yes.

    Why no letter keys: the ``a`` that opens it may be part of a sentence typed at the wrong
    place, and the sentence goes on ("a yes..."). The focus starts on "Cancel", so Enter and
    Escape keep asking; yes is Tab then Enter, or a click on "Always allow".
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="AlwaysAllowScreen")
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, tool: str) -> None:
        super().__init__()
        self.tool = tool

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"Always allow {printable(self.tool)} for the rest of this session, without asking again?", markup=False
            )
            yield Label(
                'Tab to "Always allow" and press Enter, or click it. Esc cancels.', classes="hint", markup=False
            )
            with Horizontal():
                yield Button("Cancel", id="no", variant="primary")
                yield Button("Always allow", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class QuitScreen(ModalScreen[str | None]):
    """Quitting while engines this app started are running: "stop", "leave" or None (cancel)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="QuitScreen")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, engines: list[str]) -> None:
        super().__init__()
        self.engines = engines

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Engines started by this app are running: {', '.join(self.engines)}.", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Leave running", id="leave")
                yield Button("Stop and quit", id="stop", variant="error")

    def on_mount(self) -> None:
        self.query_one("#stop", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)


class TextInputScreen(ModalScreen[str | None]):
    """One line of text (e.g. a new title); Enter dismisses with it, escape with None."""

    DEFAULT_CSS = DIALOG_CSS.format(name="TextInputScreen")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, label: str, value: str = "") -> None:
        super().__init__()
        self.label, self.value = label, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.label, markup=False)
            yield Input(self.value, id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)
