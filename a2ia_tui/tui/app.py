"""The Textual application (skeleton; grown by the app issue)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from ..core.config import LoadedSettings


class A2IAApp(App[int]):
    TITLE = "a2ia-tui"
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def __init__(self, loaded: LoadedSettings) -> None:
        super().__init__()
        self.loaded = loaded

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"backend: {self.loaded.settings.default_backend}", id="placeholder")
        yield Footer()
