"""App-level messages (facts in past tense, requests as verbs), posted up to :class:`A2IAApp`.

Widgets with their own messages nest them (e.g. ``TraceItem.Answered``); these are the ones
several widgets share.
"""

from __future__ import annotations

from textual.message import Message


class SelectBackend(Message):
    """Request: make ``backend`` (with ``model``, or the one it is configured or serves) the
    chat's backend. The one message for it, whoever asks: the palette, the sidebar's backend
    and model lists, an engine's start screen once the engine is ready.

    ``checked``: the sender has already shown the user why the backend is offline and had a
    yes (the sidebar), or knows it is up (a started engine): the app asks nothing more.
    """

    def __init__(self, backend: str, model: str | None = None, *, checked: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.model = model
        self.checked = checked


class OpenConversation(Message):
    """Request: replace the current chat with the saved conversation ``conversation_id``."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class ConversationDeleted(Message):
    """Fact: the saved conversation ``conversation_id`` was deleted (from the saved chats)."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class ConversationRenamed(Message):
    """Fact: the saved conversation ``conversation_id`` is now called ``title``."""

    def __init__(self, conversation_id: str, title: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.title = title
