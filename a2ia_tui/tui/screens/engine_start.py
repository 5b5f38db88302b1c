"""Starting a managed engine: the autotune estimate (editable), then the start-up phases.

``EngineStartScreen(services, engine_name)`` is a modal screen in two stages:

1. The form: the editable fields of the engine's kind (``EngineKind.form_fields`` in the core's
   engine registry; vLLM: gpu_memory_utilization, max_model_len, tensor_parallel_size), filled
   from ``engines.proposal(name)`` for a kind with ``autotune`` (computed in a thread: it reads
   the GPUs, and shown as a summary) or else from the settings, plus the exact command. Only the
   fields of the proposal's device show: for vLLM's CPU build, max_model_len and the CPU KV cache
   in GiB (``VLLM_CPU_KVCACHE_SPACE``). The local engine has no field: only the command. A
   "select when ready" switch.
2. Start: the fields are checked (a bad value is a one-line error under the form, nothing is
   lost), then ``engines.start(name, overrides)`` runs in an APP-level worker (group
   "engine-start-<name>"), so closing the screen never cancels a start. The screen follows the
   engine's listener: phase, progress bar, then "ready" (or the cause and hint of a failure).
   When ready and "select when ready" is on, the app receives ``SelectBackend`` for the
   engine's backend.

Enter in a field (or on Start) starts. A failed start shows the cause and the hint and opens the
form again, to change a field and start again. Escape / Close leaves the screen; the engine keeps
starting and the sidebar keeps showing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Static, Switch

from ...core.engines.kinds import EngineKind, FormField, engine_kind
from ...core.errors import EngineError
from ..services import AppServices

if TYPE_CHECKING:
    from ...core.engines.autotune import Proposal
    from ...core.engines.state import EngineState
    from ...core.protocols import EngineControl


def parse_overrides(values: dict[str, str], engine: str = "vllm") -> dict[str, Any]:
    """Field texts -> overrides; raises ValueError with a one-line message naming the field."""
    fields = {f.key: f for f in engine_kind(engine).form_fields}
    return {key: fields[key].read(text) for key, text in values.items()}


class EngineStartScreen(ModalScreen[bool]):
    """Dismisses True once the user closed it after asking for a start, False when cancelled."""

    DEFAULT_CSS = """
    EngineStartScreen { align: center middle; }
    EngineStartScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    EngineStartScreen #es-title { text-style: bold; }
    EngineStartScreen #es-summary, EngineStartScreen #es-command { color: $text-muted; height: auto; }
    EngineStartScreen .es-field { height: auto; }
    EngineStartScreen .es-field Label { width: 30; padding-top: 1; }
    EngineStartScreen .es-field Input { width: 1fr; }
    EngineStartScreen #es-error, EngineStartScreen #es-cause { color: $error; height: auto; }
    EngineStartScreen #es-hint { color: $warning; height: auto; }
    EngineStartScreen #es-phase { height: auto; }
    EngineStartScreen ProgressBar Bar { width: 1fr; }
    EngineStartScreen #es-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    EngineStartScreen #es-buttons Button { margin-left: 1; }
    EngineStartScreen #es-select-row { height: auto; }
    EngineStartScreen #es-select-row Label { padding-top: 1; }
    """

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, services: AppServices | None, engine_name: str) -> None:
        super().__init__()
        self.services = services
        self.engine_name = engine_name
        self.kind: EngineKind = engine_kind(engine_name)
        self.started = False
        self.proposal: Proposal | None = None
        self._unsubscribe: Callable[[], None] | None = None
        #: The build the form is for: "cuda", or "cpu" once the estimate says vLLM is its CPU build.
        self.device = "cuda"

    @property
    def engines(self) -> EngineControl | None:
        return self.services.engines if self.services is not None else None

    def compose(self):
        kind = self.kind
        with Vertical():
            yield Static(
                Content.assemble(f"Start {kind.label}", ("   Enter starts, Escape closes", "$text-muted")),
                id="es-title",
            )
            yield Static("estimating what fits on the GPUs…" if kind.autotune else "", id="es-summary", markup=False)
            for field in kind.form_fields:
                with Horizontal(classes="es-field", id=f"es-row-{field.key}") as row:
                    row.display = self.device in field.devices
                    yield Label(field.label)
                    yield Input("", id=f"es-{field.key}")
            yield Static("", id="es-command", markup=False)
            with Horizontal(id="es-select-row"):
                yield Switch(value=True, id="es-select")
                yield Label("select its backend when ready")
            yield Static("", id="es-error", markup=False)
            yield Static("", id="es-phase", markup=False)
            yield ProgressBar(total=100, show_eta=False, id="es-progress")
            yield Static("", id="es-cause", markup=False)
            yield Static("", id="es-hint", markup=False)
            with Horizontal(id="es-buttons"):
                yield Button("Cancel", id="es-cancel")
                yield Button("Start", id="es-start", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#es-progress").display = False
        engines = self.engines
        if engines is None:
            self.query_one("#es-error", Static).update("engines are not available in this build")
            self.query_one("#es-start", Button).disabled = True
            return
        self._unsubscribe = engines.add_listener(self._on_state)
        state = engines.states().get(self.engine_name)
        if state is not None and state.status in ("starting", "ready"):
            self.started = True
            self._show_state(state)
            self._lock_form()
        self._show_command()
        if self.kind.autotune or self.kind.form_fields:
            self.load_proposal()
        elif not self.started:
            self.query_one("#es-start", Button).focus()  # nothing to fill in: Enter starts

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    @work(group="engine-proposal", exclusive=True, exit_on_error=False)
    async def load_proposal(self) -> None:
        summary = self.query_one("#es-summary", Static)
        # on_mount starts this only when there are engines, so there are services
        engines, services = self.engines, self.services
        assert engines is not None and services is not None
        proposal: Proposal | None = None
        if self.kind.autotune:
            try:
                proposal = await asyncio.to_thread(engines.proposal, self.engine_name)
            except OSError as exc:  # the machine could not be read: the fields stay editable from the settings
                summary.update(f"no estimate: {exc}")
        self.proposal = proposal
        self.device = proposal.device if proposal is not None else "cuda"
        for f in self.kind.form_fields:
            self.query_one(f"#es-row-{f.key}").display = self.device in f.devices
        configured = self.kind.make_spec(services.settings).config
        # a form field names a key of the engine's settings, and of its autotune proposal
        values = {
            f.key: (getattr(proposal, f.key) if proposal is not None else None) or getattr(configured, f.key)
            for f in self.fields()
        }
        if proposal is not None:
            summary.update(proposal.summary())
        for key, value in values.items():
            field = self.query_one(f"#es-{key}", Input)
            if not field.value and value is not None:  # never overwrite what the user typed meanwhile
                field.value = f"{value:.2f}" if isinstance(value, float) else str(value)
        self._show_command()

    def fields(self) -> list[FormField]:
        """The form fields of this build (``FormField.devices``)."""
        return [f for f in self.kind.form_fields if self.device in f.devices]

    def overrides(self) -> dict[str, Any]:
        """The form's values (raises ValueError with a one-line message)."""
        values = {f.key: self.query_one(f"#es-{f.key}", Input).value for f in self.fields()}
        out = parse_overrides(values, self.engine_name)
        if self.device == "cuda" and self.proposal is not None and self.proposal.quantization in ("awq", "gptq", "fp8"):
            out["quantization"] = self.proposal.quantization
        return out

    def _show_command(self) -> None:
        engines = self.engines
        if engines is None:
            return
        try:
            overrides = self.overrides()
        except ValueError:
            return
        try:
            argv, notes = engines.command(self.engine_name, overrides)
        except OSError as exc:  # a path of the settings that cannot be read
            self.query_one("#es-command", Static).update(f"command: unavailable ({exc})")
            return
        from ...core.redact import mask_argv

        lines = ["$ " + " ".join(mask_argv(argv))] + [f"note: {n}" for n in notes]
        self.query_one("#es-command", Static).update("\n".join(lines))

    @on(Input.Changed)
    def _field_changed(self) -> None:
        self.query_one("#es-error", Static).update("")
        self._show_command()

    def _lock_form(self) -> None:
        for inp in self.query(Input):
            inp.disabled = True
        self.query_one("#es-start", Button).disabled = True
        self.query_one("#es-cancel", Button).label = "Close"

    def _unlock_form(self) -> None:
        for inp in self.query(Input):
            inp.disabled = False
        self.query_one("#es-start", Button).disabled = False

    @on(Button.Pressed, "#es-cancel")
    def action_close(self) -> None:
        self.dismiss(self.started)

    @on(Input.Submitted)
    def _field_submitted(self) -> None:
        self.start()  # Enter in a field starts, as the Start button does

    @on(Button.Pressed, "#es-start")
    def start(self) -> None:
        engines = self.engines
        if self.started or engines is None:
            return
        try:
            overrides = self.overrides()
        except ValueError as exc:
            self.query_one("#es-error", Static).update(str(exc))
            return
        self.started = True
        self._lock_form()
        select = self.query_one("#es-select", Switch).value
        self.app.run_worker(
            self._run_start(engines, overrides, select),
            group=f"engine-start-{self.engine_name}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _run_start(self, engines: EngineControl, overrides: dict[str, Any], select: bool) -> None:
        name, app = self.engine_name, self.app
        try:
            state = await engines.start(name, overrides)
        except (EngineError, OSError) as exc:  # refused or failed (shown here and in the sidebar), or no log
            if self.is_attached:
                now = engines.states().get(name)
                if not (now is not None and now.status == "failed" and now.cause):
                    # the engine's own cause and hint are on the screen already (_show_state)
                    self.query_one("#es-error", Static).update(str(exc).splitlines()[0] if str(exc) else repr(exc))
                # try again from here: the hint usually names a field to change
                self.started = False
                self._unlock_form()
            return
        if select and state.status == "ready":
            from ..messages import SelectBackend

            app.post_message(SelectBackend(self.kind.backend, checked=True))

    def _on_state(self, name: str, state: EngineState) -> None:
        if name == self.engine_name and self.started and self.is_attached:
            self._show_state(state)

    def _show_state(self, state: EngineState) -> None:
        bar = self.query_one("#es-progress", ProgressBar)
        status = state.status
        bar.display = status == "starting"
        bar.update(progress=round(max(0.0, min(1.0, state.progress)) * 100))
        phase = {"ready": f"ready at {state.url}", "failed": "failed"}.get(status, f"{status}: {state.phase}")
        self.query_one("#es-phase", Static).update(phase)
        failed = status == "failed"
        self.query_one("#es-cause", Static).update(f"cause: {state.cause}" if failed and state.cause else "")
        self.query_one("#es-hint", Static).update(f"hint: {state.hint}" if failed and state.hint else "")
