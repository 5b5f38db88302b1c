"""Suite-wide fixtures: every test gets its own A2IA_HOME so nothing touches the real user dirs;
fixtures used by more than one test folder. Plain helpers are in tests/helpers."""

from __future__ import annotations

import gc
import json
import os

import pytest

from a2ia_tui.core.config import load_settings
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port


@pytest.fixture(autouse=True)
def _hermetic_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("a2ia-home")
    monkeypatch.setenv("A2IA_HOME", str(home))
    # Nothing reaches a real model hub: engines find no weights to download, and the tests that
    # download (tests/fakes/fake_hub.py) unset this and point HF_ENDPOINT at their loopback fake.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf-hub"))
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    for name in list(os.environ):
        if name.startswith("A2IA_") and name not in ("A2IA_HOME",) and not name.startswith("A2IA_TEST_"):
            monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test():
    """Unclosed sockets and files warn when they are garbage-collected, and pytest turns that
    into an error (see filterwarnings in pyproject.toml). Collecting here pins a leak on the test
    that made it, instead of on whichever later test the collector happens to run in."""
    yield
    gc.collect()


@pytest.fixture
def fake_vllm_loaded(tmp_path):
    """LoadedSettings whose vLLM engine is the fake executable on a free port, with a short grace."""

    def make(*fake_args: str, grace: float = 2.0):
        exe = write_wrapper(tmp_path)
        env = {
            "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
            "A2IA_ENGINES__VLLM__PORT": str(free_port()),
            "A2IA_ENGINES__VLLM__MODEL": "Qwen/Qwen2.5-7B-Instruct-AWQ",
            "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(list(fake_args)),
            "A2IA_ENGINES__STOP_GRACE_S": str(grace),
            "A2IA_ENGINES__START_TIMEOUT_S": "60",
            "A2IA_HOME": str(tmp_path / "home"),
        }
        return load_settings(env=env)

    return make
