"""``a2ia-tui engine pull MODEL`` as a user runs it: a real subprocess against the fake hub."""

from __future__ import annotations

import os
import subprocess
import sys

from a2ia_tui.core.models import hfcache
from tests.fakes.fake_hub import TINY


def pull(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "engine", "pull", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pull_prints_progress_and_the_snapshot(hub_env):
    _hub, cache, env = hub_env
    done = pull("org/tiny", env=env)
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip()
    assert path.startswith(str(cache)) and os.path.isfile(os.path.join(path, "model.safetensors"))
    assert "pulling org/tiny" in done.stderr and "(100%)" in done.stderr
    assert hfcache.is_complete("org/tiny", cache_dir=cache)
    again = pull("org/tiny", env=env)
    assert again.returncode == 0 and "already in the hub cache" in again.stderr
    assert sum(len(d) for d in TINY.values()) <= hfcache.list_cached(cache)[0].size


def test_pull_failures_are_one_line(hub_env):
    _hub, _cache, env = hub_env
    for repo, words in (("org/gated", "gated"), ("org/missing", "not found"), ("org/huge", "disk full")):
        done = pull(repo, env=env)
        assert done.returncode == 1, (repo, done.stderr)
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("a2ia:")]
        assert len(lines) == 1 and words in lines[0], done.stderr
        assert "Traceback" not in done.stderr
    bad = pull("not-a-model", env=env)
    assert bad.returncode == 2 and "not a hub model id" in bad.stderr
    unknown = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "engine", "start", "nope"], env=env, capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "no engine kind" in unknown.stderr


def test_engine_start_prints_the_download(hub_env, tmp_path):
    from tests.helpers.engines import write_wrapper
    from tests.helpers.processes import free_port

    _hub, cache, env = hub_env
    env = {
        **env,
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(write_wrapper(tmp_path)),
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
        "A2IA_ENGINES__STOP_GRACE_S": "3",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "a2ia_tui.entry", "engine", "start", "vllm", "-m", "org/tiny"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        downloading = [ln for ln in done.stderr.splitlines() if "downloading" in ln]
        assert downloading and all("%" in ln and " / " in ln for ln in downloading[1:]), done.stderr
        assert hfcache.is_complete("org/tiny", cache_dir=cache)
    finally:
        subprocess.run([sys.executable, "-m", "a2ia_tui.entry", "engine", "stop", "vllm"], env=env, timeout=60)
