"""Suite-wide fixtures: every test gets its own A2IA_HOME so nothing touches the real user dirs."""

from __future__ import annotations

import gc
import os

import pytest


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
