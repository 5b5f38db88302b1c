"""EngineManager: the managed engines (one per registered kind, :mod:`.kinds`: "vllm", "local")
for the app and the command line.

::

    manager = EngineManager(settings, paths)
    manager.engines()                                 # {"vllm": Engine, "local": Engine} (see process.Engine)
    manager.add_listener(lambda name, state: ...)     # every state change, on the event loop
    await manager.start("vllm", overrides=proposal.overrides())   # returns when ready
    manager.proposal("vllm")                          # autotune estimate to show before Start
    manager.root_pids()                               # {pid: "vLLM (managed)"} for the GPU pane
    manager.leftovers()                               # servers left by a crashed session (pid files)
    await manager.adopt("vllm") / await manager.stop_leftover("vllm")
    await manager.aclose()                            # stops what this process started

An engine whose backend URL points elsewhere (``engines.vllm.attach_url``: a remote or Ray
deployment) is attached, never started or stopped: it is monitored only.

Nothing is orphaned: the manager registers :func:`.groups.kill_all_started` with :mod:`atexit`,
and :meth:`install_signal_handlers` turns SIGTERM/SIGHUP into a clean exit so that runs too.
"""

from __future__ import annotations

import asyncio
import atexit
import signal
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..config import Paths, Settings
from .groups import forget, kill_all_started
from .kinds import EngineKind, engine_kinds
from .pidfile import check_pidfile
from .process import Engine
from .spec import EngineSpec
from .state import EngineState

if TYPE_CHECKING:
    from .autotune import GPU, Proposal

_ATEXIT_REGISTERED = False


class EngineManager:
    def __init__(self, settings: Settings, paths: Paths) -> None:
        global _ATEXIT_REGISTERED
        self.settings = settings
        self.paths = paths
        from ..paths import tighten_existing

        tighten_existing(paths)  # logs and pid files an older version left 0644
        eng = settings.engines
        self._kinds: dict[str, EngineKind] = engine_kinds()
        self._engines: dict[str, Engine] = {
            name: Engine(
                kind.make_spec(settings),
                spec_factory=partial(kind.make_spec, settings),
                log_dir=paths.log_dir,
                run_dir=paths.run_dir,
                stop_grace_s=eng.stop_grace_s,
                start_timeout_s=eng.start_timeout_s,
            )
            for name, kind in self._kinds.items()
        }
        self._listeners: list[Callable[[str, EngineState], None]] = []
        #: One-line notes about pid files that were malformed or named another process.
        self.notes: list[str] = []
        for name, engine in self._engines.items():
            engine.add_listener(partial(self._emit, name))
            attach_url = self._kinds[name].attached(settings)
            if attach_url:
                engine.state = EngineState(
                    status="stopped",
                    url=attach_url,
                    model=engine.spec.model,
                    managed=False,
                    phase="attached (not managed)",
                )
        if not _ATEXIT_REGISTERED:
            atexit.register(kill_all_started)
            _ATEXIT_REGISTERED = True

    # -- observation ---------------------------------------------------------------------------

    def engines(self) -> dict[str, Engine]:
        return dict(self._engines)

    def __getitem__(self, name: str) -> Engine:
        return self._engines[name]

    def add_listener(self, callback: Callable[[str, EngineState], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, name: str, state: EngineState) -> None:
        for cb in list(self._listeners):
            try:
                cb(name, state)
            except Exception:  # noqa: BLE001
                pass

    def states(self) -> dict[str, EngineState]:
        return {n: e.state for n, e in self._engines.items()}

    def running(self) -> list[str]:
        """Engines this process started (or adopted) that are up."""
        return [n for n, e in self._engines.items() if e.state.running and e.state.managed]

    def root_pids(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for e in self._engines.values():
            out.update(e.root_pids())
        return out

    def kind(self, name: str) -> EngineKind:
        return self._kinds[name]

    def is_attached(self, name: str) -> bool:
        return bool(self._kinds[name].attached(self.settings))

    def command(self, name: str, overrides: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
        """(argv, notes) exactly as Start would run it."""
        spec = self._spec(name, overrides)
        return spec.argv(), spec.notes()

    def _spec(self, name: str, overrides: dict[str, Any] | None) -> EngineSpec:
        return self._kinds[name].make_spec(self.settings, overrides)

    def proposal(
        self,
        name: str = "vllm",
        gpus: list[GPU] | None = None,
        model: str | None = None,
    ) -> Proposal:
        """The autotune estimate for the current GPUs (read from the monitor), or for the RAM and
        ``VLLM_CPU_KVCACHE_SPACE`` when the configured vLLM is a CPU build."""
        from .autotune import autotune, gpus_from_status  # only when Start is offered

        v = self.settings.engines.vllm
        if self.vllm_device() == "cpu" and gpus is None:
            import os

            import psutil

            from .autotune import CPUHost, autotune_cpu, kvcache_space_from_env

            mem = psutil.virtual_memory()
            space = v.cpu_kvcache_space_gib or kvcache_space_from_env(os.environ.get("VLLM_CPU_KVCACHE_SPACE"))
            host = CPUHost(mem.total, mem.available, space)
            return autotune_cpu(model or v.model, host, gpu_memory_utilization=v.gpu_memory_utilization)
        if gpus is None:
            from ..monitor.gpu import read_gpu_status

            gpus = gpus_from_status(read_gpu_status(self.settings))
        return autotune(model or v.model, gpus, gpu_memory_utilization=v.gpu_memory_utilization)

    def vllm_device(self) -> str:
        """ "cpu" when ``engines.vllm.device`` says so, or (``auto``) the configured executable runs
        vLLM's CPU build; else "cuda"."""
        from .vllm import device_of

        return device_of(self.settings.engines.vllm)

    # -- actions -------------------------------------------------------------------------------

    async def start(self, name: str, overrides: dict[str, Any] | None = None) -> EngineState:
        if self.is_attached(name):
            from ..errors import EngineStartError

            label = self._kinds[name].label
            raise EngineStartError(
                f"{label} is attached (engines.{name}.attach_url): it is monitored, not started here"
            )
        engine = self._engines[name]
        if not engine.state.running:
            engine.state = EngineState(url=engine.spec.url, model=engine.spec.model)
        return await engine.start(overrides)

    async def stop(self, name: str) -> EngineState:
        return await self._engines[name].stop()

    def leftovers(self) -> dict[str, dict[str, Any]]:
        """Servers left running by an earlier (crashed) session, from their pid files: only those
        whose pid, start time and command line match. A malformed pid file, or one naming another
        process now, becomes a one-line note in :attr:`notes` (each said once)."""
        out: dict[str, dict[str, Any]] = {}
        for name, engine in self._engines.items():
            if engine.state.running:
                continue
            record, note = check_pidfile(engine.pidfile)
            if note and note not in self.notes:
                self.notes.append(note)
            if record:
                out[name] = record
        return out

    async def adopt(self, name: str) -> EngineState:
        record = self.leftovers().get(name)
        if not record:
            return self._engines[name].state
        return await self._engines[name].adopt(record)

    async def stop_leftover(self, name: str) -> EngineState:
        record = self.leftovers().get(name)
        if record:
            await self._engines[name].adopt(record)
        return await self._engines[name].stop()

    async def aclose(self) -> None:
        """Stop every engine this process started (used when the user chose to stop them)."""
        await asyncio.gather(*(self._engines[n].stop() for n in self.running()), return_exceptions=True)

    def detach(self) -> None:
        """Leave running engines running (the user chose so at quit): forget them here."""
        for e in self._engines.values():
            if e.state.pid:
                forget(e.state.pid)

    @staticmethod
    def install_signal_handlers() -> None:
        """SIGTERM/SIGHUP → SystemExit, so atexit cleanup runs (no orphaned engines)."""

        def _exit(signum: int, _frame: Any) -> None:
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                signal.signal(sig, _exit)
            except (ValueError, OSError):  # not the main thread
                pass
