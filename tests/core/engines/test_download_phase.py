"""Starting vLLM with a hub id the cache lacks: the "downloading" phase from a loopback fake hub."""

from __future__ import annotations

import asyncio

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.errors import EngineFailed
from a2ia_tui.core.models import hfcache
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import descendants, free_port


def settings_for(tmp_path, model: str):
    exe = write_wrapper(tmp_path)
    env = {
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
        "A2IA_ENGINES__VLLM__MODEL": model,
        "A2IA_ENGINES__STOP_GRACE_S": "2",
        "A2IA_ENGINES__START_TIMEOUT_S": "60",
        "A2IA_HOME": str(tmp_path / "home"),
    }
    return load_settings(env=env)


async def test_missing_model_downloads_then_starts(hub_env, tmp_path):
    _hub, cache, _env = hub_env
    loaded = settings_for(tmp_path, "org/tiny")
    mgr = EngineManager(loaded.settings, loaded.paths)
    seen: list[tuple[str, str, float, str]] = []
    mgr.add_listener(lambda n, s: seen.append((s.status, s.phase, s.progress, s.detail)))
    state = await mgr.start("vllm")
    assert state.status == "ready"
    downloading = [s for s in seen if s[1] == "downloading"]
    assert downloading and all(st == "starting" for st, *_ in downloading)
    assert any("%" in d and "/" in d for *_x, d in downloading), downloading
    phases = [p for _s, p, _pr, _d in seen]
    assert phases.index("downloading") < phases.index("launching")
    assert hfcache.is_complete("org/tiny", cache_dir=cache)
    await mgr.stop("vllm")
    # a second start finds the weights: no download
    seen.clear()
    await mgr.start("vllm")
    assert "downloading" not in [p for _s, p, _pr, _d in seen]
    await mgr.stop("vllm")
    await mgr.aclose()


async def test_gated_model_fails_with_one_line_and_starts_nothing(hub_env, tmp_path):
    loaded = settings_for(tmp_path, "org/gated")
    mgr = EngineManager(loaded.settings, loaded.paths)
    before = descendants()
    with pytest.raises(EngineFailed) as info:
        await mgr.start("vllm")
    assert "gated" in info.value.cause and "HF_TOKEN" in info.value.hint
    state = mgr["vllm"].state
    assert state.status == "failed" and "gated" in state.cause and state.pid is None
    assert descendants() - before == set()
    await mgr.aclose()


async def test_stop_while_downloading(held_hub, tmp_path):
    loaded = settings_for(tmp_path, "org/tiny")
    mgr = EngineManager(loaded.settings, loaded.paths)
    before = descendants()
    start = asyncio.ensure_future(mgr.start("vllm"))
    for _ in range(500):
        if mgr["vllm"].state.phase == "downloading" and "%" in mgr["vllm"].state.detail:
            break
        await asyncio.sleep(0.02)
    assert mgr["vllm"].state.phase == "downloading"
    stopped = await mgr.stop("vllm")
    assert stopped.status == "stopped"
    with pytest.raises(EngineFailed, match="stopped while downloading"):
        await start
    await asyncio.sleep(0.1)
    assert descendants() - before == set()
    await mgr.aclose()
