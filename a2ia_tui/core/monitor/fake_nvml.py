"""A scripted NVML that behaves like ``pynvml``: the same function names, the same exception
classes (pynvml's own ``NVMLError_*``, raised through ``pynvml.NVMLError(code)``), the same
result shapes. Switched on with ``A2IA_FAKE_GPU=<scenario name or JSON path>`` so the GPU pane
can be shown and tested on machines without a GPU.

Scenario JSON (bundled ones live in ``scenarios/``: ``one_gpu``, ``two_gpus``,
``not_supported``, ``no_driver``, ``gpu_lost``)::

    {"init_error": null | "library_not_found" | "driver_not_loaded",
     "driver": "550.54.15", "tick_s": 1.0,
     "devices": [{
        "name": "NVIDIA GeForce RTX 4070", "uuid": "GPU-…", "memory_total": 12878610432,
        "memory_used": [bytes per tick …],          # lists cycle with the tick; scalars are constant
        "util": [%…], "mem_util": [%…], "temperature": [°C…],
        "power_mw": [mW…] | "not_supported", "power_limit_mw": 200000,
        "fan": %, "clock_sm": MHz, "clock_mem": MHz, "pcie_gen": 4, "pcie_width": 16,
        "mig": false | true | "not_supported",
        "lost_at_tick": null | N,                    # GpuIsLost from tick N on
        "processes": [{"pid": 1234, "used": bytes | null, "type": "compute" | "graphics"}],
        "processes_api": "v3" | "legacy"             # "legacy": the v3 calls raise FunctionNotFound
     }]}

Any field may be ``"not_supported"`` (→ ``NVMLError_NotSupported``). ``"$SELF"`` as a pid means
this process (so tests can put a visible process on the fake GPU). The tick advances with time
(``tick_s``) or is set explicitly (``fake.tick = 3``, or ``A2IA_FAKE_GPU_TICK`` to freeze it).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pynvml

NOT_SUPPORTED = "not_supported"


def scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A bundled scenario by name (``two_gpus``) or a JSON file path."""
    p = Path(name_or_path)
    if p.suffix == ".json" and p.exists():
        return p
    bundled = resources.files("a2ia_tui.core.monitor") / "scenarios" / f"{name_or_path}.json"
    if bundled.is_file():
        return Path(str(bundled))
    raise FileNotFoundError(f"no fake GPU scenario {str(name_or_path)!r} (not a file, not a bundled name)")


def load_scenario(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(scenario_path(name_or_path).read_text(encoding="utf-8"))
    return data


@dataclass
class _Memory:
    total: int
    free: int
    used: int


@dataclass
class _Util:
    gpu: int
    memory: int


@dataclass
class _Proc:
    pid: int
    usedGpuMemory: int | None  # noqa: N815 - pynvml's field name


class FakeNVML:
    """Module-like object: ``fake.nvmlDeviceGetMemoryInfo(handle)`` etc."""

    NVMLError = pynvml.NVMLError
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported
    NVMLError_GpuIsLost = pynvml.NVMLError_GpuIsLost
    NVMLError_FunctionNotFound = pynvml.NVMLError_FunctionNotFound
    NVMLError_LibraryNotFound = pynvml.NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = pynvml.NVMLError_DriverNotLoaded
    NVMLLibraryMismatchError = pynvml.NVMLLibraryMismatchError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_SM = pynvml.NVML_CLOCK_SM
    NVML_CLOCK_MEM = pynvml.NVML_CLOCK_MEM

    def __init__(self, scenario: dict[str, Any], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.scenario = scenario
        self._clock = clock
        self._t0 = clock()
        frozen = os.environ.get("A2IA_FAKE_GPU_TICK")
        self.tick: int | None = int(frozen) if frozen else None
        self.initialized = False
        self.init_calls = 0
        self.shutdown_calls = 0

    # -- helpers -------------------------------------------------------------------------------

    def _now_tick(self) -> int:
        if self.tick is not None:
            return self.tick
        return int((self._clock() - self._t0) / float(self.scenario.get("tick_s", 1.0)))

    def _dev(self, handle: int) -> dict[str, Any]:
        if not self.initialized:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)
        dev: dict[str, Any] = self.scenario["devices"][handle]
        lost = dev.get("lost_at_tick")
        if lost is not None and self._now_tick() >= lost:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        return dev

    def _val(self, handle: int, key: str, default: Any = NOT_SUPPORTED) -> Any:
        value = self._dev(handle).get(key, default)
        if isinstance(value, list):
            value = value[self._now_tick() % len(value)] if value else NOT_SUPPORTED
        if value == NOT_SUPPORTED:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return value

    # -- the pynvml surface --------------------------------------------------------------------

    def nvmlInit(self) -> None:  # noqa: N802
        self.init_calls += 1
        err = self.scenario.get("init_error")
        if err == "library_not_found":
            raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
        if err == "driver_not_loaded":
            raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
        self.initialized = True

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.shutdown_calls += 1
        self.initialized = False

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        return str(self.scenario.get("driver", "550.54.15"))

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        if not self.initialized:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)
        return len(self.scenario.get("devices", []))

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        self._dev(index)
        return index

    def nvmlDeviceGetName(self, h: int) -> str:  # noqa: N802
        return str(self._val(h, "name"))

    def nvmlDeviceGetUUID(self, h: int) -> str:  # noqa: N802
        return str(self._val(h, "uuid", f"GPU-fake-{h}"))

    def nvmlDeviceGetMemoryInfo(self, h: int) -> _Memory:  # noqa: N802
        total = int(self._val(h, "memory_total"))
        used = int(self._val(h, "memory_used"))
        return _Memory(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, h: int) -> _Util:  # noqa: N802
        return _Util(gpu=int(self._val(h, "util")), memory=int(self._val(h, "mem_util", 0)))

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:  # noqa: N802
        return int(self._val(h, "temperature"))

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:  # noqa: N802
        return int(self._val(h, "power_mw"))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:  # noqa: N802
        return int(self._val(h, "power_limit_mw"))

    def nvmlDeviceGetFanSpeed(self, h: int) -> int:  # noqa: N802
        return int(self._val(h, "fan"))

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:  # noqa: N802
        return int(self._val(h, "clock_sm" if clock == pynvml.NVML_CLOCK_SM else "clock_mem"))

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h: int) -> int:  # noqa: N802
        return int(self._val(h, "pcie_gen"))

    def nvmlDeviceGetCurrPcieLinkWidth(self, h: int) -> int:  # noqa: N802
        return int(self._val(h, "pcie_width"))

    def nvmlDeviceGetMigMode(self, h: int) -> list[int]:  # noqa: N802
        mig = self._val(h, "mig", False)
        return [int(bool(mig)), int(bool(mig))]

    def _procs(self, h: int, kind: str) -> list[_Proc]:
        out = []
        for p in self._dev(h).get("processes", []):
            if p.get("type", "compute") != kind:
                continue
            pid = os.getpid() if p["pid"] == "$SELF" else int(p["pid"])
            out.append(_Proc(pid=pid, usedGpuMemory=p.get("used")))
        return out

    def _legacy(self, h: int) -> bool:
        return self._dev(h).get("processes_api") == "legacy"

    def nvmlDeviceGetComputeRunningProcesses_v3(self, h: int) -> list[_Proc]:  # noqa: N802
        if self._legacy(h):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return self._procs(h, "compute")

    def nvmlDeviceGetGraphicsRunningProcesses_v3(self, h: int) -> list[_Proc]:  # noqa: N802
        if self._legacy(h):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return self._procs(h, "graphics")

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[_Proc]:  # noqa: N802
        return self._procs(h, "compute")

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> list[_Proc]:  # noqa: N802
        return self._procs(h, "graphics")
