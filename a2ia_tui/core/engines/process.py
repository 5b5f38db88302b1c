"""One process lifecycle for every managed engine (vLLM, the bundled llama.cpp server).

States::

    stopped ──start()──▶ starting(phase, progress) ──probe passes──▶ ready ──stop()──▶ stopping ──▶ stopped
                              │                                       │
                              └── exits / times out ──▶ failed(cause, hint, exit code, last lines) ◀── dies

- The server runs in its own session / process group from an argv list (never a shell). Its
  stdout and stderr go straight into a log file under the state dir (so an engine started by
  ``a2ia-tui engine start`` keeps running after that command exits); the engine tails that file
  into a bounded in-memory tail and feeds each line to the spec's phase parser.
- Ready = the spec's readiness probe passes (vLLM: ``/health`` 200 and the model listed in
  ``/v1/models``; llama.cpp: ``/v1/models``), polled every :data:`PROBE_INTERVAL_S`.
- Stop: SIGTERM to the group, wait :data:`STOP_GRACE_S` (``engines.stop_grace_s``), then SIGKILL;
  always reaped. A process that dies while starting or ready is noticed at once (its exit is
  awaited, not polled) and reported with the cause read from its log.
- Before starting: a port already in use is refused naming what holds it; a missing executable
  is refused with the command that installs it.
- A pid file records the server (:mod:`.pidfile`), so a later launch can adopt or stop a server
  left by a crashed session.
- Nothing is orphaned: :func:`.groups.kill_all_started` (registered with :mod:`atexit` by the
  manager) SIGKILLs every group this process started and did not stop.

The neighbours: :mod:`.spec` (what differs between engine kinds), :mod:`.state`, :mod:`.logtail`
(following the log), :mod:`.pidfile`, :mod:`.groups`, :mod:`.ports`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..childenv import user_env
from ..errors import EngineFailed, EngineStartError, ModelError
from ..paths import private_dir, private_file
from ..redact import mask_argv
from . import groups
from .groups import kill_group
from .logtail import TAIL_LINES, LogFollower, error_lines
from .pidfile import add_current_cmdline, process_identity, write_pidfile
from .ports import port_holder
from .spec import EngineSpec
from .state import EngineState

#: SIGTERM → wait this long → SIGKILL (the default of ``engines.stop_grace_s``).
STOP_GRACE_S = 15.0
#: How often readiness is probed while starting, and liveness of adopted servers checked.
PROBE_INTERVAL_S = 0.05
#: The fields a new start clears.
_CLEAR: dict[str, Any] = {"cause": "", "hint": "", "exit_code": None, "last_lines": (), "pid": None, "managed": True}


class Engine:
    """One managed engine. Public API (what the TUI and the CLI use)::

        engine.state                  # EngineState (immutable; replaced at every change)
        engine.add_listener(cb)       # cb(state) at every change, on the event loop; returns an unsubscribe
        await engine.start(overrides=None)   # → ready state, or raises EngineStartError / EngineFailed
        await engine.stop()           # SIGTERM → grace → SIGKILL, reaped; idempotent
        await engine.aclose()         # stop it if this process started/adopted it
        engine.log_tail(n) / engine.log_path / engine.pidfile
        engine.root_pids()            # {pid: "vLLM (managed)"} while running
        engine.backend_name           # the settings backend that talks to it ("vllm" / "local")

    ``overrides`` are field values of the engine's settings section (``engines.vllm`` /
    ``engines.local``), e.g. an autotune :class:`~.autotune.Proposal`'s ``overrides()``.
    """

    def __init__(
        self,
        spec: EngineSpec,
        *,
        log_dir: Path,
        run_dir: Path,
        stop_grace_s: float = STOP_GRACE_S,
        start_timeout_s: float = 1800.0,
        spec_factory: Callable[[dict[str, Any] | None], EngineSpec] | None = None,
    ) -> None:
        self.spec = spec
        self._spec_factory = spec_factory
        self.log_dir = log_dir
        self.run_dir = run_dir
        self.stop_grace_s = stop_grace_s
        self.start_timeout_s = start_timeout_s
        self.state = EngineState(url=spec.url, model=spec.model)
        self._listeners: list[Callable[[EngineState], None]] = []
        self._log = LogFollower(self._on_log_line)
        self._proc: asyncio.subprocess.Process | None = None
        self._pid: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._ready = asyncio.Event()
        self._ended = asyncio.Event()
        self._launch_lock = asyncio.Lock()
        self._pidfile_record: dict[str, Any] | None = None

    # -- observation ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def backend_name(self) -> str:
        return self.spec.backend_name

    def root_pids(self) -> dict[int, str]:
        if self.state.pid and self.state.running:
            return {self.state.pid: f"{self.spec.label} (managed)"}
        return {}

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.spec.name}.log"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.spec.name}.json"

    def add_listener(self, callback: Callable[[EngineState], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def log_tail(self, n: int = 100) -> list[str]:
        return list(self._log.tail)[-n:]

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        for cb in list(self._listeners):
            with contextlib.suppress(Exception):
                cb(self.state)

    # -- start ---------------------------------------------------------------------------------

    async def start(self, overrides: dict[str, Any] | None = None) -> EngineState:
        """Start and wait until ready. Raises EngineStartError (refused) or EngineFailed.
        A second call while starting waits for the same process."""
        async with self._launch_lock:  # one launch at a time; the state is 'starting' when it is released
            if self.state.status == "ready":
                return self.state
            if self.state.status != "starting":
                await self._launch(overrides)
        return await self.wait_ready()

    async def _launch(self, overrides: dict[str, Any] | None) -> None:
        if self._spec_factory is not None:
            self.spec = self._spec_factory(overrides)
        spec = self.spec
        holder = port_holder(spec.host, spec.port)
        if holder:
            raise EngineStartError(
                f"port {spec.port} is already in use by {holder}",
                hint=f"stop it, or choose another port (engines.{spec.name}.port / --port)",
            )
        spec.preflight()
        await self._fetch_weights(spec)
        argv = spec.argv()
        private_dir(self.log_dir)  # 0700: logs and pid files are the user's alone
        private_dir(self.run_dir)
        self._log.tail.clear()
        self._ready.clear()
        self._ended.clear()
        self._stopping = False
        log = private_file(self.log_path).open("ab")
        log.write(f"\n=== a2ia: starting {spec.label} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        offset = log.tell()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                # The user's environment without a2ia's own secrets (its backends' keys), plus
                # what the engine needs (vLLM's key as VLLM_API_KEY): see core/childenv.py.
                env={**user_env(spec.settings), **spec.env()},
            )
        except FileNotFoundError:
            log.close()
            raise EngineStartError(
                f"{spec.label}: executable not found: {argv[0]}",
                hint=spec.install_hint,
            ) from None
        except PermissionError:
            log.close()
            raise EngineStartError(f"{spec.label}: not executable: {argv[0]}") from None
        log.close()
        self._proc, self._pid = proc, proc.pid
        groups.track(proc.pid)
        self._write_pidfile(argv)
        self._set(
            status="starting",
            phase="launching",
            progress=0.02,
            detail="",
            cause="",
            hint="",
            exit_code=None,
            last_lines=(),
            pid=proc.pid,
            url=spec.url,
            model=spec.model,
            managed=True,
            started_at=time.time(),
        )
        self._tasks = [
            asyncio.create_task(self._log.follow(self.log_path, offset, self._ended), name=f"{spec.name}-log"),
            asyncio.create_task(self._watch_exit(), name=f"{spec.name}-exit"),
            asyncio.create_task(self._probe_until_ready(), name=f"{spec.name}-probe"),
        ]

    async def _fetch_weights(self, spec: EngineSpec) -> None:
        """Download the spec's hub model when the cache lacks it: phase "downloading", the bytes
        and percent as the cache grows (see core/models/hfcache.py). Stop cancels it."""
        repo = spec.hub_model()
        if not repo:
            return
        from ..models import hfcache

        env = user_env(spec.settings)
        if hfcache.hub_offline(env) or await asyncio.to_thread(
            hfcache.is_complete, repo, None, hfcache.hub_cache_dir(env)
        ):
            return
        self._set(
            **{**_CLEAR, "status": "starting", "phase": "downloading", "progress": 0.0, "detail": repo},
            url=spec.url,
            model=spec.model,
            started_at=time.time(),
        )

        def progress(p: hfcache.PullProgress) -> None:
            if self.state.status == "starting":
                self._set(progress=min(p.fraction or 0.0, 0.99), detail=p.text)

        async def pull() -> None:
            await hfcache.pull(repo, env=env, on_progress=progress)

        task = asyncio.ensure_future(pull())
        self._tasks.append(task)
        try:
            await task
        except ModelError as exc:
            self._set(status="failed", phase="", progress=0.0, cause=str(exc), hint=exc.hint)
            raise EngineFailed(str(exc), exc.hint) from None
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            raise EngineFailed(f"{spec.label} stopped while downloading {repo}") from None
        finally:
            if task in self._tasks:
                self._tasks.remove(task)

    async def wait_ready(self) -> EngineState:
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            await asyncio.wait(
                {ready, ended},
                timeout=self.start_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
            ended.cancel()
        if self.state.status == "ready":
            return self.state
        if self.state.status == "failed":
            s = self.state
            raise EngineFailed(s.cause, s.hint, s.exit_code, s.last_lines)
        if self.state.status == "starting":
            await self._fail(
                f"{self.spec.label} was not ready after {self.start_timeout_s:g} s",
                "see the engine log",
                None,
            )
            await self.stop()
            s = self.state
            raise EngineFailed(s.cause, s.hint, s.exit_code, s.last_lines)
        raise EngineFailed(f"{self.spec.label} stopped while starting")

    def _write_pidfile(self, argv: list[str]) -> None:
        create_time, cmdlines = process_identity(self._pid) if self._pid else (None, [])
        record = {
            "engine": self.spec.name,
            "pid": self._pid,
            "pgid": self._pid,
            "argv": mask_argv(argv),  # shown by status and read by people: no --hf-token value
            # Digests of the command line as the kernel shows it (an interpreter first for a
            # script), to recognise the process later without writing its secrets down.
            "cmdlines": cmdlines,
            "url": self.spec.url,
            "model": self.spec.model,
            "log": str(self.log_path),
            "started_at": time.time(),
            "create_time": create_time,
        }
        self._pidfile_record = record
        write_pidfile(self.pidfile, record)

    def _refresh_pidfile(self) -> None:
        """Once ready, add the command line as it is now: a server may have retitled itself."""
        record = self._pidfile_record
        if record and record.get("pid") == self._pid:
            add_current_cmdline(self.pidfile, record)

    def _on_log_line(self, line: str) -> None:
        if self.state.status != "starting":
            return
        phase = self.spec.parse_line(line)
        if phase and phase.progress >= self.state.progress:
            self._set(
                phase=phase.name,
                progress=phase.progress,
                detail=phase.detail or self.state.detail,
            )

    async def _watch_exit(self) -> None:
        code: int | None = None
        if self._proc is not None:
            code = await self._proc.wait()
        else:  # adopted: poll liveness
            import psutil

            while True:
                try:
                    proc = psutil.Process(self._pid)
                    if proc.status() == psutil.STATUS_ZOMBIE:
                        break
                except psutil.NoSuchProcess:
                    break
                await asyncio.sleep(0.5)
        groups.forget(self._pid or -1)
        # Make sure the whole group is gone (children of a dead server).
        if self._pid:
            kill_group(self._pid, signal.SIGKILL)
        self._log.drain_all()  # the last lines (the cause of a crash) before anything else
        self._ended.set()
        with contextlib.suppress(OSError):
            self.pidfile.unlink()
        if self._stopping:
            return
        if self.state.status in ("starting", "ready"):
            lines = list(self._log.tail)
            cause, hint = self.spec.explain(lines, code)
            was = "while starting" if self.state.status == "starting" else "after it was ready"
            await self._fail(f"{cause} ({was})" if "while" not in cause else cause, hint, code)

    async def _fail(self, cause: str, hint: str, code: int | None) -> None:
        self._set(
            status="failed",
            cause=cause,
            hint=hint,
            exit_code=code,
            last_lines=tuple(error_lines(list(self._log.tail))),
        )

    async def _probe_until_ready(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            while not self._ended.is_set() and self.state.status == "starting":
                try:
                    ok = await self.spec.probe(http)
                except Exception:  # noqa: BLE001 - refused while starting: keep probing
                    ok = False
                if ok and self.state.status == "starting":
                    self._log.drain_all()  # the phases logged before the probe passed come first
                    self._refresh_pidfile()
                    self._set(status="ready", phase="ready", progress=1.0)
                    self._ready.set()
                    return
                await asyncio.sleep(PROBE_INTERVAL_S)

    # -- adopt ---------------------------------------------------------------------------------

    async def adopt(self, record: dict[str, Any]) -> EngineState:
        """Take over a server a crashed session left running (from its pid file)."""
        self._proc = None
        self._pid = int(record["pid"])
        self._stopping = False
        self._ended.clear()
        self._log.tail.clear()
        with contextlib.suppress(OSError):
            # a thread: the log of a long-running engine can be large
            text = await asyncio.to_thread(Path(record.get("log", self.log_path)).read_text, errors="replace")
            self._log.tail.extend(text.splitlines()[-TAIL_LINES:])
        self._set(
            status="ready",
            phase="ready (adopted)",
            progress=1.0,
            pid=self._pid,
            url=record.get("url", self.spec.url),
            model=record.get("model", self.spec.model),
            managed=True,
            cause="",
            hint="",
        )
        self._tasks = [asyncio.create_task(self._watch_exit(), name=f"{self.spec.name}-exit")]
        return self.state

    # -- stop ----------------------------------------------------------------------------------

    async def stop(self) -> EngineState:
        """SIGTERM the group, wait the grace period, SIGKILL, reap. Idempotent."""
        if self._pid is None or self._ended.is_set():
            self._cleanup_tasks()
            if self.state.status != "failed":
                self._set(status="stopped", phase="", progress=0.0, pid=None)
            return self.state
        self._stopping = True
        prev = self.state.status
        self._set(status="stopping", phase="stopping")
        pgid = self._pid
        kill_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._ended.wait(), self.stop_grace_s)
        except TimeoutError:
            kill_group(pgid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ended.wait(), 10)
        kill_group(pgid, signal.SIGKILL)  # stragglers in the group
        groups.forget(pgid)
        self._cleanup_tasks()
        with contextlib.suppress(OSError):
            self.pidfile.unlink()
        self._pid = None
        self._proc = None
        self._set(
            status="stopped" if prev != "failed" else "failed",
            phase="",
            progress=0.0,
            pid=None,
        )
        return self.state

    async def aclose(self) -> None:
        """Stop the engine when this process started or adopted it (attached ones are left alone)."""
        if self.state.managed and self._pid is not None:
            await self.stop()
        self._cleanup_tasks()

    def _cleanup_tasks(self) -> None:
        for t in self._tasks:
            if not t.done() and t is not asyncio.current_task():
                t.cancel()
        self._tasks = []


__all__ = ["PROBE_INTERVAL_S", "STOP_GRACE_S", "Engine"]
