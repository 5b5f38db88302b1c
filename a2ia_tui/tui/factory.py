"""``make_app``: the one way to build the app, shared by the entry point and the tests.

``make_app(loaded)`` takes the core's real services (:mod:`a2ia_tui.core.wiring`, shared with
``a2ia-cli``: registry clients, an MCP hub created after the first frame, the engine manager, the
GPU sampler factory, the history store); tests pass their own :class:`AppServices` (a
ScriptedClient factory, an in-memory or tmp store, no engines).
Nothing slow happens here: heavy modules are imported when first used.
"""

from __future__ import annotations

from ..core.config import LoadedSettings
from ..core.wiring import RealServices
from .gctune import GC_THRESHOLDS, tune_gc  # noqa: F401 - the start path's, re-exported
from .services import AppServices


def default_services(loaded: LoadedSettings) -> AppServices:
    """The app's services: the core's real ones (:class:`~..core.wiring.RealServices`)."""
    core = RealServices(loaded)
    settings = loaded.settings
    return AppServices(
        loaded=loaded,
        make_client=core.make_client,
        make_hub=core.make_hub if settings.tools.enabled else None,
        # made now: the app shows the engines (and offers to adopt leftovers) from its first frame
        engines=core.make_engines(),
        gpu_sampler_factory=core.make_gpu_sampler,
        open_store=core.open_store,
        initial_backend=None if settings.default_backend == "auto" else settings.default_backend,
    )


def make_app(loaded: LoadedSettings, services: AppServices | None = None):
    from .app import A2IAApp

    tune_gc()
    return A2IAApp(services or default_services(loaded))
