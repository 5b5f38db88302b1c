"""What the app's widgets read of the app: :class:`AppState`, the base of ``A2IAApp``.

A widget also runs in other apps (the tests' small ones), so it reads these after
``isinstance(self.app, AppState)``, typed, rather than probing for attributes. This module
imports no widget, so any widget can import it without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

if TYPE_CHECKING:
    from ..core.agent.conversation import Conversation


class AppState(App[int]):
    #: A question is being answered: widgets leave their idle work (settling a long answer,
    #: letting go of far messages) for later.
    turn_running = False

    def __init__(self) -> None:
        super().__init__()
        self._conversation: Conversation | None = None

    @property
    def current_conversation(self) -> Conversation | None:
        """The open chat, or None when none was needed yet (see :attr:`conversation`)."""
        return self._conversation

    @property
    def conversation(self) -> Conversation:
        """The open chat (created on first use: importing the conversation model pulls in the
        LLM layer, which the first frame does not need)."""
        if self._conversation is None:
            from ..core.agent.conversation import Conversation

            self._conversation = Conversation()
        return self._conversation

    @conversation.setter
    def conversation(self, value: Conversation) -> None:
        self._conversation = value
