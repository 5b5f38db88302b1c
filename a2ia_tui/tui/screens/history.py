"""The saved conversations: a list (most recent first), and a search over every message (``/``
or the palette's "Saved chats: search"); Enter opens, ``r`` renames, ``d`` deletes and ``D``
deletes them all (each after a yes/no), escape closes. Dismisses with the id to open, or None."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ...core.errors import StoreError
from ...core.store.history import MATCH_END, MATCH_START
from ...core.textsafe import printable
from ..messages import ConversationDeleted, ConversationRenamed, OpenConversation
from .dialogs import ConfirmScreen, TextInputScreen

if TYPE_CHECKING:
    from ...core.protocols import History
    from ...core.store import SearchHit

_SPACES = re.compile(r"\s+")
#: How the matched words of a search passage are shown.
MATCH_STYLE = "bold reverse"


class HistoryScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("slash", "focus_search", "Search"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
        Binding("D", "delete_all", "Delete all"),
        Binding("down", "focus_list", show=False),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1; }
    HistoryScreen OptionList { height: 1fr; }
    HistoryScreen #history-help { color: $text-muted; width: 100%; }
    HistoryScreen #history-error { color: $error; }
    """

    def __init__(self, store: History, clock=time.localtime, start: str | None = None) -> None:
        """``start``: ``"search"`` puts the keyboard in the search box, ``"delete_all"`` asks at once."""
        super().__init__()
        self.store = store
        self._clock = clock
        self._start = start

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Saved chats"
            yield Label("Enter open · / search · r rename · d delete · D delete all · Esc close", id="history-help")
            yield Input(placeholder="Search the saved chats", id="history-search")
            yield OptionList(id="chats")
            yield Label("", id="history-error")

    def on_mount(self) -> None:
        self.refresh_list()
        if self._start == "search":
            self.query_one(Input).focus()
        else:
            self.query_one(OptionList).focus()
        if self._start == "delete_all":
            self.action_delete_all()

    @property
    def query_text(self) -> str:
        return self.query_one(Input).value.strip()

    def refresh_list(self) -> None:
        ol = self.query_one(OptionList)
        ol.clear_options()
        self.query_one("#history-error", Label).update("")
        text = self.query_text
        try:
            hits: list[Any] = self.store.search(text) if text else self.store.list()
        except StoreError as exc:
            self.query_one("#history-error", Label).update(str(exc))
            return
        if not hits:
            empty = f"No saved chat contains “{printable(text)}”." if text else "No saved chats yet."
            ol.add_option(Option(Text(empty), disabled=True))
        for hit in hits:
            if text:
                ol.add_option(Option(self._line(hit.info, hit), id=hit.info.id))
            else:
                ol.add_option(Option(self._line(hit), id=hit.id))
        if hits:
            ol.highlighted = 0

    def _line(self, info: Any, hit: SearchHit | None = None) -> Text:
        when = time.strftime("%Y-%m-%d %H:%M", self._clock(info.updated_at))
        # a title is the user's first line or a rename: plain text, no markup, no escapes
        line = Text(printable(f"{when}  {info.title}  ({info.messages} messages)"))
        if hit is not None and hit.snippet:
            line.append("\n  ")
            line.append_text(_passage(hit.snippet))
        return line

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_list()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_focus_list()

    def action_focus_search(self) -> None:
        self.query_one(Input).focus()

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

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

    def action_delete_all(self) -> None:
        try:
            ids = [info.id for info in self.store.list()]
        except StoreError as exc:
            self.query_one("#history-error", Label).update(str(exc))
            return
        if not ids:
            self.notify("There are no saved chats to delete.")
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete_all()
            except StoreError as exc:
                self.query_one("#history-error", Label).update(str(exc))
                return
            for cid in ids:  # the open chat among them is replaced by a new one (see the app)
                self.app.post_message(ConversationDeleted(cid))
            self.query_one(Input).value = ""
            self.refresh_list()

        n = len(ids)
        question = f"Delete all {n} saved chat{'s' if n != 1 else ''}? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question, yes="Delete all"), done)


def _passage(snippet: str) -> Text:
    """A search passage on one line, its matched words highlighted; the stored text is shown as
    text (no markup, no control sequences)."""
    out = Text()
    for i, part in enumerate(snippet.replace(MATCH_END, MATCH_START).split(MATCH_START)):
        out.append(printable(_SPACES.sub(" ", part)), style=MATCH_STYLE if i % 2 else "")
    return out


def show(app: Any, start: str | None = None) -> None:
    """Open the saved chats over the app (the palette's entries); an id chosen there is opened."""
    store = app.services.store
    if store is None:
        app.notify(f"History is off: {app.services.history_error or 'no store'}", severity="warning")
        return

    def opened(cid: str | None) -> None:
        if cid:
            app.post_message(OpenConversation(cid))

    app.push_screen(HistoryScreen(store, start=start), opened)
