"""The real core classes implement the seams the UI holds (core/protocols.py).

mypy checks the assignments below (a missing method or a changed signature is a type error);
the test checks at run time that every member a Protocol names exists on the real class.
"""

from __future__ import annotations

from pathlib import Path

from a2ia_tui.core import protocols
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.core.store.history import HistoryStore
from a2ia_tui.core.tools.hub import MCPHub


def members(proto: type) -> set[str]:
    names = {n for n in vars(proto) if not n.startswith("_")}
    return names | set(getattr(proto, "__annotations__", {}))


def test_the_real_classes_are_the_protocols(tmp_path: Path) -> None:
    loaded = load_settings(env={"A2IA_HOME": str(tmp_path / "home")})
    settings = loaded.settings
    hub: protocols.ToolHub = MCPHub({}, settings)
    engines: protocols.EngineControl = EngineManager(settings, loaded.paths)
    history: protocols.History = HistoryStore(":memory:")
    gpus: protocols.GPUMonitor = GPUSampler(settings.monitor)
    try:
        for proto, real in [
            (protocols.ToolHub, hub),
            (protocols.EngineControl, engines),
            (protocols.History, history),
            (protocols.GPUMonitor, gpus),
        ]:
            assert members(proto)
            assert {m for m in members(proto) if not hasattr(real, m)} == set(), proto
        assert engines.running() == [] and engines.notes == []
        assert history.waiting == 0 and history.list() == []
        assert hub.tools() == []
    finally:
        gpus.close()
        history.close()
