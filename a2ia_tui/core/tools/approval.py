"""Which tool calls need the user's approval.

Order of precedence for a tool (by its offered name, or its name on its server):

1. a per-tool override in ``tools.overrides``: ``allow`` (never ask), ``ask`` (always ask), ``deny``
   (never run; the model is told the tool is disabled);
2. an "always allow this tool for this session" answer given earlier;
3. the policy ``tools.approval``: ``never`` (run everything), ``always`` (ask for every call),
   ``destructive`` (default: ask for tools annotated destructive by their server — MCP's default
   when a tool is not read-only — or listed in ``tools.destructive_tools``).

With no one to ask (a2ia-cli -p without a terminal), a call that needs approval is declined unless
``--yes`` was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..config import ToolSettings

Decision = Literal["allow", "ask", "deny"]


@dataclass
class ApprovalPolicy:
    settings: ToolSettings
    session_allowed: set[str] = field(default_factory=set)

    def decide(self, name: str, *, original: str | None = None, destructive: bool = False) -> tuple[Decision, str]:
        """The decision and why (``configured``, ``session``, ``always``, ``destructive``, ``policy``)."""
        for key in (name, original):
            if key and key in self.settings.overrides:
                return self.settings.overrides[key], "configured"
        if name in self.session_allowed:
            return "allow", "session"
        policy = self.settings.approval
        if policy == "never":
            return "allow", "policy"
        if policy == "always":
            return "ask", "always"
        listed = name in self.settings.destructive_tools or (original or "") in self.settings.destructive_tools
        if destructive or listed:
            return "ask", "destructive"
        return "allow", "policy"

    def allow_for_session(self, name: str) -> None:
        self.session_allowed.add(name)
