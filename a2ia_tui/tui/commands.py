"""Command palette (ctrl+p) entries beyond the keys: backends, models, engines, saved chats.

Every key of the app is also in the palette (``A2IAApp.get_system_commands``); the theme
picker is Textual's own "Theme" command. This provider adds:

* ``Backend: NAME`` — hot-swap to a configured backend;
* ``Model: BACKEND/MODEL`` — the models the current backend lists (asked once per palette
  opening, with a short timeout; an offline backend simply lists none);
* ``Models: manage`` — the models screen (Ollama pull/delete/details, the hub cache);
* ``Engine: start NAME`` (the same start screen as the sidebar's Start: the autotune estimate,
  editable, then the progress) / ``Engine: stop NAME``;
* ``Bench: NAME`` — ``a2ia-tui bench`` on a backend, in a panel over the app (screens/bench.py);
* ``Tools: turn off SERVER`` / ``Tool: turn off SERVER/TOOL`` (or on) — what this chat offers
  the model;
* ``Copy: last answer`` / ``Copy: code block N`` — to the clipboard (OSC 52, through the
  terminal: works over ssh);
* ``Edit: question N`` — edit a question of this chat and send it again (the old one stays);
* ``Alternatives: answer K (I of N): earlier`` / ``…: later`` — flip a regenerated answer or an
  edited question (F5 regenerates the last answer);
* ``Chat: TITLE`` — open a saved conversation;
* ``Saved chats: search`` / ``Saved chats: delete all`` — the saved chats, with the keyboard in
  the search box, or asking at once whether to delete them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from ..core.errors import A2IAError, StoreError
from ..core.textsafe import printable
from .messages import OpenConversation, SelectBackend

if TYPE_CHECKING:
    from .app import A2IAApp

MODELS_TIMEOUT_S = 2.0


class A2IACommands(Provider):
    async def startup(self) -> None:
        app = cast("A2IAApp", self.app)
        self._items: list[tuple[str, str, Callable[[], object]]] = []
        settings = app.services.settings
        for name in settings.backends:
            self._items.append(
                (f"Backend: {name}", f"Switch to the {name} backend", partial(app.post_message, SelectBackend(name)))
            )
        orch = app.orchestrator
        if orch is not None:
            try:
                models = await asyncio.wait_for(orch.client.list_models(), MODELS_TIMEOUT_S)
            except (A2IAError, TimeoutError):  # an offline backend lists no models
                models = []
            for m in models:
                self._items.append(
                    (
                        _plain(f"Model: {orch.client.name}/{m.name}"),
                        _plain(f"Use {m.name} on {orch.client.name}"),
                        partial(app.post_message, SelectBackend(orch.client.name, m.name)),
                    )
                )
        self._items.append(
            (
                "Models: manage",
                "Ollama's models (pull, delete, details) and the hub cache vLLM reads",
                partial(open_models, app),
            )
        )
        for name in settings.backends:
            self._items.append(
                (
                    f"Bench: {name}",
                    f"Tokens/s and time to first token of {name} under 1, 2, 4 and 8 concurrent requests",
                    partial(_open_bench, app, name),
                )
            )
        if app.services.engines is not None:
            from ..core.engines.kinds import engine_kinds

            for name, kind in engine_kinds().items():
                self._items.append(
                    (
                        f"Engine: start {name}",
                        f"{kind.label}: its settings" + (" and estimate" if kind.autotune else "") + ", then start it",
                        partial(app.open_engine_start, name),
                    )
                )
                self._items.append(
                    (f"Engine: stop {name}", f"Stop the managed {kind.label} engine", partial(app.stop_engine, name))
                )
        hub = app.services.hub
        if hub is not None:
            off = app.conversation.tools_off
            servers: dict[str, list[str]] = {}
            for tool in hub.tools():
                servers.setdefault(tool.server, []).append(tool.original_name)
            for server, names in servers.items():
                verb = "on" if server in off else "off"
                self._items.append(
                    (
                        _plain(f"Tools: turn {verb} {server}"),
                        _plain(f"Turn all of {server}'s tools {verb} for this chat"),
                        partial(app.toggle_tools, server),
                    )
                )
                for name in names:
                    key = f"{server}/{name}"
                    verb = "on" if key in off else "off"
                    self._items.append(
                        (
                            _plain(f"Tool: turn {verb} {key}"),
                            _plain(
                                f"Offer {name} to the model in this chat"
                                if verb == "on"
                                else f"Stop offering {name} in this chat"
                            ),
                            partial(app.toggle_tools, key),
                        )
                    )
        answer = _last_answer(app)
        if answer:
            self._items.append(
                ("Copy: last answer", "Copy the last answer to the clipboard", partial(app.copy, answer))
            )
            for n, block in enumerate(code_blocks(answer), 1):
                first = block.strip().splitlines()[0] if block.strip() else ""
                self._items.append(
                    (
                        _plain(f"Copy: code block {n}  {first[:40]}"),
                        f"Copy code block {n} of the last answer",
                        partial(app.copy, block),
                    )
                )
        self._items.extend(_branch_items(app))
        store = app.services.store
        if store is not None:
            from .screens import history

            self._items.append(
                ("Saved chats: search", "Find a saved chat by its text", partial(history.show, app, "search"))
            )
            self._items.append(
                (
                    "Saved chats: delete all",
                    "Delete every saved chat (asks first)",
                    partial(history.show, app, "delete_all"),
                )
            )
            try:
                for info in store.list(limit=50):
                    self._items.append(
                        (
                            _plain(f"Chat: {info.title}"),
                            f"Open the saved chat ({info.messages} messages)",
                            partial(app.post_message, OpenConversation(info.id)),
                        )
                    )
            except StoreError:  # the palette goes without them; History (ctrl+o) says why
                pass

    async def discover(self) -> Hits:
        for title, help_text, cb in self._items:
            if title.startswith(("Backend:", "Engine:", "Saved chats:", "Models:")):
                yield DiscoveryHit(title, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, cb in self._items:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), cb, help=help_text)


def open_models(app) -> None:
    """The models screen, through the sidebar when there is one (it reloads its model list after)."""
    from .widgets.sidebar import Sidebar

    sidebars = app.query(Sidebar)
    if sidebars:
        sidebars.first().open_models()
        return
    from .screens.models import ModelsScreen

    app.push_screen(ModelsScreen(app.services))


def _last_answer(app: A2IAApp) -> str:
    conversation = app.current_conversation
    for entry in reversed(conversation.entries if conversation is not None else ()):
        if entry.message.role == "assistant" and entry.message.content.strip():
            return entry.message.content
    return ""


def code_blocks(markdown: str) -> list[str]:
    """The fenced and indented code blocks of a Markdown text, as CommonMark reads them."""
    from markdown_it import MarkdownIt

    return [t.content for t in MarkdownIt("commonmark").parse(markdown) if t.type in ("fence", "code_block")]


def _open_bench(app: A2IAApp, backend: str) -> None:
    from .screens.bench import open_bench  # imported when used: most sessions never bench

    open_bench(app, backend)


def _plain(text: str) -> str:
    """A palette line from outside text (a saved chat's title, a server's model name): the
    palette reads its lines as Textual markup, where ``[@click=app.quit]`` is an action; and no
    control sequence reaches the terminal."""
    return escape(printable(text))


#: The questions offered to edit from the palette (the last ones).
EDIT_ITEMS = 30


def _branch_items(app: A2IAApp) -> list[tuple[str, str, Callable[[], object]]]:
    from .branches import label

    conv = app.conversation
    items: list[tuple[str, str, Callable[[], object]]] = []
    questions = app.branches.questions()
    for n, index in list(enumerate(questions, 1))[-EDIT_ITEMS:]:
        first = conv.entries[index].message.content.strip().splitlines() or [""]
        items.append(
            (
                _plain(f"Edit: question {n}  {first[0][:40]}"),
                "Edit this question and send it again (the old one and its answers stay)",
                partial(app.branches.edit, index),
            )
        )
    for index, (place, count) in conv.alternatives().items():
        where = _plain(f"Alternatives: {label(conv.entries[index].message.role, place, count)} at message {index + 1}")
        if place > 1:
            items.append((f"{where}: earlier", "Show the one before", partial(app.branches.flip, -1, index)))
        if place < count:
            items.append((f"{where}: later", "Show the one after", partial(app.branches.flip, 1, index)))
    return items
