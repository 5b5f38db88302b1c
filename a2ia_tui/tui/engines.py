"""The app's engine glue: engines left by a crashed session, Start / Stop from the palette and the
sidebar, the log, and which engines still run when quitting.

The engines themselves are the core's (``services.engines``, an :class:`EngineControl`); this
only asks, shows and notes. :class:`EngineGlue` belongs to the app (``app.engine_glue``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import A2IAError
from .widgets.engine_row import engine_backend, engine_label

if TYPE_CHECKING:
    from .app import A2IAApp


class EngineGlue:
    def __init__(self, app: A2IAApp) -> None:
        self.app = app
        #: Engines started or adopted from the app (the session's own start of the local
        #: engine is in ``session.started_engines``).
        self.started: set[str] = set()

    async def offer_leftovers(self) -> None:
        """An engine left running by a crashed session (found through its pid file): adopt it
        (it becomes this app's managed engine again) or stop it."""
        app = self.app
        engines = app.services.engines
        if engines is None:
            return
        try:
            left = engines.leftovers()
        except OSError:  # unreadable pid files never block start-up
            return
        for note in engines.notes:  # a malformed pid file: one line, nothing killed
            app.chat.add_note(note)
        from .screens.dialogs import ConfirmScreen

        for name, record in left.items():
            label = engine_label(name)
            question = (
                f"{label} (pid {record.get('pid')}) was left running by an earlier session at "
                f"{record.get('url', '?')}. Adopt it, or stop it?"
            )
            adopt = await app.push_screen_wait(ConfirmScreen(question, yes="Adopt", no="Stop it"))
            try:
                if adopt:
                    await engines.adopt(name)
                    self.started.add(name)
                    app.chat.add_note(f"Adopted {label} at {record.get('url', '?')}.")
                else:
                    await engines.stop_leftover(name)
                    app.chat.add_note(f"Stopped {label} left by an earlier session.")
            except A2IAError as exc:
                app.chat.add_note(f"{label}: {exc}", "error")

    def running(self) -> list[str]:
        """The engines this app started or adopted that are up (quitting asks about them)."""
        engines = self.app.services.engines
        if engines is None:
            return []
        session = self.app.session
        started = self.started | (session.started_engines if session is not None else set())
        states = engines.states()
        return [n for n in engines.running() if n in started or states[n].managed]

    def open_start(self, name: str) -> None:
        """The start screen of an engine (autotune estimate, editable, then the progress), as the
        sidebar's Start opens it."""
        from .screens.engine_start import EngineStartScreen

        self.app.push_screen(EngineStartScreen(self.app.services, name))

    def open_log(self) -> None:
        from .screens.engine_log import EngineLogScreen

        self.app.push_screen(EngineLogScreen(self.app.services))

    async def start(self, name: str) -> None:
        app = self.app
        engines = app.services.engines
        if engines is None:
            app.notify("Engines are not available.", severity="error")
            return
        label = engine_label(name)
        app.chat.add_note(f"Starting {label}…")
        try:
            await engines.start(name)
        except A2IAError as exc:
            app.chat.add_note(f"{label} failed: {exc}", "error")
            return
        self.started.add(name)
        app.chat.add_note(f"{label} is ready.")

    async def stop(self, name: str) -> None:
        app = self.app
        engines = app.services.engines
        if engines is None:
            return
        if app.turn_running and app.busy_backend == engine_backend(name):
            if not await app.push_screen_wait(
                app.confirm(f"An answer is streaming from {name}. Stop it and the engine?")
            ):
                return
            await app.cancel_turn()
        try:
            await engines.stop(name)
        except A2IAError as exc:
            app.chat.add_note(f"Stopping {name}: {exc}", "error")
            return
        self.started.discard(name)
        app.chat.add_note(f"{engine_label(name)} is stopped.")
