"""Chats: the open one saved as it goes, a new one, a saved one opened, exported, renamed or deleted.

:class:`Chats` belongs to the app (``app.chats``) and works on its widgets; the app's keys and
messages call it (ctrl+n, ctrl+o, ctrl+e, ``OpenConversation``, ``ConversationRenamed``,
``ConversationDeleted``).

Saving: every finished message is written to the history store as soon as the orchestrator
appends it. A database another program holds locked keeps the messages in memory: said once,
retried every :data:`HISTORY_RETRY_S` until written. Any other store error turns history off
for the session, with one note. A conversation deleted from the saved chats is never written
again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from textual.timer import Timer

from ..core.errors import A2IAError

if TYPE_CHECKING:
    from ..core.agent.conversation import Conversation
    from ..core.protocols import History
    from .app import A2IAApp

#: How often messages waiting for a locked history database are retried.
HISTORY_RETRY_S = 2.0


class Chats:
    def __init__(self, app: A2IAApp) -> None:
        self.app = app
        #: Conversations deleted from the saved chats in this session: never written again.
        self.deleted: set[str] = set()
        self._retry: Timer | None = None

    # -- saving --------------------------------------------------------------------------------

    def save(self) -> None:
        app = self.app
        store = app.services.store
        current = app.current_conversation
        if store is None or (current is not None and current.id in self.deleted):
            return
        try:
            store.sync(app.conversation)
        except A2IAError as exc:
            self._history_off(exc)
            return
        self._watch_lock(store)

    def _history_off(self, exc: A2IAError) -> None:
        self.app.services.store = None
        self.app.services.history_error = str(exc)
        self.app.chat.add_note(f"History is off: {exc}", "warning")

    def _watch_lock(self, store: History) -> None:
        """Another program holds the database locked: the messages wait in the store's memory;
        say so once and retry on a timer until they are written."""
        waiting = store.waiting
        if waiting and self._retry is None:
            self.app.chat.add_note(
                f"History: the database is locked by another program; {waiting} message(s) wait "
                "in memory and will be written when it is free.",
                "warning",
            )
            self._retry = self.app.set_interval(HISTORY_RETRY_S, self._retry_now)

    def _retry_now(self) -> None:
        store = self.app.services.store
        try:
            if store is not None:
                store.flush()
        except A2IAError as exc:
            store = None
            self._history_off(exc)
        if store is None or not store.waiting:
            if self._retry is not None:
                self._retry.stop()
                self._retry = None
            if store is not None:
                self.app.chat.add_note("History: the database is free again; the waiting messages are saved.")

    # -- new, renamed, deleted -----------------------------------------------------------------

    async def new(self) -> None:
        from ..core.agent.conversation import Conversation

        app = self.app
        app.conversation = Conversation()
        await app.chat.clear()
        await app.trace.clear()
        app.status.set(tps=None, ttft=None, tokens_in=None, tokens_out=None)
        from .widgets.release import give_back_memory

        # once the old chat's widgets are gone (removed on the next turns of the loop)
        app.set_timer(0.2, give_back_memory)

    def renamed(self, conversation_id: str, title: str) -> None:
        """The open chat renamed from the saved chats: its next save must not write the old
        title back."""
        current = self.app.current_conversation
        if current is not None and current.id == conversation_id:
            current.title = title

    async def deleted_from_saved(self, conversation_id: str) -> None:
        """The open chat deleted from the saved chats: a new chat replaces it (saved as it was,
        it came back with only the messages sent after the deletion)."""
        self.deleted.add(conversation_id)
        current = self.app.current_conversation
        if current is None or current.id != conversation_id:
            return
        if self.app.turn_running:
            await self.app.cancel_turn()
        await self.new()
        self.app.chat.add_note("The chat you were in was deleted: this is a new one.")

    # -- saved chats ---------------------------------------------------------------------------

    def show_saved(self) -> None:
        from .screens import history

        history.show(self.app)

    async def open(self, conversation_id: str) -> None:
        app = self.app
        if app.turn_running:
            await app.cancel_turn()
        self.save()
        store = app.services.store
        if store is None:
            app.notify(f"History is off: {app.services.history_error or 'no store'}", severity="warning")
            return
        try:
            conv = store.load(conversation_id)
        except A2IAError as exc:
            app.notify(str(exc), severity="error")
            return
        app.conversation = conv
        await self.redraw()
        if conv.load_notes:  # corrupt rows: repaired or skipped, never a crash
            more = f" (+{len(conv.load_notes) - 3} more)" if len(conv.load_notes) > 3 else ""
            app.chat.add_note("Some saved messages were damaged: " + "; ".join(conv.load_notes[:3]) + more, "warning")
        # the last answer's figures, as saved with it (the chat shown before had its own)
        last = next((e.meta for e in reversed(conv.entries) if e.message.role == "assistant"), None)
        app.status.set(
            tps=last and last.tokens_per_s,
            ttft=last and last.ttft_s,
            tokens_in=last and last.prompt_tokens,
            tokens_out=last and last.completion_tokens,
        )

    async def redraw(self) -> None:
        """The chat and the trace drawn again from the open conversation's branch shown."""
        app = self.app
        await app.chat.show_conversation(app.conversation)
        await app.trace.clear()
        await self._restore_trace(app.conversation)

    async def _restore_trace(self, conv: Conversation) -> None:
        from ..core.agent.conversation import pair_tool_results
        from ..core.agent.events import ToolCallFinished as Fin
        from ..core.agent.events import ToolCallRequested as Req

        trace = self.app.trace
        entries = conv.entries[-200:]
        results = pair_tool_results(entries)  # by position: call ids repeat across replies
        hub = self.app.services.hub
        for n, entry in enumerate(entries):
            for i, call in enumerate(entry.message.tool_calls):
                key = f"restored-{n}-{i}"  # an item's own key, for the same reason
                res = results.get((n, i))
                # the server saved with the result; for a call that has none (stopped before
                # it ran, or saved by an older version), the one that has the tool now
                server = res.meta.extra.get("server") if res is not None else None
                if not server and hub is not None:
                    tool = hub.tool(call.name)
                    server = tool.server if tool is not None else ""
                await trace.add_call(
                    Req(
                        key, call.name, call.function.arguments, server or "", raw_arguments=call.function.raw_arguments
                    )
                )
                if res is not None:
                    trace.finish(
                        Fin(
                            key,
                            res.meta.full_result or res.message.content,
                            res.meta.is_error,
                            res.meta.duration_s or 0.0,
                            name=call.name,
                        )
                    )

    # -- export --------------------------------------------------------------------------------

    def export_path(self) -> Path:
        conversation = self.app.conversation
        slug = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-")[:40] or "chat"
        return self.app.loaded.paths.data_dir / "exports" / f"{slug}-{conversation.id[:8]}.md"

    def export(self) -> None:
        from ..core.store.export import to_markdown

        app = self.app
        path = self.export_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(to_markdown(app.conversation), encoding="utf-8")
        except OSError as exc:
            app.notify(f"Cannot export: {exc.strerror or exc}", severity="error")
            return
        # The toast names the file and its folder on lines of their own (a whole path wrapped in
        # the toast and lost the file's name); the chat keeps the full path, to copy.
        home, where = str(Path.home()), str(path.parent)
        if where == home or where.startswith(home + "/"):
            where = "~" + where[len(home) :]
        app.notify(f"{path.name}\nin {where}", title="Exported")
        app.chat.add_note(f"Exported to {path}")
