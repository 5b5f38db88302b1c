"""The saved conversations: a list (most recent first); Enter opens, ``r`` renames, ``d``
deletes (after a yes/no), escape closes. Dismisses with the id to open, or None."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ...core.errors import StoreError
from ...core.textsafe import printable
from ..messages import ConversationDeleted, ConversationRenamed
from .dialogs import ConfirmScreen, TextInputScreen

if TYPE_CHECKING:
    from ...core.protocols import History


class HistoryScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1; }
    HistoryScreen OptionList { height: 1fr; }
    HistoryScreen #history-help { color: $text-muted; }
    HistoryScreen #history-error { color: $error; }
    """

    def __init__(self, store: History, clock=time.localtime) -> None:
        super().__init__()
        self.store = store
        self._clock = clock

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Saved chats — Enter open · r rename · d delete · Esc close", id="history-help")
            yield OptionList(id="chats")
            yield Label("", id="history-error")

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one(OptionList).focus()

    def refresh_list(self) -> None:
        ol = self.query_one(OptionList)
        ol.clear_options()
        try:
            infos = self.store.list()
        except StoreError as exc:
            self.query_one("#history-error", Label).update(str(exc))
            return
        if not infos:
            ol.add_option(Option("No saved chats yet.", disabled=True))
        for info in infos:
            when = time.strftime("%Y-%m-%d %H:%M", self._clock(info.updated_at))
            # a title is the user's first line or a rename: plain text, no markup, no escapes
            ol.add_option(Option(Text(printable(f"{when}  {info.title}  ({info.messages} messages)")), id=info.id))
        if infos:
            ol.highlighted = 0

    def _selected(self) -> str | None:
        ol = self.query_one(OptionList)
        if ol.highlighted is None:
            return None
        return ol.get_option_at_index(ol.highlighted).id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    def action_rename(self) -> None:
        cid = self._selected()
        if cid is None:
            return

        def done(title: str | None) -> None:
            if title:
                try:
                    self.store.rename(cid, title)
                except StoreError as exc:
                    self.query_one("#history-error", Label).update(str(exc))
                else:
                    self.app.post_message(ConversationRenamed(cid, title))
                self.refresh_list()

        self.app.push_screen(TextInputScreen("New title:", self.store.load(cid).title), done)

    def action_delete(self) -> None:
        cid = self._selected()
        if cid is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                try:
                    self.store.delete(cid)
                except StoreError as exc:
                    self.query_one("#history-error", Label).update(str(exc))
                else:
                    self.app.post_message(ConversationDeleted(cid))
                self.refresh_list()

        self.app.push_screen(ConfirmScreen("Delete this saved chat?"), done)
