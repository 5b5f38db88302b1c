"""The models screen: Ollama's models (pull with progress, delete, details) and the Hugging Face hub
cache that vLLM reads (what is there, sizes, pull, delete).

Opened from the sidebar (``Manage models``) and the palette (``Models: manage``). Everything it
does goes through core/models: :mod:`~...core.models.ollama_store` and
:mod:`~...core.models.hfcache` (the module ``a2ia-tui engine pull`` uses). A pull runs in a worker
of this screen (one per tab); closing the screen stops it (Ollama registers nothing half pulled;
the hub cache keeps the partial blob and resumes it next time). Failures are one line in the
tab's status; a delete asks first.
"""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, ProgressBar, Static, TabbedContent, TabPane
from textual.widgets.data_table import CellDoesNotExist

from ...core.errors import ModelError
from ...core.models.hfcache import human_size
from ...core.textsafe import printable
from .dialogs import ConfirmScreen

#: Progress is drawn at most this often (a pull streams many lines a second).
DRAW_INTERVAL_S = 0.1


def _size(n: int | None) -> str:
    return human_size(n) if n is not None else "?"


class ModelsScreen(ModalScreen[bool]):
    """Returns True when a model was pulled or deleted (the sidebar reloads its model list)."""

    DEFAULT_CSS = """
    ModelsScreen { align: center middle; }
    ModelsScreen > Vertical { width: 100%; max-width: 110; height: 100%; max-height: 40;
        border: thick $accent; background: $surface; padding: 0 1; }
    ModelsScreen #models-title { text-style: bold; height: 1; }
    ModelsScreen TabbedContent { height: 1fr; }
    ModelsScreen TabPane { padding: 0; }
    ModelsScreen DataTable { height: 1fr; min-height: 3; }
    ModelsScreen .note { height: auto; max-height: 2; color: $text-muted; }
    ModelsScreen .details { height: auto; max-height: 3; }
    ModelsScreen .row { height: 3; }
    ModelsScreen .row Input { width: 1fr; }
    ModelsScreen .row Button { min-width: 8; margin: 0 0 0 1; }
    ModelsScreen ProgressBar { height: 1; }
    ModelsScreen .status { height: 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, services: Any, *, backend: str | None = None) -> None:
        super().__init__()
        self.services = services
        self.settings = services.settings
        from ...core.models.ollama_store import ollama_backend

        self.ollama_name = ollama_backend(self.settings, backend)
        self.changed = False
        self._hub_rows: list[Any] = []
        self._last_draw = 0.0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Models  (esc closes)", id="models-title")
            with TabbedContent(id="models-tabs"):
                with TabPane("Ollama", id="tab-ollama"):
                    yield Static("", id="ollama-note", classes="note", markup=False)
                    yield DataTable(id="ollama-table", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="ollama-details", classes="details", markup=False)
                    with Horizontal(classes="row"):
                        yield Input(placeholder="model to pull, e.g. qwen2.5:7b", id="ollama-name")
                        yield Button("Pull", id="ollama-pull", variant="primary")
                        yield Button("Delete", id="ollama-delete", variant="error")
                    yield ProgressBar(id="ollama-progress", show_eta=False)
                    yield Static("", id="ollama-status", classes="status", markup=False)
                with TabPane("Hub cache (vLLM)", id="tab-hub"):
                    yield Static("", id="hub-note", classes="note", markup=False)
                    yield DataTable(id="hub-table", cursor_type="row", zebra_stripes=True)
                    with Horizontal(classes="row"):
                        yield Input(placeholder="hub id to pull, e.g. Qwen/Qwen3-0.6B", id="hub-name")
                        yield Button("Pull", id="hub-pull", variant="primary")
                        yield Button("Delete", id="hub-delete", variant="error")
                    yield ProgressBar(id="hub-progress", show_eta=False)
                    yield Static("", id="hub-status", classes="status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#ollama-table", DataTable).add_columns("model", "size", "params", "quant")
        self.query_one("#hub-table", DataTable).add_columns("model", "size", "files", "state")
        for bar in self.query(ProgressBar):
            bar.display = False
        self.load_ollama()
        self.load_hub()

    def action_close(self) -> None:
        self.dismiss(self.changed)

    # -- Ollama ---------------------------------------------------------------------------------

    def _ollama(self) -> Any:
        from ...core.models.ollama_store import for_backend

        assert self.ollama_name is not None
        return for_backend(self.settings, self.ollama_name)

    def _say(self, widget_id: str, text: str) -> None:
        self.query_one(f"#{widget_id}", Static).update(printable(text))

    @work(group="ollama-load", exclusive=True)
    async def load_ollama(self) -> None:
        table = self.query_one("#ollama-table", DataTable)
        if self.ollama_name is None:
            self._say("ollama-note", "no Ollama backend is configured (backends.<name>.kind = ollama)")
            return
        url = self.settings.backends[self.ollama_name].base_url
        try:
            async with self._ollama() as om:
                models = await om.list()
        except ModelError as exc:
            table.clear()
            self._say("ollama-note", f"{self.ollama_name}: {exc}")
            return
        table.clear()
        for m in models:
            table.add_row(printable(m.name), _size(m.size), m.parameter_size, m.quantization, key=m.name)
        self._say("ollama-note", f"{self.ollama_name} at {url}: {len(models)} models")
        if models:
            self.show_details(models[0].name)

    @on(DataTable.RowHighlighted, "#ollama-table")
    def _ollama_row(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.show_details(str(event.row_key.value))

    @work(group="ollama-details", exclusive=True)
    async def show_details(self, name: str) -> None:
        try:
            async with self._ollama() as om:
                d = await om.details(name)
        except ModelError as exc:
            self._say("ollama-details", str(exc))
            return
        ctx = f"context {d.context_length:,}" if d.context_length else "context ?"
        first = f"{d.name}: {_size(d.size)}, {d.parameter_size or '?'} params, {d.quantization or '?'}, {ctx}"
        if d.loaded and d.loaded_size:
            vram = d.size_vram or 0
            share = int(100 * vram / d.loaded_size) if d.loaded_size else 0
            where = "all in VRAM" if vram >= d.loaded_size else f"{share}% in VRAM, the rest on the CPU"
            second = f"loaded: {_size(d.loaded_size)}, {_size(vram)} VRAM ({where})"
        else:
            second = "not loaded"
        self._say("ollama-details", f"{first}\n{second}")

    def _selected(self, table_id: str) -> str | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:  # no row under the cursor
            return None
        return str(key.value) if key.value is not None else None

    @on(Button.Pressed, "#ollama-pull")
    @on(Input.Submitted, "#ollama-name")
    def _ollama_pull_pressed(self) -> None:
        name = self.query_one("#ollama-name", Input).value.strip()
        if not name:
            self._say("ollama-status", "type the name of a model to pull")
            return
        if self.ollama_name is None:
            self._say("ollama-status", "no Ollama backend is configured")
            return
        self.pull_ollama(name)

    @work(group="ollama-pull", exclusive=True)
    async def pull_ollama(self, name: str) -> None:
        bar = self.query_one("#ollama-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._say("ollama-status", f"pulling {name}…")
        try:
            async with self._ollama() as om:
                async for s in om.pull(name):
                    if s.total:
                        bar.update(total=s.total, progress=s.completed or 0)
                    if self._due() or s.status in ("success", "writing manifest"):
                        extra = f" {_size(s.completed)} / {_size(s.total)}" if s.total else ""
                        self._say("ollama-status", f"{name}: {s.status}{extra}")
        except ModelError as exc:
            bar.display = False
            self._say("ollama-status", str(exc))
            return
        bar.display = False
        self.changed = True
        self._say("ollama-status", f"pulled {name}")
        self.load_ollama()

    @on(Button.Pressed, "#ollama-delete")
    def _ollama_delete_pressed(self) -> None:
        name = self._selected("ollama-table")
        if name is None:
            self._say("ollama-status", "select a model to delete")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_ollama(name)

        self.app.push_screen(ConfirmScreen(f"Delete {printable(name)} from Ollama?", yes="Delete"), answered)

    @work(group="ollama-delete", exclusive=True)
    async def delete_ollama(self, name: str) -> None:
        try:
            async with self._ollama() as om:
                await om.delete(name)
        except ModelError as exc:
            self._say("ollama-status", str(exc))
            return
        self.changed = True
        self._say("ollama-status", f"deleted {name}")
        self.load_ollama()

    # -- the hub cache --------------------------------------------------------------------------

    def _hub_env(self) -> dict[str, str]:
        from ...core.childenv import user_env

        return user_env(self.settings)

    @work(group="hub-load", exclusive=True, thread=True)
    def load_hub(self) -> None:
        from ...core.models import hfcache

        cache = hfcache.hub_cache_dir(self._hub_env())
        try:
            rows = hfcache.list_cached(cache)
            note = f"{cache}: {len(rows)} models, {human_size(sum(r.size for r in rows))}"
        except ModelError as exc:
            rows, note = [], str(exc)
        self.app.call_from_thread(self._draw_hub, rows, note)

    def _draw_hub(self, rows: list[Any], note: str) -> None:
        table = self.query_one("#hub-table", DataTable)
        table.clear()
        self._hub_rows = rows
        for r in rows:
            state = "partial" if r.partial else (",".join(r.refs) or "detached")
            table.add_row(printable(r.repo_id), human_size(r.size), str(r.files), state, key=r.repo_id)
        self._say("hub-note", note)

    @on(Button.Pressed, "#hub-pull")
    @on(Input.Submitted, "#hub-name")
    def _hub_pull_pressed(self) -> None:
        from ...core.models.hfcache import looks_like_hub_id

        name = self.query_one("#hub-name", Input).value.strip()
        if not looks_like_hub_id(name):
            self._say("hub-status", "type a hub id (org/name) to pull")
            return
        self.pull_hub(name)

    @work(group="hub-pull", exclusive=True)
    async def pull_hub(self, name: str) -> None:
        from ...core.models import hfcache

        bar = self.query_one("#hub-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._say("hub-status", f"pulling {name}…")
        env = self._hub_env()

        def progress(p: hfcache.PullProgress) -> None:
            if p.total:
                bar.update(total=p.total, progress=p.done)
            if self._due():
                self._say("hub-status", f"pulling {name}: {p.text}")

        try:
            await hfcache.pull(name, cache_dir=hfcache.hub_cache_dir(env), env=env, on_progress=progress)
        except ModelError as exc:
            bar.display = False
            self._say("hub-status", str(exc) + (f" ({exc.hint})" if exc.hint else ""))
            self.load_hub()
            return
        bar.display = False
        self.changed = True
        self._say("hub-status", f"pulled {name}")
        self.load_hub()

    @on(Button.Pressed, "#hub-delete")
    def _hub_delete_pressed(self) -> None:
        name = self._selected("hub-table")
        if name is None:
            self._say("hub-status", "select a model to delete")
            return
        size = next((r.size for r in self._hub_rows if r.repo_id == name), None)

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_hub(name)

        self.app.push_screen(
            ConfirmScreen(f"Delete {printable(name)} ({_size(size)}) from the hub cache?", yes="Delete"), answered
        )

    @work(group="hub-delete", exclusive=True, thread=True)
    def delete_hub(self, name: str) -> None:
        from ...core.models import hfcache

        try:
            freed = hfcache.delete_cached(name, hfcache.hub_cache_dir(self._hub_env()))
            text = f"deleted {name} ({human_size(freed)} freed)"
            self.changed = True
        except ModelError as exc:
            text = str(exc)
        self.app.call_from_thread(self._say, "hub-status", text)
        self.app.call_from_thread(self.load_hub)

    def _due(self) -> bool:
        now = time.monotonic()
        if now - self._last_draw >= DRAW_INTERVAL_S:
            self._last_draw = now
            return True
        return False
