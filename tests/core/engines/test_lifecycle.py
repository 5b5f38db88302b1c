"""The process lifecycle with the fake vllm executable: real subprocesses, real HTTP probes."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import psutil
import pytest

from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.errors import EngineFailed, EngineStartError
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message
from tests.helpers.processes import descendants


async def test_start_ready_chat_stop(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    mgr = EngineManager(loaded.settings, loaded.paths)
    seen: list[tuple[str, str, float]] = []
    mgr.add_listener(lambda n, s: seen.append((s.status, s.phase, s.progress)))
    before = descendants()
    state = await mgr.start("vllm")
    assert state.status == "ready" and state.pid
    phases = [p for _s, p, _ in seen]
    for expected in (
        "loading weights",
        "weights loaded",
        "memory profiling",
        "KV cache allocated",
        "CUDA graph capture",
        "API server up",
    ):
        assert expected in phases, phases
    progress = [p for s, _ph, p in seen if s == "starting"]
    assert progress == sorted(progress)
    assert mgr.root_pids() == {state.pid: "vLLM (managed)"}
    assert loaded.paths.run_dir.joinpath("vllm.json").exists()
    # the backend works through the ordinary client
    client = OpenAIClient(state.url, model=state.model)
    text = "".join([c.message.content async for c in client.stream_chat([Message(role="user", content="hi")])])
    await client.aclose()
    assert text == "Hello from fake vLLM."
    assert "Application startup complete." in "\n".join(mgr["vllm"].log_tail(50))
    stopped = await mgr.stop("vllm")
    assert stopped.status == "stopped"
    await asyncio.sleep(0.1)
    assert descendants() - before == set()
    assert not loaded.paths.run_dir.joinpath("vllm.json").exists()


async def test_oom_at_start_fails_with_cause_and_hint(fake_vllm_loaded):
    loaded = fake_vllm_loaded("--fake-mode", "oom")
    mgr = EngineManager(loaded.settings, loaded.paths)
    with pytest.raises(EngineFailed) as info:
        await mgr.start("vllm")
    err = info.value
    assert err.cause.startswith("CUDA out of memory") and "AWQ" in err.hint
    assert err.exit_code == 1 and any("Engine core initialization failed" in ln for ln in err.last_lines)
    assert mgr["vllm"].state.status == "failed"


async def test_kv_cache_too_small_names_the_length_that_fits(fake_vllm_loaded):
    loaded = fake_vllm_loaded("--fake-mode", "kv-too-small")
    mgr = EngineManager(loaded.settings, loaded.paths)
    with pytest.raises(EngineFailed) as info:
        await mgr.start("vllm")
    assert "max_model_len" in info.value.cause and "46896" in info.value.hint


async def test_crash_after_ready_is_noticed_with_its_cause(fake_vllm_loaded):
    loaded = fake_vllm_loaded("--fake-mode", "crash-after-ready", "--fake-crash-after", "0.3")
    mgr = EngineManager(loaded.settings, loaded.paths)
    failed = asyncio.Event()
    mgr.add_listener(lambda n, s: failed.set() if s.status == "failed" else None)
    await mgr.start("vllm")
    t_ready = time.monotonic()
    await asyncio.wait_for(failed.wait(), 10)
    state = mgr["vllm"].state
    assert "illegal memory access" in state.cause and "after it was ready" in state.cause
    assert state.exit_code == 1
    assert time.monotonic() - t_ready < 10


async def test_sigterm_ignoring_server_is_killed_after_the_grace(fake_vllm_loaded):
    loaded = fake_vllm_loaded("--fake-mode", "ignore-sigterm", grace=0.5)
    mgr = EngineManager(loaded.settings, loaded.paths)
    state = await mgr.start("vllm")
    pid = state.pid
    await mgr.stop("vllm")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_child_process_goes_too(fake_vllm_loaded, tmp_path):
    pidfile = tmp_path / "child.pid"
    loaded = fake_vllm_loaded("--fake-mode", "spawn-child", "--fake-child-pidfile", str(pidfile))
    mgr = EngineManager(loaded.settings, loaded.paths)
    await mgr.start("vllm")
    child = int(pidfile.read_text())
    assert psutil.pid_exists(child)
    await mgr.stop("vllm")
    for _ in range(100):
        if not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
            break
        await asyncio.sleep(0.05)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


async def test_port_in_use_is_refused_naming_the_holder(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    port = loaded.settings.engines.vllm.port
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        mgr = EngineManager(loaded.settings, loaded.paths)
        with pytest.raises(EngineStartError, match=f"port {port} is already in use by"):
            await mgr.start("vllm")


async def test_missing_executable_says_how_to_install(fake_vllm_loaded):
    loaded = fake_vllm_loaded()
    loaded.settings.engines.vllm.executable = "vllm-definitely-not-installed"
    with pytest.raises(EngineStartError, match="not installed") as info:
        await EngineManager(loaded.settings, loaded.paths).start("vllm")
    assert "vllm_setup.sh" in str(info.value)


@pytest.mark.timeout(300)
async def test_thirty_start_stop_cycles_leave_nothing_behind(fake_vllm_loaded):
    loaded = fake_vllm_loaded("--fake-delay", "0")
    mgr = EngineManager(loaded.settings, loaded.paths)
    before = descendants()
    for _ in range(30):
        await mgr.start("vllm")
        await mgr.stop("vllm")
    await asyncio.sleep(0.2)
    assert descendants() - before == set()


async def test_leftover_from_a_crashed_session_can_be_adopted_and_stopped(
    fake_vllm_loaded,
):
    loaded = fake_vllm_loaded()
    first = EngineManager(loaded.settings, loaded.paths)
    state = await first.start("vllm")
    first.detach()  # the "crashed" session forgets it without stopping it
    second = EngineManager(loaded.settings, loaded.paths)
    left = second.leftovers()
    assert left["vllm"]["pid"] == state.pid
    adopted = await second.adopt("vllm")
    assert adopted.status == "ready" and adopted.pid == state.pid
    async with httpx.AsyncClient() as http:
        assert (await http.get(state.url.replace("/v1", "/health"))).status_code == 200
    await second.stop("vllm")
    assert not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE
    for task in first["vllm"]._tasks:
        task.cancel()
