"""``make_app``: the one way to build the app, shared by the entry point and the tests."""

from __future__ import annotations

from ..core.config import LoadedSettings


def make_app(loaded: LoadedSettings):
    from .app import A2IAApp

    return A2IAApp(loaded)
