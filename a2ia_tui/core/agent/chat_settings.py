"""A chat's own settings: system prompt, sampling and thinking, saved with the chat.

Three layers meet here, and the first that sets a value wins: the command line's flags, the
chat's saved settings, the configuration. A value no layer sets is left out of the request (the
server's own default applies); a set one is sent exactly. Each client names the values in its
own wire format (:meth:`a2ia_tui.core.llm.base.LLMClient.sampling_options`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config.sections import AgentSettings

#: name -> (type, lowest, highest): the ranges the servers accept.
_RANGES: dict[str, tuple[type, float, float]] = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "max_tokens": (int, 1, 1 << 31),
}
#: A system prompt longer than this is refused: it would leave no room in any context window.
MAX_SYSTEM_CHARS = 100_000


class ChatSettingsError(ValueError):
    """A value out of range or of the wrong type; the message is one line naming the field."""


@dataclass(frozen=True)
class ChatSettings:
    system_prompt: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    #: True/False: ask the model to think, or not; None: the model's default.
    think: bool | None = None

    def __post_init__(self) -> None:
        for name, (kind, low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ChatSettingsError(f"{name}: expected a number, got {type(value).__name__}")
            if kind is int and (isinstance(value, float) and not value.is_integer()):
                raise ChatSettingsError(f"{name}: expected a whole number, got {value}")
            if not math.isfinite(value) or not low <= value <= high:
                raise ChatSettingsError(f"{name}: {value} is outside {low:g}..{high:g}")
            object.__setattr__(self, name, kind(value))
        if self.think is not None and not isinstance(self.think, bool):
            raise ChatSettingsError(f"think: expected true or false, got {type(self.think).__name__}")
        if self.system_prompt is not None:
            if not isinstance(self.system_prompt, str):
                raise ChatSettingsError(f"system_prompt: expected text, got {type(self.system_prompt).__name__}")
            if len(self.system_prompt) > MAX_SYSTEM_CHARS:
                raise ChatSettingsError(f"system_prompt: longer than {MAX_SYSTEM_CHARS:,} characters")
            if not self.system_prompt.strip():
                object.__setattr__(self, "system_prompt", None)

    def over(self, base: ChatSettings) -> ChatSettings:
        """These settings where set, ``base``'s elsewhere."""
        return replace(base, **{k: v for k, v in self.to_dict().items()})

    def to_dict(self) -> dict[str, Any]:
        """Only the values that are set (what is saved with a chat and shown in its export)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_config(cls, agent: AgentSettings) -> ChatSettings:
        """The bottom layer: the configuration's ``[agent]`` values."""
        return cls(
            system_prompt=agent.system_prompt,
            temperature=agent.temperature,
            top_p=agent.top_p,
            max_tokens=agent.max_tokens,
            think=agent.think,
        )

    @classmethod
    def from_dict(cls, data: object) -> tuple[ChatSettings, list[str]]:
        """Settings read back from history or a file: what is valid is kept, each thing dropped is
        a one-line note (unknown keys, values out of range). Never raises."""
        if not isinstance(data, dict):
            return cls(), ([] if data is None else ["chat settings: not an object, ignored"])
        known = {f.name for f in fields(cls)}
        notes = [f"chat settings: unknown key {k!r} ignored" for k in data if k not in known]
        kept: dict[str, Any] = {}
        for key in known & data.keys():
            try:
                cls(**{key: data[key]})
            except ChatSettingsError as exc:
                notes.append(f"chat settings: {exc}; ignored")
            else:
                kept[key] = data[key]
        return cls(**kept), notes

    @property
    def is_empty(self) -> bool:
        return not self.to_dict()
