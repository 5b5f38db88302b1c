"""The line above the prompt that lists the files attached to the next question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from ...core.textsafe import printable

if TYPE_CHECKING:
    from ...core.agent.attachments import Attachment


class AttachmentBar(Static):
    """Mounted with the first attachment and removed when the question is sent or the
    attachments are dropped: a chat without attachments never lays it out."""

    DEFAULT_CSS = "AttachmentBar { height: auto; max-height: 3; margin: 0 1; color: $text-muted; }"

    def __init__(self, attachments: list[Attachment], **kwargs) -> None:
        super().__init__(self.describe(attachments), markup=False, **kwargs)

    @staticmethod
    def summary(attachments: list[Attachment]) -> str:
        """One line naming the files (shown under the question once sent)."""
        return "Attached: " + ", ".join(printable(a.label) for a in attachments)

    @classmethod
    def describe(cls, attachments: list[Attachment]) -> str:
        return f"{cls.summary(attachments)}  (f3 adds, shift+f3 drops them)"

    def show(self, attachments: list[Attachment]) -> None:
        self.update(self.describe(attachments))
