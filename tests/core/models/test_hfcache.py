"""The hub cache module against a loopback fake hub (real huggingface_hub, real child process)."""

from __future__ import annotations

import asyncio
import hashlib

import psutil
import pytest

from a2ia_tui.core.errors import ModelError
from a2ia_tui.core.models import hfcache
from tests.fakes.fake_hub import TINY


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def test_cache_dir_follows_the_environment(tmp_path):
    assert hfcache.hub_cache_dir({"HF_HUB_CACHE": "/x/hub"}).as_posix() == "/x/hub"
    assert hfcache.hub_cache_dir({"HF_HOME": "/h"}).as_posix() == "/h/hub"
    assert hfcache.hub_cache_dir({"XDG_CACHE_HOME": "/c"}).as_posix() == "/c/huggingface/hub"
    assert hfcache.hub_offline({"HF_HUB_OFFLINE": "1"}) and not hfcache.hub_offline({})


def test_hub_ids_and_local_paths(tmp_path, monkeypatch):
    assert hfcache.looks_like_hub_id("Qwen/Qwen2.5-7B-Instruct-AWQ")
    for not_id in ("/models/x", "x", "a/b/c", "../x/y", "org/", "hf.co/org/x:Q4"):
        assert not hfcache.looks_like_hub_id(not_id), not_id
    (tmp_path / "org" / "local").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert not hfcache.looks_like_hub_id("org/local")  # a folder here is read by vLLM as a path


async def test_pull_downloads_with_progress_then_lists_and_deletes(hub_env):
    hub, cache, env = hub_env
    seen: list[hfcache.PullProgress] = []
    assert not hfcache.is_complete("org/tiny", cache_dir=cache)
    path = await hfcache.pull("org/tiny", cache_dir=cache, env=env, on_progress=seen.append, poll_s=0.02)
    for name, data in TINY.items():
        assert hashlib.sha256((path / name).read_bytes()).digest() == hashlib.sha256(data).digest()
    total = sum(len(d) for d in TINY.values())
    assert seen[-1].done == total and seen[-1].total == total and seen[-1].fraction == 1.0
    assert seen[-1].text.endswith("(100%)")
    assert [s.done for s in seen] == sorted(s.done for s in seen)
    # the library's real requests: the model info, the tree, then the resolve URLs
    paths = [p for _m, p in hub.requests]
    assert "/api/models/org/tiny/revision/main" in paths
    assert any(p.startswith("/org/tiny/resolve/") for p in paths)
    assert hfcache.is_complete("org/tiny", cache_dir=cache)

    (listed,) = hfcache.list_cached(cache)
    assert listed.repo_id == "org/tiny" and listed.refs == ("main",) and listed.files == 3
    assert listed.size == total and not listed.partial
    freed = hfcache.delete_cached("org/tiny", cache)
    assert freed >= total
    assert hfcache.list_cached(cache) == [] and not hfcache.repo_folder("org/tiny", cache).exists()
    with pytest.raises(ModelError, match="not in the hub cache"):
        hfcache.delete_cached("org/tiny", cache)


@pytest.mark.parametrize(
    ("repo", "kind", "words"),
    [
        ("org/gated", "gated", "gated"),
        ("org/missing", "missing", "not found"),
        ("org/huge", "disk", "disk full"),
    ],
)
async def test_failures_are_one_line_reasons(hub_env, repo, kind, words):
    _hub, cache, env = hub_env
    with pytest.raises(ModelError) as info:
        await hfcache.pull(repo, cache_dir=cache, env=env)
    err = info.value
    assert err.kind == kind and words in str(err) and "\n" not in str(err)
    assert "Traceback" not in str(err) and "Traceback" not in err.hint
    if kind == "gated":
        assert "HF_TOKEN" in err.hint
    assert not hfcache.is_complete(repo, cache_dir=cache)


async def test_unreachable_hub_and_offline(hub_env, tmp_path):
    _hub, cache, env = hub_env
    with pytest.raises(ModelError) as info:
        await hfcache.pull("org/tiny", cache_dir=cache, env={**env, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert info.value.kind == "network" and "\n" not in str(info.value)
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        await hfcache.pull("org/tiny", cache_dir=cache, env={**env, "HF_HUB_OFFLINE": "1"})
    with pytest.raises(ModelError, match="not a hub model id"):
        await hfcache.pull("--help", cache_dir=cache, env=env)


async def test_cancelling_a_pull_kills_the_child_and_a_later_pull_finishes(held_hub):
    _hub, cache, hold = held_hub
    before = children()
    seen: list[hfcache.PullProgress] = []
    task = asyncio.ensure_future(hfcache.pull("org/tiny", cache_dir=cache, on_progress=seen.append, poll_s=0.02))
    for _ in range(500):
        if any(s.done for s in seen):
            break
        await asyncio.sleep(0.02)
    assert any(0 < s.done < (s.total or 0) for s in seen), seen[-3:]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert children() - before == set()
    assert not hfcache.is_complete("org/tiny", cache_dir=cache)
    listed = {m.repo_id: m for m in hfcache.list_cached(cache)}
    assert listed["org/tiny"].partial  # what the interrupted pull left is listed (and can be deleted)
    hold.set()
    path = await hfcache.pull("org/tiny", cache_dir=cache)
    assert (path / "model.safetensors").read_bytes() == TINY["model.safetensors"]
