"""What an engine is doing now: one frozen :class:`EngineState`, replaced at every change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineState:
    status: str = "stopped"  # stopped | starting | ready | stopping | failed
    phase: str = ""
    progress: float = 0.0
    detail: str = ""
    cause: str = ""
    hint: str = ""
    exit_code: int | None = None
    last_lines: tuple[str, ...] = ()
    pid: int | None = None
    url: str = ""
    model: str = ""
    #: True when this app started (or adopted) it and may stop it; False = attached only.
    managed: bool = True
    started_at: float | None = None

    @property
    def running(self) -> bool:
        return self.status in ("starting", "ready", "stopping")
