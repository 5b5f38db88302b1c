"""The prompt: a one-line input; Enter sends (posts ``Prompt.Sent``; the app takes the text when
it accepts it), up/down recall the messages sent in this session. Empty input sends nothing."""

from __future__ import annotations

from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input


class Prompt(Input):
    BINDINGS = [
        Binding("up", "recall(-1)", "Previous", show=False),
        Binding("down", "recall(1)", "Next", show=False),
    ]
    #: ``overflow-x: hidden``: an empty Input's virtual width is its placeholder's, and Textual
    #: lays the whole screen out when a scrollbar comes or goes (even Input's, which is 0 rows
    #: high): so clearing the prompt at each turn cost a layout. Hidden, it still scrolls to
    #: keep the cursor in view.
    DEFAULT_CSS = "Prompt { dock: bottom; margin: 0 1; overflow-x: hidden; }"

    #: Input sets its virtual size (the text's width) at every change of its value, and
    #: Widget's ``virtual_size`` asks for a layout of the whole screen when it changes: a layout
    #: per keystroke, and one when Enter clears the prompt at the start of every turn. The
    #: prompt's size is fixed by its CSS and its horizontal scrolling reads the virtual size
    #: directly, so here a change only repaints the prompt.
    virtual_size = Reactive(Size(0, 0), layout=False)

    class Sent(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    #: Questions kept for recall (up-arrow): the app stays open for days.
    HISTORY = 1000

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="Message the agent (Enter sends)", **kwargs)
        self._sent: list[str] = []
        self._pos = 0

    async def action_submit(self) -> None:
        """Enter: offer the text to the app (``Sent``). It stays here until the app takes it
        (:meth:`take`): a message refused (an answer is still streaming) is not lost."""
        text = self.value
        if not text.strip():
            return
        self.post_message(self.Sent(text))

    def take(self, text: str) -> None:
        """The app accepted ``text``: it joins the recall history and leaves the prompt (unless
        something else was typed meanwhile). The app calls this when it draws the question, so
        clearing the prompt is painted in the same refresh."""
        self._sent.append(text)
        if len(self._sent) > self.HISTORY:
            del self._sent[: -self.HISTORY]
        self._pos = len(self._sent)
        if self.value == text:
            self.value = ""

    def action_recall(self, step: int) -> None:
        if not self._sent:
            return
        self._pos = max(0, min(len(self._sent), self._pos + step))
        self.value = self._sent[self._pos] if self._pos < len(self._sent) else ""
        self.cursor_position = len(self.value)
