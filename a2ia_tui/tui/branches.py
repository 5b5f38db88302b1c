"""Regenerate an answer, edit a question and send it again, flip between the alternatives.

The chat is a tree (:mod:`a2ia_tui.core.agent.conversation`): each of these starts a branch or
shows another one, and nothing is lost; the history store saves the tree and the branch shown.
:class:`Branches` belongs to the app (``app.branches``). Keys: F5 answers the last question again,
F4 edits the last question, alt+← / alt+→ flip the last message that has alternatives; the
palette reaches every question ("Edit: question N") and every message with alternatives
("Alternatives: …").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import A2IAApp

BUSY = "An answer is still streaming: press Esc to stop it first."


def label(role: str, place: int, count: int) -> str:
    return f"{'question' if role == 'user' else 'answer'} {place} of {count}"


def mark(role: str, place: int, count: int, keys: bool = False) -> str:
    """The line above a message that has alternatives."""
    return f"◂ {label(role, place, count)} ▸" + ("   alt+← alt+→" if keys else "")


class Branches:
    def __init__(self, app: A2IAApp) -> None:
        self.app = app

    def _idle(self) -> bool:
        if self.app.turn_running:
            self.app.notify(BUSY, severity="warning")
            return False
        return True

    def questions(self) -> list[int]:
        """The shown branch's questions, by index."""
        return [i for i, e in enumerate(self.app.conversation.entries) if e.message.role == "user"]

    async def regenerate(self) -> None:
        """The last question, sent again; its earlier answer stays as an alternative. Tools run
        again as the new answer asks for them, with the same approvals (a destructive one asks)."""
        app = self.app
        if not self._idle():
            return
        conv = app.conversation
        if conv.regenerate() is None:
            app.notify("There is no question to answer again.", severity="warning")
            return
        await self.app.chats.redraw()
        earlier = conv.replies(len(conv.entries) - 1)
        if earlier:
            app.chat.add_note(mark("assistant", earlier + 1, earlier + 1, keys=True), "branch")
        self._send()

    def edit(self, index: int | None = None) -> None:
        """Open the question at ``index`` (default: the last) to edit; sent, the chat continues
        from it and the old continuation stays in the tree."""
        app = self.app
        if not self._idle():
            return
        questions = self.questions()
        if not questions:
            app.notify("There is no question to edit yet.", severity="warning")
            return
        index = questions[-1] if index is None else index
        if index not in questions:
            return
        from .screens.edit_question import EditQuestionScreen

        old = app.conversation.entries[index]

        async def done(text: str | None) -> None:
            if text is None or not text.strip() or text == old.message.content:
                return  # nothing changed: nothing to branch
            at = next((i for i, e in enumerate(app.conversation.entries) if e is old), None)
            if at is None or not self._idle():  # the chat changed meanwhile
                return
            app.conversation.edit(at, text)
            await self.app.chats.redraw()
            self._send()

        app.push_screen(EditQuestionScreen(questions.index(index) + 1, old.message.content), done)

    async def flip(self, step: int, index: int | None = None) -> None:
        """Show the earlier (-1) or later (+1) alternative of the message at ``index`` (default:
        the last one that has alternatives)."""
        app = self.app
        if not self._idle():
            return
        conv = app.conversation
        found = conv.alternatives()
        if not found:
            app.notify("No message here has alternatives: F5 answers the last question again.")
            return
        index = max(found) if index is None else index
        if index not in found or not conv.switch(index, step):
            app.notify("No " + ("earlier" if step < 0 else "later") + " alternative.")
            return
        await self.app.chats.redraw()
        app.chats.save()

    def _send(self) -> None:
        app = self.app
        app.chats.save()
        app.turn_running = True
        app.run_turn()
