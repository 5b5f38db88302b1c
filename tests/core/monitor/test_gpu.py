"""GPU sampler against the scripted fake NVML (pynvml's own exception classes)."""

from __future__ import annotations

import json
import os

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.monitor.fake_nvml import FakeNVML, load_scenario
from a2ia_tui.core.monitor.gpu import GPUSampler, read_gpu_status

pytestmark = pytest.mark.filterwarnings("error")
GIB = 1024**3


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def sampler_for(scenario, clock=None, managed=None, **monitor):
    settings = load_settings(env={}).settings.monitor
    for k, v in monitor.items():
        setattr(settings, k, v)
    clock = clock or Clock()
    fake = FakeNVML(scenario if isinstance(scenario, dict) else load_scenario(scenario), clock=clock)
    return GPUSampler(settings, nvml=fake, clock=clock, managed=managed), fake, clock


def test_normal_gpu_all_fields_and_processes():
    s, fake, _clock = sampler_for("one_gpu")
    snap = s.sample()
    assert snap.available and snap.fake and snap.driver == "550.54.15"
    (d,) = snap.devices
    assert d.name == "NVIDIA GeForce RTX 4070" and d.memory_total == 12 * GIB
    assert d.memory_used == int(8.9 * GIB) and d.memory_free == d.memory_total - d.memory_used
    assert d.util_gpu == 41 and d.temperature_c == 63 and d.power_w == 118.0 and d.power_limit_w == 200.0
    assert d.fan_pct == 35 and d.clock_sm_mhz == 2475 and d.pcie_gen == 4 and d.mig_enabled is False
    assert {p.pid for p in d.processes} == {4242, 1337}
    assert all(not p.visible or p.pid == os.getpid() for p in d.processes)
    assert d.unattributed_bytes == d.memory_used - int(8.6 * GIB) - int(0.2 * GIB)
    assert fake.init_calls == 1
    s.close()
    assert fake.shutdown_calls == 1


def test_values_change_over_time_and_history_is_on_a_fixed_scale():
    s, _fake, clock = sampler_for("one_gpu")
    for _ in range(4):
        s.sample()
        clock.t += 1.0
    hist = s.vram_history(0)
    assert len(hist) == 4 and all(0 < v < 1 for v in hist)
    assert hist[0] == pytest.approx(8.9 / 12, rel=1e-6) and hist[2] == pytest.approx(9.1 / 12, rel=1e-6)
    assert s.util_history(0)[:3] == [0.41, 0.63, 0.78]


def test_history_ring_buffer_is_bounded():
    s, _, clock = sampler_for("one_gpu", history_s=5.0, gpu_interval_s=1.0)
    for _ in range(20):
        s.sample()
        clock.t += 1.0
    assert len(s.vram_history(0)) == 5


def test_not_supported_fields_are_unknown_and_legacy_process_calls_used():
    s, _, _ = sampler_for("not_supported")
    (d,) = s.sample().devices
    assert not d.failed
    assert d.power_w is None and d.power_limit_w is None and d.fan_pct is None and d.mig_enabled is None
    assert d.util_gpu == 10
    (p,) = d.processes
    assert p.pid == os.getpid() and p.visible and p.used_bytes is None


def test_a_field_the_device_does_not_support_is_not_asked_again():
    """On a real H200 the fan-speed call took 157 us to answer NotSupported (the other calls
    ~1 us): asked once per NVML session, not at every sample."""
    import functools

    s, fake, clock = sampler_for("not_supported")
    calls: dict[str, int] = {}
    for name in ("nvmlDeviceGetFanSpeed", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature"):
        real = getattr(fake, name)

        def counting(*args, _real=real, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args)

        setattr(fake, name, functools.wraps(real)(counting))
    for _ in range(3):
        (d,) = s.sample().devices
        assert d.fan_pct is None and d.power_w is None and d.temperature_c is not None
        clock.t += 1
    assert calls == {"nvmlDeviceGetFanSpeed": 1, "nvmlDeviceGetPowerUsage": 1, "nvmlDeviceGetTemperature": 3}
    s.close()  # a new NVML session asks again (a driver update may have changed the answer)
    s.sample()
    assert calls["nvmlDeviceGetFanSpeed"] == 2


def test_no_driver_is_a_calm_state_and_retried_rarely():
    s, fake, clock = sampler_for("no_driver", no_gpu_retry_s=30.0)
    snap = s.sample()
    assert not snap.available and snap.reason == "no NVIDIA GPU found (the NVIDIA driver is not loaded)"
    s.sample()
    assert fake.init_calls == 1  # not retried before no_gpu_retry_s
    clock.t += 31
    fake.scenario = load_scenario("one_gpu")  # a driver appeared
    snap = s.sample()
    assert snap.available and fake.init_calls == 2


def test_real_pynvml_never_raises_and_reads_a_real_gpu_when_there_is_one():
    """Here (no driver): the calm state. On a GPU machine: the real figures, JSON-able."""
    settings = load_settings(env={}).settings
    status = read_gpu_status(settings)
    json.dumps(status)
    assert "note" not in status  # real NVML, not the fake
    if not status["available"]:
        assert status["reason"].startswith("no NVIDIA GPU found") and status["devices"] == []
        return
    assert status["driver"] and status["devices"]
    for dev in status["devices"]:
        assert not dev["failed"], dev["reason"]
        assert dev["name"] and dev["uuid"].startswith(("GPU-", "MIG-"))
        assert dev["memory_total"] > 0 and 0 <= dev["memory_used"] <= dev["memory_total"]
        assert dev["util_gpu"] is None or 0 <= dev["util_gpu"] <= 100


def test_two_gpus_junk_pids_dropped_invisible_pid_kept_managed_labelled():
    s, _, _ = sampler_for("two_gpus", managed=lambda: {os.getppid(): "vLLM (managed)"})
    snap = s.sample()
    assert len(snap.devices) == 2
    d0, d1 = snap.devices
    assert [p.pid for p in d0.processes] == [os.getpid()]  # 0 and 4294967295 dropped
    assert d0.processes[0].label == "vLLM (managed)"  # our parent is the "engine" root
    assert d0.processes[0].display_name == "vLLM (managed)"
    (ghost,) = d1.processes
    assert ghost.pid == 999999 and not ghost.visible and ghost.display_name == "pid 999999 (not visible)"
    assert ghost.used_bytes == int(19.3 * GIB)


def test_gpu_lost_mid_run_marks_only_that_device():
    s, _fake, clock = sampler_for("gpu_lost")
    first = s.sample()
    assert not any(d.failed for d in first.devices)
    clock.t += 2.0
    snap = s.sample()
    d0, d1 = snap.devices
    assert d0.failed and "lost" in d0.reason and d0.name == "NVIDIA A100-SXM4-80GB"
    assert not d1.failed and d1.memory_used == 12 * GIB


def test_processes_refreshed_less_often_than_devices():
    scenario = load_scenario("one_gpu")
    s, _fake, clock = sampler_for(scenario, process_interval_s=2.0)
    s.sample()
    scenario["devices"][0]["processes"] = []
    clock.t += 1.0
    assert len(s.sample().devices[0].processes) == 2  # cached
    clock.t += 1.5
    assert s.sample().devices[0].processes == ()


async def test_async_samples_run_off_the_loop():
    s, _, _ = sampler_for("two_gpus", gpu_interval_s=0.01)
    got = []
    async for snap in s.samples():
        got.append(snap)
        if len(got) == 3:
            break
    assert all(g.available for g in got)


def test_env_switch_and_json_status(tmp_path):
    scenario = load_scenario("two_gpus")
    path = tmp_path / "scn.json"
    path.write_text(json.dumps(scenario))
    for value in ("two_gpus", str(path)):
        settings = load_settings(env={"A2IA_FAKE_GPU": value}).settings
        status = read_gpu_status(settings)
        assert status["available"] and len(status["devices"]) == 2
        assert status["devices"][0]["vram_total_gib"] == 24.0
        json.dumps(status)


def test_unknown_scenario_is_a_reason_not_a_crash():
    settings = load_settings(env={"A2IA_FAKE_GPU": "no_such_scenario"}).settings
    status = read_gpu_status(settings)
    assert not status["available"] and "no_such_scenario" in status["reason"]


def test_broken_scenario_file_is_a_one_line_reason(tmp_path):
    bad = tmp_path / "rig.json"
    bad.write_text("{ not json")
    status = read_gpu_status(load_settings(env={"A2IA_FAKE_GPU": str(bad)}).settings)
    assert not status["available"] and status["reason"].startswith(f"fake GPU scenario {str(bad)!r}: Expecting")
    assert "\n" not in status["reason"] and status["fake"]


def test_fake_is_pynvml_compatible_exceptions():
    import pynvml

    fake = FakeNVML(load_scenario("not_supported"))
    fake.nvmlInit()
    with pytest.raises(pynvml.NVMLError_NotSupported):
        fake.nvmlDeviceGetPowerUsage(0)
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        fake.nvmlDeviceGetComputeRunningProcesses_v3(0)
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        FakeNVML(load_scenario("no_driver")).nvmlInit()


def test_process_calls_fall_back_v3_then_v2_on_mismatch_and_stop_on_not_supported():
    import pynvml

    calls = []

    class OlderLibrary(FakeNVML):
        def nvmlDeviceGetComputeRunningProcesses_v3(self, h):  # noqa: N802
            calls.append("c3")
            raise pynvml.NVMLLibraryMismatchError("library too old")

        def nvmlDeviceGetComputeRunningProcesses_v2(self, h):  # noqa: N802
            calls.append("c2")
            return self._procs(h, "compute")

        def nvmlDeviceGetGraphicsRunningProcesses_v3(self, h):  # noqa: N802
            calls.append("g3")
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    scenario = load_scenario("two_gpus")
    clock = Clock()
    settings = load_settings(env={}).settings.monitor
    s = GPUSampler(settings, nvml=OlderLibrary(scenario, clock=clock), clock=clock)
    d0 = s.sample().devices[0]
    assert [p.pid for p in d0.processes] == [os.getpid()] and d0.processes[0].kind == "compute"
    assert calls[:3] == ["c3", "c2", "g3"]  # graphics: NotSupported means none, no older call tried
    s.close()


def test_a_failing_label_source_never_fails_the_device():
    def broken():
        raise RuntimeError("engine table locked")

    s, _, _ = sampler_for("two_gpus", managed=broken)
    d0 = s.sample().devices[0]
    assert not d0.failed and [p.label for p in d0.processes] == [""]


async def test_concurrent_samples_and_close_then_reinit():
    import asyncio

    s, fake, _clock = sampler_for("two_gpus")
    snaps = await asyncio.gather(*(s.sample_async() for _ in range(8)))
    assert all(x.available and len(x.devices) == 2 for x in snaps)
    assert fake.init_calls == 1
    s.close()
    assert fake.shutdown_calls == 1 and not fake.initialized
    assert s.sample().available and fake.init_calls == 2  # a sample after close initialises again
    s.close()
