"""The GPU pane: one :class:`~.gpu_card.GPUCard` per device, driven by the core's GPUSampler.

Policy:

- Self-driving: right after its first frame it builds a sampler with ``services.gpu_sampler_factory()`` and starts
  ONE exclusive worker (group "gpu") that iterates ``sampler.samples()`` (NVML calls run in a
  thread inside the sampler, so a slow driver never blocks the event loop or a token).
- Cards are mounted once and updated in place on each snapshot; they are re-mounted only when
  the number of devices changes.
- No GPU (no library, no driver, a broken fake scenario) is a calm, dim line
  "no NVIDIA GPU found (reason)" - not an error; the sampler keeps retrying rarely and the
  cards appear if a driver shows up.
- ``gpu_sampler_factory`` is None: the pane says GPU monitoring is off. A sampler that raises
  is shown as a one-line reason, never a traceback.
- The sampler is closed on unmount.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..services import AppServices
from .gpu_card import GPUCard

if TYPE_CHECKING:
    from ...core.protocols import GPUMonitor


class GPUPane(VerticalScroll):
    """GPU cards, or the reason there are none."""

    DEFAULT_CSS = """
    GPUPane {
        height: auto;
        border-top: solid $panel-lighten-2;
        border-title-align: left; border-title-color: $text-muted; border-title-style: bold;
    }
    GPUPane > #gpu-reason { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, services: AppServices | None, *, id: str | None = "gpu", **kwargs: Any) -> None:
        super().__init__(id=id, **kwargs)
        self.services = services
        self.sampler: GPUMonitor | None = None
        self.snapshot: Any = None

    def compose(self):
        # the title is the border's ("─ GPU ───"): a widget of its own cost start-up time
        self.border_title = " GPU "
        yield Static("reading the GPUs…", id="gpu-reason", markup=False)

    def on_mount(self) -> None:
        factory = self.services.gpu_sampler_factory if self.services else None
        if factory is None:
            self._reason("GPU monitoring is off")
            return
        # Loading NVML (a thread importing pynvml and ctypes) waits for the first frame.
        self.call_after_refresh(self._start_sampler, factory)

    def _start_sampler(self, factory: Callable[[], GPUMonitor]) -> None:
        if self.is_attached:
            self.run_sampler(factory)

    def on_unmount(self) -> None:
        if self.sampler is not None:
            try:
                self.sampler.close()
            except Exception:  # noqa: BLE001 - closing NVML never fails the app
                pass

    def _reason(self, text: str) -> None:
        # (a query, not query_one: a sample may land while the pane is being taken down)
        for reason in self.query("#gpu-reason").results(Static):
            reason.update(text)
            reason.display = True

    @work(group="gpu", exclusive=True)
    async def run_sampler(self, factory: Callable[[], GPUMonitor]) -> None:
        # NVML is a driver's library: whatever it raises becomes the pane's one line, never the app's
        try:
            self.sampler = factory()
            async for snap in self.sampler.samples():
                await self.show(snap)
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self._reason(f"GPU monitoring failed: {exc}")

    async def show(self, snap: Any) -> None:
        """Draw one GPUSnapshot (public so tests and the app can push a snapshot)."""
        self.snapshot = snap
        cards = list(self.query(GPUCard))
        if not snap.available:
            if cards:
                await self.remove_children(GPUCard)
            self._reason(snap.reason or "no NVIDIA GPU found")
            return
        for reason in self.query("#gpu-reason").results(Static):
            reason.display = False
        hist = self.sampler

        def histories(i: int) -> tuple[list[float], list[float]]:
            if hist is None:
                return [], []
            return hist.vram_history(i), hist.util_history(i)

        if len(cards) != len(snap.devices):
            await self.remove_children(GPUCard)
            await self.mount_all([GPUCard(d, *histories(d.index), id=f"gpu-card-{d.index}") for d in snap.devices])
            return
        for card, d in zip(cards, snap.devices, strict=True):
            card.update_sample(d, *histories(d.index))
