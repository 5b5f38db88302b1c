"""Fixtures for the tests that download: a loopback fake hub (tests/fakes/fake_hub.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_hub import TINY, FakeHub


@pytest.fixture
def hub_env(monkeypatch, tmp_path) -> Iterator[tuple[FakeHub, Path, dict[str, str]]]:
    """A fake hub with org/tiny, org/gated (gated) and org/huge (claims petabytes), HF_ENDPOINT
    pointed at it, an empty cache; yields (hub, cache folder, the environment for a pull)."""
    cache = tmp_path / "hf-cache"
    with FakeHub(
        {"org/tiny": TINY, "org/gated": TINY, "org/huge": {"model.safetensors": b"x" * 2048}},
        gated={"org/gated"},
        fake_sizes={"org/huge": 10**18},
    ).threaded() as hub:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield hub, cache, dict(os.environ)


@pytest.fixture
def held_hub(monkeypatch, tmp_path) -> Iterator[tuple[FakeHub, Path, threading.Event]]:
    """Like hub_env, but file bodies stop after their first chunk until the event is set."""
    hold = threading.Event()
    cache = tmp_path / "hf-cache"
    with FakeHub({"org/tiny": TINY}, hold=hold).threaded() as hub:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        yield hub, cache, hold
        hold.set()
