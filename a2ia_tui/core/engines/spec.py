"""What differs between engine kinds: :class:`EngineSpec` (argv, environment, URL, readiness
probe, start-up phases read from the log, failures explained), built from the settings with
overrides applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec


class LazyPattern:
    """A regex compiled when first used: the engines' log patterns (dozens) are not needed to
    draw the app, only once an engine runs. Offers what the specs use of ``re.Pattern``."""

    __slots__ = ("_rx", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._rx: Any = None

    def search(self, text: str) -> Any:
        if self._rx is None:
            import re

            self._rx = re.compile(self.pattern, self.flags)
        return self._rx.search(text)


@dataclass
class Phase:
    name: str
    progress: float
    detail: str = ""


class EngineSpec:
    """What differs between engines. Subclasses fill these in."""

    name = "engine"
    label = "Engine"
    backend_name = ""
    #: How to install the engine, said when its executable is not found ("" when nothing to add).
    install_hint = ""

    def __init__(self, settings: Any, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.overrides = dict(overrides or {})

    @property
    def config(self) -> Any:
        """This engine's section of ``settings.engines`` (``engines.<name>``) with the overrides
        (autotune, the start screen's edits, command-line flags) applied."""
        base = getattr(self.settings.engines, self.name)
        return msgspec.structs.replace(base, **self.overrides) if self.overrides else base

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    @property
    def host(self) -> str:
        return str(self.config.host)

    @property
    def port(self) -> int:
        return int(self.config.port)

    @property
    def url(self) -> str:
        """The OpenAI base URL clients use."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def model(self) -> str:
        return ""

    def notes(self) -> list[str]:
        """One-line notes about the command (a flag dropped, a feature off), shown before Start."""
        return []

    def preflight(self) -> None:
        """Raise EngineStartError when the engine cannot start (missing executable/package)."""

    def hub_model(self) -> str | None:
        """A Hugging Face hub id to have in the local cache before starting (None: nothing)."""
        return None

    def parse_line(self, line: str) -> Phase | None:
        return None

    def explain(self, lines: list[str], exit_code: int | None) -> tuple[str, str]:
        last = next((ln for ln in reversed(lines) if ln.strip()), "")
        return (
            f"{self.label} exited" + (f": {last.strip()[:200]}" if last else ""),
            "see the engine log (ctrl+l)",
        )

    async def probe(self, http: Any) -> bool:
        raise NotImplementedError
