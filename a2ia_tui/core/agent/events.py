"""What :meth:`Orchestrator.run_turn` yields: plain, frozen event dataclasses.

The UI (or a2ia-cli) maps each to its display; none of them carries a widget or a callback
except :class:`ApprovalNeeded`, whose ``future`` the UI resolves with an :class:`Approval`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Approval(str, Enum):  # noqa: UP042 - StrEnum would change str()/format() of the members
    """The user's answer to an :class:`ApprovalNeeded`."""

    ALLOW = "allow"  # run this call
    DENY = "deny"  # do not run it; the model is told the user declined
    ALWAYS = "always"  # run it, and do not ask again for this tool in this session


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class Notice:
    """Something the user should see that is not part of the answer (e.g. a ReAct fallback)."""

    text: str
    level: str = "info"  # info | warning


@dataclass(frozen=True)
class ToolCallRequested:
    id: str
    name: str
    arguments: dict[str, Any]
    #: The MCP server that owns the tool ("" for an unknown tool).
    server: str = ""
    #: Raw argument text when it was not valid JSON.
    raw_arguments: str | None = None


@dataclass(frozen=True)
class ApprovalNeeded:
    call: ToolCallRequested
    future: asyncio.Future[Approval] = field(compare=False, repr=False)
    #: Why we ask: "destructive", "always", "configured".
    reason: str = "destructive"


@dataclass(frozen=True)
class ToolCallFinished:
    id: str
    result: str
    is_error: bool
    duration_s: float
    #: True when the model got a truncated copy of ``result``.
    truncated_for_model: bool = False
    name: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_s: float | None
    tokens_per_s: float | None
    #: True when the counts came from the server, False when estimated from chunks.
    exact: bool = False


@dataclass(frozen=True)
class TurnFinished:
    #: "stop", "length", "max_steps", "cancelled"
    reason: str


@dataclass(frozen=True)
class TurnFailed:
    error: BaseException
    #: One line for the user.
    message: str = ""


AgentEvent = (
    TextDelta
    | ThinkingDelta
    | Notice
    | ToolCallRequested
    | ApprovalNeeded
    | ToolCallFinished
    | Usage
    | TurnFinished
    | TurnFailed
)
