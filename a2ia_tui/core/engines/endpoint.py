"""Where the engine behind a backend runs: the backend named after a managed engine ("vllm",
"local") talks to that engine at exactly the host, port and served model name it runs with.

Resolution, first that applies:

1. the engine is attached (``engines.vllm.attach_url``): that URL;
2. it runs, started or adopted by this process (the manager's state);
3. it runs, started by another a2ia process (its pid file names a live server: ``a2ia-tui
   engine start --port 8123``, then ``a2ia-cli --backend vllm``);
4. the backend's own ``base_url`` when set (a server elsewhere, used while no engine runs);
5. the address the engine's settings give (where Start would run it).

A server the app does not manage, used while the managed engine runs, is a backend of its own
in the settings (``[backends.remote] kind = "vllm"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Paths, Settings
    from .kinds import EngineKind
    from .state import EngineState


class EngineStates(Protocol):
    """What the resolution reads of an engine manager."""

    def states(self) -> dict[str, EngineState]: ...


@dataclass(frozen=True)
class Endpoint:
    url: str
    #: The model the engine serves ("" when it does not say).
    model: str
    #: The engine kind's name.
    engine: str
    #: "attached", "running" (this process), "pid file" (another a2ia process), "backend" (its
    #: base_url), "settings" (where Start would run it).
    source: str

    @property
    def running(self) -> bool:
        return self.source in ("running", "pid file")


def engine_for_backend(settings: Settings, backend: str) -> EngineKind | None:
    """The engine kind behind a backend: the one named after it, or the bundled engine for a
    backend of kind ``local``."""
    from .kinds import engine_kinds, kind_for_backend

    kind = kind_for_backend(backend)
    if kind is None:
        b = settings.backends.get(backend)
        if b is not None and b.kind == "local":
            kind = next((k for k in engine_kinds().values() if k.backend == "local"), None)
    return kind


def engine_endpoint(
    settings: Settings,
    backend: str,
    *,
    paths: Paths | None = None,
    engines: EngineStates | None = None,
) -> Endpoint | None:
    """The engine behind ``backend`` and where to reach it; None when no engine is behind it."""
    kind = engine_for_backend(settings, backend)
    if kind is None:
        return None
    spec = kind.make_spec(settings)
    attached = kind.attached(settings)
    if attached:
        return Endpoint(attached, spec.model, kind.name, "attached")
    if engines is not None:
        state = engines.states().get(kind.name)
        if state is not None and state.running and state.managed and state.url:
            return Endpoint(state.url, state.model, kind.name, "running")
    if paths is not None:
        from .pidfile import read_pidfile

        record = read_pidfile(paths.run_dir / f"{kind.name}.json")
        if record and isinstance(record.get("url"), str):
            model = record.get("model")
            return Endpoint(record["url"], model if isinstance(model, str) else "", kind.name, "pid file")
    b = settings.backends.get(backend)
    if b is not None and b.kind != "local" and b.base_url:
        return Endpoint(b.base_url, "", kind.name, "backend")
    return Endpoint(spec.url, spec.model, kind.name, "settings")
