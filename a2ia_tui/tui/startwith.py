"""What the command line asks the app to do as it opens: ``--continue`` (reopen the last saved
chat) and ``a2ia-tui "question"`` (send it). Called once, as soon as the history store is open
and before a backend is chosen: the question shows at once and its answer waits for the backend,
as a question typed while the app starts does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import A2IAError
from .widgets.prompt import Prompt

if TYPE_CHECKING:
    from .app import A2IAApp


async def begin(app: A2IAApp) -> None:
    s = app.services
    if s.continue_last:
        s.continue_last = False
        await _continue(app)
    if s.start_question:
        question, s.start_question = s.start_question, None
        app.on_prompt_sent(Prompt.Sent(question))


async def _continue(app: A2IAApp) -> None:
    store = app.services.store
    if store is None:
        app.chat.add_note("--continue: history is off, so there is no chat to reopen.", "warning")
        return
    try:
        last = store.list(limit=1)
    except A2IAError as exc:
        app.chat.add_note(f"--continue: {exc}", "error")
        return
    if not last:
        app.chat.add_note("--continue: no saved chat yet; this is a new one.", "info")
        return
    await app.open_conversation(last[0].id)
