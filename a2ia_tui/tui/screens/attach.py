"""The attach dialog: a workspace path with completion (Tab, or → at the end), read on Enter.

The file is read here (core/agent/attachments.py): a refusal (secret, too large, binary, outside
the workspace) is shown in the dialog, which stays open for another path.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label

from ...core.agent.attachments import Attachment, complete_path, read_attachment
from ...core.errors import AttachmentError
from ...core.tools.secrets import SecretRules
from ...core.tools.workspace import Workspace
from .dialogs import DIALOG_CSS


class WorkspacePaths(Suggester):
    """Completes a path from the workspace's entries (listed at each keystroke: files change)."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.workspace = workspace

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(self.workspace, value)


class AttachScreen(ModalScreen[Attachment | None]):
    """Dismisses the attachment read, or None (Escape)."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="AttachScreen")
        + """
    AttachScreen #why { color: $error; }
    AttachScreen .hint { color: $text-muted; }
    """
    )
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("tab", "complete", "Complete", priority=True, show=False),
    ]

    def __init__(self, workspace: Workspace, rules: SecretRules) -> None:
        super().__init__()
        self.workspace, self.rules = workspace, rules

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Attach a file of the workspace (text, or an image for a vision model)", markup=False)
            yield Input(placeholder="path, Tab completes", suggester=WorkspacePaths(self.workspace), id="path")
            yield Label("", id="why", markup=False)
            yield Label("Enter attaches, Esc cancels", classes="hint", markup=False)

    def action_complete(self) -> None:
        field = self.query_one("#path", Input)
        done = complete_path(self.workspace, field.value)
        if done is not None:
            field.value = done
            field.cursor_position = len(done)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            attachment = read_attachment(self.workspace, event.value.strip(), self.rules)
        except AttachmentError as exc:
            self.query_one("#why", Label).update(str(exc))
            return
        self.dismiss(attachment)
