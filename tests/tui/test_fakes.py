"""The app tests' fakes implement the core's seams (mypy checks these assignments)."""

from __future__ import annotations

from a2ia_tui.core.protocols import ToolHub
from tests.helpers.app import MiniHub, StaticHub


def test_the_app_tests_hubs_are_tool_hubs() -> None:
    hubs: list[ToolHub] = [MiniHub(), StaticHub()]
    assert [sorted(h.states()) for h in hubs] == [["notes"], ["a2ia", "time"]]
