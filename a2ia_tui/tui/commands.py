"""Command palette (ctrl+p) entries beyond the keys: backends, models, engines, saved chats.

Every key of the app is also in the palette (``A2IAApp.get_system_commands``); the theme
picker is Textual's own "Theme" command. This provider adds:

* ``Backend: NAME`` — hot-swap to a configured backend;
* ``Model: BACKEND/MODEL`` — the models the current backend lists (asked once per palette
  opening, with a short timeout; an offline backend simply lists none);
* ``Engine: start NAME`` (the same start screen as the sidebar's Start: the autotune estimate,
  editable, then the progress) / ``Engine: stop NAME``;
* ``Chat: TITLE`` — open a saved conversation.
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
        if app.services.engines is not None:
            for name in ("vllm", "local"):
                self._items.append(
                    (
                        f"Engine: start {name}",
                        f"The {name} engine's estimate and settings, then start it",
                        partial(app.open_engine_start, name),
                    )
                )
                self._items.append(
                    (f"Engine: stop {name}", f"Stop the managed {name} engine", partial(app.stop_engine, name))
                )
        store = app.services.store
        if store is not None:
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
            if title.startswith(("Backend:", "Engine:")):
                yield DiscoveryHit(title, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, cb in self._items:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), cb, help=help_text)


def _plain(text: str) -> str:
    """A palette line from outside text (a saved chat's title, a server's model name): the
    palette reads its lines as Textual markup, where ``[@click=app.quit]`` is an action; and no
    control sequence reaches the terminal."""
    return escape(printable(text))
