"""GPU sampling through NVML (the ``pynvml`` module of ``nvidia-ml-py``), or the scripted fake.

Public API (the GPU pane and the ``gpu_status`` tool use only this)::

    sampler = GPUSampler(settings.monitor, managed=lambda: {engine_pid: "vLLM (managed)"})
    snap = await sampler.sample_async()   # one GPUSnapshot (blocking NVML calls run in a thread)
    async for snap in sampler.samples():  # every monitor.gpu_interval_s, forever
        ...
    sampler.vram_history(0)  -> list[float]   # 0..1 of total memory: a FIXED scale for sparklines
    sampler.util_history(0)  -> list[float]   # 0..1
    sampler.close()                          # nvmlShutdown()

    read_gpu_status(settings) -> dict        # one JSON-able snapshot; never raises
    gpu_status_dict(snap) -> dict            # a GPUSnapshot as JSON-able data (+ *_gib fields)

Snapshots are frozen dataclasses; ``None`` means unknown (not supported by the device)::

    GPUSnapshot(available, reason, driver, devices: tuple[DeviceSample, ...], timestamp, fake)
    DeviceSample(index, name, uuid, memory_total/used/free (bytes), util_gpu, util_memory (%),
                 temperature_c, power_w, power_limit_w, fan_pct, clock_sm_mhz, clock_mem_mhz,
                 pcie_gen, pcie_width, mig_enabled, processes: tuple[ProcessSample, ...],
                 failed, reason)  + .unattributed_bytes, .vram_fraction (0..1)
    ProcessSample(pid, name, cmdline, used_bytes, visible, kind, label) + .display_name
                 # label "vLLM (managed)" or ""; display_name: label, else name, else
                 # "pid N (not visible)"

``sample()`` / ``close()`` are thread-safe; a sample after ``close()`` initialises NVML again.

Policy:

- ``pynvml`` is imported lazily and ``nvmlInit()`` runs once (it can take seconds on a real GPU).
- No library or no driver (``NVMLError_LibraryNotFound`` / ``DriverNotLoaded``, or any init
  failure): a snapshot with ``available=False`` and ``reason`` ("no NVIDIA GPU found (...)"), never
  an exception; init is retried every ``monitor.no_gpu_retry_s`` in case a driver appears.
- A field the device does not support (``NVMLError_NotSupported``) is ``None`` ("unknown"), and
  is not asked for again (on a real GPU that answer is far slower than a supported call).
  One failing device does not hide the others; ``GpuIsLost`` marks that device failed.
- Processes: compute and graphics merged by pid; junk pids (0, >= 2**31, 4294967295) dropped;
  ``usedGpuMemory`` None → unknown; a pid psutil cannot see (another container) stays as
  "pid N (not visible)"; ``unattributed`` = used − the processes' sum. The v3 process calls fall
  back to v2, then the plain call, on ``NVMLError_FunctionNotFound`` / ``NVMLLibraryMismatchError``.
- Devices every sample, processes every ``monitor.process_interval_s``, static facts (name, UUID,
  power limit, PCIe, MIG) once.
- A process whose ancestor is a managed engine's root pid is labelled with that engine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import MonitorSettings, Settings

JUNK_PIDS = {0, 4294967295}


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    name: str
    cmdline: str
    used_bytes: int | None
    visible: bool
    kind: str  # compute | graphics | compute+graphics
    label: str = ""  # e.g. "vLLM (managed)"

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        return self.name if self.visible else f"pid {self.pid} (not visible)"


@dataclass(frozen=True)
class DeviceSample:
    index: int
    name: str = ""
    uuid: str = ""
    memory_total: int | None = None
    memory_used: int | None = None
    memory_free: int | None = None
    util_gpu: int | None = None
    util_memory: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    fan_pct: int | None = None
    clock_sm_mhz: int | None = None
    clock_mem_mhz: int | None = None
    pcie_gen: int | None = None
    pcie_width: int | None = None
    mig_enabled: bool | None = None
    processes: tuple[ProcessSample, ...] = ()
    failed: bool = False
    reason: str = ""

    @property
    def unattributed_bytes(self) -> int | None:
        """Used memory no listed process accounts for (processes of unknown usage count as 0)."""
        if self.memory_used is None:
            return None
        return max(0, self.memory_used - sum(p.used_bytes or 0 for p in self.processes))

    @property
    def vram_fraction(self) -> float | None:
        if not self.memory_total or self.memory_used is None:
            return None
        return self.memory_used / self.memory_total


@dataclass(frozen=True)
class GPUSnapshot:
    available: bool
    reason: str = ""
    driver: str = ""
    devices: tuple[DeviceSample, ...] = ()
    timestamp: float = field(default_factory=time.time)
    fake: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists, not tuples), with ``unattributed_bytes`` and ``display_name``."""
        d = asdict(self)
        d["devices"] = list(d["devices"])
        for dev, src in zip(d["devices"], self.devices, strict=True):
            dev["unattributed_bytes"] = src.unattributed_bytes
            dev["processes"] = list(dev["processes"])
            for p, ps in zip(dev["processes"], src.processes, strict=True):
                p["display_name"] = ps.display_name
        return d


def load_nvml(settings: MonitorSettings) -> tuple[Any, bool]:
    """The NVML module to use: the fake (``monitor.fake_gpu``) or the real ``pynvml``."""
    if settings.fake_gpu:
        from .fake_nvml import FakeNVML, load_scenario

        return FakeNVML(load_scenario(settings.fake_gpu)), True
    import pynvml

    return pynvml, False


def _describe_init_error(exc: BaseException, nvml: Any) -> str:
    name = type(exc).__name__
    if "LibraryNotFound" in name:
        return "no NVIDIA GPU found (the NVML library is not installed)"
    if "DriverNotLoaded" in name:
        return "no NVIDIA GPU found (the NVIDIA driver is not loaded)"
    if "NoPermission" in name:
        return "no NVIDIA GPU found (no permission to talk to the driver)"
    return f"no NVIDIA GPU found ({exc})"


class GPUSampler:
    def __init__(
        self,
        settings: MonitorSettings,
        *,
        managed: Callable[[], Mapping[int, str]] | None = None,
        nvml: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._managed = managed or (dict)
        self._nvml = nvml
        self._fake = False
        self._clock = clock
        self._initialized = False
        self._init_error = ""
        self._next_init = 0.0
        self._static: dict[int, dict[str, Any]] = {}
        self._unsupported: set[tuple[int, str, tuple[Any, ...]]] = set()
        self._procs: dict[int, tuple[ProcessSample, ...]] = {}
        self._next_procs = 0.0
        self._driver = ""
        size = max(2, int(settings.history_s / settings.gpu_interval_s))
        self._vram: dict[int, deque[float]] = {}
        self._util: dict[int, deque[float]] = {}
        self._history_len = size
        self.last: GPUSnapshot | None = None
        self._lock = threading.Lock()  # sample() runs in worker threads; one at a time

    # -- init ----------------------------------------------------------------------------------

    def _ensure_init(self) -> bool:
        if self._initialized:
            return True
        now = self._clock()
        if now < self._next_init:
            return False
        self._next_init = now + self.settings.no_gpu_retry_s
        try:
            if self._nvml is None:
                self._nvml, self._fake = load_nvml(self.settings)
            elif type(self._nvml).__name__ == "FakeNVML":
                self._fake = True
        except ImportError:
            self._init_error = "no NVIDIA GPU found (the nvidia-ml-py package is not installed)"
            return False
        except (OSError, ValueError) as exc:  # a missing or broken scenario file
            self._fake = True
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            where = "" if isinstance(exc, FileNotFoundError) else f" {str(self.settings.fake_gpu)!r}"
            self._init_error = f"fake GPU scenario{where}: {detail}"
            return False
        try:
            self._nvml.nvmlInit()
        except Exception as exc:  # noqa: BLE001 - NVMLError and friends
            self._init_error = _describe_init_error(exc, self._nvml)
            return False
        self._initialized = True
        self._init_error = ""
        try:
            drv = self._nvml.nvmlSystemGetDriverVersion()
            self._driver = drv.decode() if isinstance(drv, bytes) else str(drv)
        except Exception:  # noqa: BLE001
            self._driver = ""
        return True

    def close(self) -> None:
        """``nvmlShutdown()`` (waits for a sample in progress). A later sample initialises again."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._initialized:
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass
            self._initialized = False
            self._next_init = 0.0
            self._unsupported.clear()

    # -- sampling ------------------------------------------------------------------------------

    def _opt(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call an NVML getter; NotSupported (and friends) → None. GpuIsLost propagates."""
        nv = self._nvml
        try:
            return fn(*args)
        except nv.NVMLError_GpuIsLost:
            raise
        except (nv.NVMLError, nv.NVMLLibraryMismatchError):
            return None

    def _live(self, index: int, fn: Callable[..., Any], handle: Any, *args: Any) -> Any:
        """A getter called at every sample. One the device answered NotSupported is not asked
        again (until NVML is initialised again): saying NotSupported can cost more than the
        rest of a sample together."""
        key = (index, fn.__name__, args)
        if key in self._unsupported:
            return None
        nv = self._nvml
        try:
            return fn(handle, *args)
        except nv.NVMLError_GpuIsLost:
            raise
        except nv.NVMLError_NotSupported:
            self._unsupported.add(key)
            return None
        except (nv.NVMLError, nv.NVMLLibraryMismatchError):
            return None

    def _static_facts(self, index: int, handle: Any) -> dict[str, Any]:
        if index in self._static:
            return self._static[index]
        nv = self._nvml
        name = self._opt(nv.nvmlDeviceGetName, handle) or f"GPU {index}"
        uuid = self._opt(nv.nvmlDeviceGetUUID, handle) or ""
        limit = self._opt(nv.nvmlDeviceGetEnforcedPowerLimit, handle)
        mig = self._opt(nv.nvmlDeviceGetMigMode, handle)
        facts = {
            "name": name.decode() if isinstance(name, bytes) else name,
            "uuid": uuid.decode() if isinstance(uuid, bytes) else uuid,
            "power_limit_w": limit / 1000.0 if limit is not None else None,
            "pcie_gen": self._opt(nv.nvmlDeviceGetCurrPcieLinkGeneration, handle),
            "pcie_width": self._opt(nv.nvmlDeviceGetCurrPcieLinkWidth, handle),
            "mig_enabled": bool(mig[0]) if mig else None,
        }
        self._static[index] = facts
        return facts

    def _raw_processes(self, handle: Any) -> list[tuple[Any, str]]:
        """Compute and graphics processes, trying ``_v3``, then ``_v2``, then the plain call (an
        alias of ``_v3`` in recent nvidia-ml-py, the v1 call in old ones) when a driver lacks the
        newer entry point (``FunctionNotFound``) or the library is older (``NVMLLibraryMismatchError``)."""
        nv = self._nvml
        out: list[tuple[Any, str]] = []
        for kind, base in (
            ("compute", "nvmlDeviceGetComputeRunningProcesses"),
            ("graphics", "nvmlDeviceGetGraphicsRunningProcesses"),
        ):
            procs: list[Any] = []
            for name in (base + "_v3", base + "_v2", base):
                fn = getattr(nv, name, None)
                if fn is None:
                    continue
                try:
                    procs = fn(handle) or []
                    break
                except nv.NVMLError_GpuIsLost:
                    raise
                except (nv.NVMLError_FunctionNotFound, nv.NVMLLibraryMismatchError):
                    continue  # an older driver/library: try the older call
                except nv.NVMLError:
                    break  # NotSupported / NoPermission: no list of this kind
            out.extend((p, kind) for p in procs)
        return out

    def _processes(self, handle: Any) -> tuple[ProcessSample, ...]:
        merged: dict[int, dict[str, Any]] = {}
        for p, kind in self._raw_processes(handle):
            pid = int(getattr(p, "pid", 0) or 0)
            if pid in JUNK_PIDS or pid >= 2**31 or pid < 0:
                continue
            used = getattr(p, "usedGpuMemory", None)
            if used is not None and (used < 0 or used >= 2**63):  # NVML_VALUE_NOT_AVAILABLE
                used = None
            entry = merged.setdefault(pid, {"used": None, "kinds": []})
            if used is not None:
                entry["used"] = max(entry["used"] or 0, used)
            if kind not in entry["kinds"]:
                entry["kinds"].append(kind)
        try:
            managed = dict(self._managed() or {})
        except Exception:  # noqa: BLE001 - a failing label source never fails the device
            managed = {}
        samples = []
        for pid, entry in sorted(merged.items(), key=lambda kv: -(kv[1]["used"] or 0)):
            name, cmdline, visible, label = _describe_process(pid, managed)
            samples.append(ProcessSample(pid, name, cmdline, entry["used"], visible, "+".join(entry["kinds"]), label))
        return tuple(samples)

    def _device(self, index: int, with_procs: bool) -> DeviceSample:
        nv = self._nvml
        try:
            handle = nv.nvmlDeviceGetHandleByIndex(index)
            facts = self._static_facts(index, handle)
            mem = self._live(index, nv.nvmlDeviceGetMemoryInfo, handle)
            util = self._live(index, nv.nvmlDeviceGetUtilizationRates, handle)
            power = self._live(index, nv.nvmlDeviceGetPowerUsage, handle)
            if with_procs or index not in self._procs:
                self._procs[index] = self._processes(handle)
            return DeviceSample(
                index=index,
                memory_total=int(mem.total) if mem else None,
                memory_used=int(mem.used) if mem else None,
                memory_free=int(mem.free) if mem else None,
                util_gpu=int(util.gpu) if util else None,
                util_memory=int(util.memory) if util else None,
                temperature_c=self._live(index, nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
                power_w=power / 1000.0 if power is not None else None,
                fan_pct=self._live(index, nv.nvmlDeviceGetFanSpeed, handle),
                clock_sm_mhz=self._live(index, nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_SM),
                clock_mem_mhz=self._live(index, nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_MEM),
                processes=self._procs[index],
                **facts,
            )
        except Exception as exc:  # noqa: BLE001 - one bad device never hides the others
            lost = "GpuIsLost" in type(exc).__name__
            name = self._static.get(index, {}).get("name", f"GPU {index}")
            return DeviceSample(
                index=index, name=name, failed=True, reason="GPU is lost (fell off the bus)" if lost else str(exc)
            )

    def sample(self) -> GPUSnapshot:
        """One snapshot (blocking: call from a thread, or use :meth:`sample_async`). Thread-safe."""
        with self._lock:
            return self._sample()

    def _sample(self) -> GPUSnapshot:
        if not self._ensure_init():
            snap = GPUSnapshot(available=False, reason=self._init_error, fake=self._fake)
            self.last = snap
            return snap
        now = self._clock()
        with_procs = now >= self._next_procs
        if with_procs:
            self._next_procs = now + self.settings.process_interval_s
        try:
            count = self._nvml.nvmlDeviceGetCount()
        except Exception as exc:  # noqa: BLE001
            snap = GPUSnapshot(available=False, reason=f"NVML failed: {exc}", fake=self._fake)
            self.last = snap
            return snap
        devices = tuple(self._device(i, with_procs) for i in range(count))
        for d in devices:
            if d.failed:
                continue
            self._vram.setdefault(d.index, deque(maxlen=self._history_len)).append(d.vram_fraction or 0.0)
            self._util.setdefault(d.index, deque(maxlen=self._history_len)).append((d.util_gpu or 0) / 100.0)
        snap = GPUSnapshot(available=True, driver=self._driver, devices=devices, fake=self._fake)
        self.last = snap
        return snap

    async def sample_async(self) -> GPUSnapshot:
        return await asyncio.to_thread(self.sample)

    async def samples(self) -> AsyncIterator[GPUSnapshot]:
        """A snapshot every ``gpu_interval_s`` (no-GPU: the same, retrying init rarely)."""
        interval = self.settings.gpu_interval_s
        while True:
            t0 = time.monotonic()
            yield await self.sample_async()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))

    def vram_history(self, index: int) -> list[float]:
        """VRAM used as a fraction of total (0..1), oldest first: a fixed scale for sparklines."""
        return list(self._vram.get(index, ()))

    def util_history(self, index: int) -> list[float]:
        return list(self._util.get(index, ()))


def _describe_process(pid: int, managed: Mapping[int, str]) -> tuple[str, str, bool, str]:
    try:
        import psutil

        proc = psutil.Process(pid)
        name = proc.name()
        try:
            cmdline = " ".join(proc.cmdline())
        except (psutil.AccessDenied, psutil.ZombieProcess):
            cmdline = ""
        label = managed.get(pid, "")
        if not label and managed:
            for parent in proc.parents():
                if parent.pid in managed:
                    label = managed[parent.pid]
                    break
        return name, cmdline, True, label
    except Exception:  # noqa: BLE001 - another container / gone / no permission
        return f"pid {pid}", "", False, managed.get(pid, "")


def gpu_status_dict(snap: GPUSnapshot) -> dict[str, Any]:
    """A snapshot as JSON-able data, with VRAM also in GiB (for people and the agent)."""
    out = snap.to_dict()
    gib = 1024**3
    for dev in out["devices"]:
        for key in ("memory_total", "memory_used", "memory_free"):
            if dev.get(key) is not None:
                dev[key.replace("memory_", "vram_") + "_gib"] = round(dev[key] / gib, 2)
    if snap.fake:
        out["note"] = "fake GPU scenario (A2IA_FAKE_GPU), not real hardware"
    return out


def read_gpu_status(settings: Settings) -> dict[str, Any]:
    """One JSON-able snapshot for scripts and the ``gpu_status`` tool. Never raises."""
    sampler = GPUSampler(settings.monitor)
    try:
        return gpu_status_dict(sampler.sample())
    except Exception as exc:  # noqa: BLE001
        return {"available": False, "reason": f"GPU monitoring failed: {exc}", "devices": []}
    finally:
        sampler.close()
