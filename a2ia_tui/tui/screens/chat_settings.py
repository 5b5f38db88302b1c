"""The current chat's own settings: system prompt, temperature, top_p, max tokens, thinking.

Opened with F2 or from the palette. Empty fields mean "not set" (the config's value, or the
server's default). Save checks every field first: a value out of range is one line under the
form, and nothing typed is lost.

A value given on the command line (``--system``, ``--temperature``, ``--top-p``,
``--max-tokens``) wins over the chat's for this run: a note beside the field says so (the form
fills 80x24, so the note takes the room right of the field, not a line of its own). The field
stays editable: what is saved is the chat's, for runs without the flag.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ...core.agent.chat_settings import ChatSettings, ChatSettingsError
from ...core.textsafe import printable

_THINK = [("the model's default", "default"), ("on", "on"), ("off", "off")]


class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    """Dismisses the new settings, or None (cancelled)."""

    DEFAULT_CSS = """
    ChatSettingsScreen { align: center middle; }
    ChatSettingsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ChatSettingsScreen TextArea { height: 5; background: $boost; }
    ChatSettingsScreen .title { text-style: bold; }
    ChatSettingsScreen .row { height: 1; margin: 1 0 0 0; }
    ChatSettingsScreen .row Label { width: 14; }
    ChatSettingsScreen .row Input { width: 1fr; }
    ChatSettingsScreen .row Select { width: 1fr; }
    ChatSettingsScreen .head { height: 1; }
    ChatSettingsScreen .head Label { width: 14; }
    ChatSettingsScreen Label.flag { width: auto; max-width: 60; color: $text-warning; margin: 0 0 0 1; }
    ChatSettingsScreen #cs-error { color: $error; height: auto; }
    ChatSettingsScreen .hint { color: $text-muted; }
    ChatSettingsScreen .buttons { height: 1; align: right middle; margin: 1 0 0 0; }
    ChatSettingsScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, current: ChatSettings, defaults: ChatSettings, flags: ChatSettings | None = None) -> None:
        super().__init__()
        self.current = current
        self.defaults = defaults
        #: The command line's values: they win over the form's for this run.
        self.flags = flags or ChatSettings()

    def compose(self) -> ComposeResult:
        c, d = self.current, self.defaults
        with Vertical():
            yield Label("This chat's settings (an empty field is not set)", classes="title", markup=False)
            if self.flags.system_prompt:
                with Horizontal(classes="head"):
                    yield Label("System prompt", markup=False)
                    yield self._flag_note("system_prompt")
            else:
                yield Label("System prompt", markup=False)
            yield TextArea(c.system_prompt or "", id="cs-system", soft_wrap=True, show_line_numbers=False, compact=True)
            for name, label, value in (
                ("temperature", "Temperature", c.temperature),
                ("top_p", "top_p", c.top_p),
                ("max_tokens", "Max tokens", c.max_tokens),
            ):
                default = getattr(d, name)
                with Horizontal(classes="row"):
                    yield Label(label, markup=False)
                    yield Input(
                        "" if value is None else str(value),
                        placeholder=f"default: {default}" if default is not None else "the server's default",
                        id=f"cs-{name}",
                        compact=True,
                    )
                    if getattr(self.flags, name) is not None:
                        yield self._flag_note(name)
            with Horizontal(classes="row"):
                yield Label("Thinking", markup=False)
                think = "default" if c.think is None else ("on" if c.think else "off")
                yield Select(_THINK, value=think, allow_blank=False, id="cs-think", compact=True)
            yield Static("", id="cs-error", markup=False)
            yield Label("Applies from the next request; saved with the chat.", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)

    def _flag_note(self, name: str) -> Label:
        """``--temperature 0.4 wins (command line)``: the flag's value, in force over the field."""
        value = getattr(self.flags, name)
        if name == "system_prompt":
            text = " ".join(printable(value).split())
            shown = f'--system "{text[:24]}…"' if len(text) > 25 else f'--system "{text}"'
        else:
            shown = f"--{name.replace('_', '-')} {value:g}"
        label = Label(f"{shown} wins (command line)", id=f"cs-{name}-flag", classes="flag", markup=False)
        label.tooltip = "Given on the command line, this value is used for this run instead of the chat's."
        return label

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.save()

    def read(self) -> ChatSettings:
        """The form as settings; raises ChatSettingsError naming the field."""
        values: dict[str, object] = {"system_prompt": self.query_one("#cs-system", TextArea).text or None}
        for name, kind in (("temperature", float), ("top_p", float), ("max_tokens", int)):
            text = self.query_one(f"#cs-{name}", Input).value.strip()
            if not text:
                continue
            try:
                values[name] = kind(text)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise ChatSettingsError(f"{name}: expected {what}, got {printable(text)[:40]!r}") from None
        think = self.query_one("#cs-think", Select).value
        values["think"] = None if think == "default" else think == "on"
        return ChatSettings(**values)  # type: ignore[arg-type]

    def save(self) -> None:
        try:
            settings = self.read()
        except ChatSettingsError as exc:
            self.query_one("#cs-error", Static).update(str(exc))
            return
        self.dismiss(settings)
