"""The bench screen: ``a2ia-tui bench`` from the command palette (``Bench: BACKEND``).

A panel over the top of the app (a modal screen that leaves the app visible below it: the GPU
pane and the status bar keep showing the load live) runs :func:`a2ia_tui.core.bench.run_bench`
on a new client of the chosen backend, fills a table level by level, and saves the report as
JSON under the user data dir (``bench/``), naming the file. Escape stops a run (the requests in
flight are cancelled: the HTTP streams close) and closes the panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...core.bench import TABLE_HEADER, BenchConfig, BenchReport, LevelResult, RequestResult, describe, table_rows
from ...core.textsafe import printable
from ..services import AppServices

if TYPE_CHECKING:
    from ..app import A2IAApp


class BenchScreen(ModalScreen[BenchReport | None]):
    DEFAULT_CSS = """
    BenchScreen { align: center top; background: $background 10%; }
    BenchScreen #bench-panel {
        width: 96; max-width: 100%; height: auto; max-height: 70%;
        border: round $accent; background: $surface; padding: 0 1; margin-top: 1;
    }
    BenchScreen #bench-title { text-style: bold; }
    BenchScreen #bench-what, BenchScreen #bench-progress { color: $text-muted; }
    BenchScreen DataTable { height: auto; max-height: 12; margin: 1 0 0 0; }
    BenchScreen #bench-errors { color: $error; height: auto; }
    BenchScreen #bench-saved { color: $success; height: auto; }
    """

    BINDINGS = [Binding("escape", "close", "Stop / close")]

    def __init__(
        self, services: AppServices, backend: str, model: str | None = None, config: BenchConfig | None = None
    ):
        super().__init__()
        self.services = services
        self.backend = backend
        self.model = model
        self.config = config or BenchConfig()
        self.report: BenchReport | None = None
        self.saved_path: Any = None
        self._done = 0
        self._level: tuple[int, int] = (0, 0)
        #: The levels measured so far (the table's rows).
        self._partial: BenchReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="bench-panel"):
            yield Static(f"Bench: {printable(self.backend)}", id="bench-title", markup=False)
            yield Static("connecting…", id="bench-what", markup=False)
            table: DataTable[str] = DataTable(id="bench-table", cursor_type="none", zebra_stripes=True)
            table.add_columns(*TABLE_HEADER)
            yield table
            yield Static("", id="bench-progress", markup=False)
            yield Static("", id="bench-errors", markup=False)
            yield Static("", id="bench-saved", markup=False)

    def on_mount(self) -> None:
        self.run_worker(self._run(), group="bench", exclusive=True, exit_on_error=False)

    # -- the run -------------------------------------------------------------------------------

    def _say(self, widget_id: str, text: str) -> None:
        if self.is_attached:
            self.query_one(widget_id, Static).update(printable(text))

    def _level_start(self, concurrency: int, requests: int) -> None:
        self._level, self._done = (concurrency, requests), 0
        self._say("#bench-progress", f"concurrency {concurrency}: 0/{requests} requests")

    def _request(self, result: RequestResult) -> None:
        self._done += 1
        c, n = self._level
        self._say("#bench-progress", f"concurrency {c}: {self._done}/{n} requests")

    def _level_done(self, level: LevelResult) -> None:
        if self._partial is None:
            return
        self._partial.levels.append(level)
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        table.clear()
        for row in table_rows(self._partial):
            table.add_row(*row)
        if level.error_samples:
            self._say("#bench-errors", f"concurrency {level.concurrency}: {level.error_samples[0]}")

    async def _run(self) -> None:
        from ...core.bench import fixed_length_options, run_bench, save_report
        from ...core.errors import A2IAError
        from ...core.llm.registry import adopt_first_model

        try:
            client = self.services.make_client(self.backend, self.model)
        except A2IAError as exc:
            self._say("#bench-what", f"cannot bench {self.backend}: {exc}")
            return
        try:
            await adopt_first_model(client)
            health = await client.health()
            if not health.ok:
                self._say("#bench-what", f"{self.backend} is not reachable: {health.detail}")
                return
            fields, exact = fixed_length_options(client.kind, self.config.max_tokens)
            # the table fills level by level from this report; run_bench returns the same figures
            self._partial = BenchReport(
                self.backend, client.kind, client.model, "", self.config.max_tokens, "", fields, exact, ""
            )
            self._say("#bench-what", "warming up…")
            report = await run_bench(
                client,
                self.config,
                on_level_start=self._level_start,
                on_request=self._request,
                on_level=self._level_done,
            )
        except A2IAError as exc:
            self._say("#bench-what", f"bench stopped: {exc}")
            return
        finally:
            await client.aclose()
        self.report = report
        self._say("#bench-what", describe(report))
        self._say("#bench-progress", f"done: {sum(lv.requests for lv in report.levels)} requests")
        try:
            self.saved_path = save_report(report, self.services.loaded.paths.data_dir)
        except OSError as exc:
            self._say("#bench-saved", f"could not save the report: {exc.strerror or exc}")
        else:
            self._say("#bench-saved", f"saved {self.saved_path}")

    def action_close(self) -> None:
        # leaving the screen cancels its worker: a running bench stops, its streams close
        self.dismiss(self.report)


def open_bench(app: A2IAApp, backend: str) -> None:
    """The palette's ``Bench: BACKEND``: the current model when it is the current backend."""
    orch = app.orchestrator
    model = orch.client.model if orch is not None and orch.client.name == backend else None
    app.push_screen(BenchScreen(app.services, backend, model))
