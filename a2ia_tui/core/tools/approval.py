"""Which tool calls need the user's approval.

Order of precedence for a tool (by its offered name, or its name on its server):

1. a per-tool override in ``tools.overrides``: ``allow`` (never ask), ``ask`` (always ask), ``deny``
   (never run; the model is told the tool is disabled);
2. an "always allow this tool for this session" answer given earlier;
3. the policy ``tools.approval``: ``never`` (run everything), ``always`` (ask for every call),
   ``destructive`` (default: ask for tools annotated destructive by their server — MCP's default
   when a tool is not read-only — or listed in ``tools.destructive_tools``).

A call of the built-in server that reads a secret file (see :mod:`.secrets`: ``read_file`` of a
secret path, or any read tool with ``include_secrets: true``) is decided per call from its
arguments: a configured override still applies, ``never`` runs it, otherwise it asks (reason
``secret file``) even for a read-only tool, and an "always" answer to such a question covers
secret reads of that tool for the session (an earlier "always" for the tool does not). Once the
call is allowed, the orchestrator sends it with ``include_secrets: true`` (the server refuses
secret reads without it).

With no one to ask (a2ia-cli -p without a terminal), a call that needs approval is declined unless
``--yes`` was given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import ToolSettings
from .secrets import SecretRules, secret_reason

Decision = Literal["allow", "ask", "deny"]
#: The reason given when a call reads a secret file.
SECRET = "secret file"


@dataclass
class ApprovalPolicy:
    settings: ToolSettings
    session_allowed: set[str] = field(default_factory=set)
    #: The secret-file rules; default: from the environment (home, a2ia's own paths).
    secrets: SecretRules | None = None

    def secret_reason(self, original: str | None, arguments: Mapping[str, Any] | None, builtin: bool) -> str | None:
        """Why a call of the built-in server reads a secret file, or None (other servers: None)."""
        if not builtin or not original or not isinstance(arguments, Mapping):
            return None
        if self.secrets is None:
            self.secrets = SecretRules.from_env()
        root = self.settings.workspace or os.getcwd()
        return secret_reason(original, arguments, root, self.secrets)

    def decide(
        self,
        name: str,
        *,
        original: str | None = None,
        destructive: bool = False,
        arguments: Mapping[str, Any] | None = None,
        builtin: bool = False,
    ) -> tuple[Decision, str]:
        """The decision and why (``configured``, ``session``, ``always``, ``destructive``,
        ``secret file``, ``policy``). ``arguments`` and ``builtin`` (the tool is the built-in
        server's) let a secret read be decided per call."""
        for key in (name, original):
            if key and key in self.settings.overrides:
                return self.settings.overrides[key], "configured"
        if self.secret_reason(original or name, arguments, builtin):
            if self.settings.approval == "never":
                return "allow", "policy"
            if name + SECRET_SUFFIX in self.session_allowed:
                return "allow", "session"
            return "ask", SECRET
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

    def allow_for_session(self, name: str, reason: str = "") -> None:
        """ "Always" for ``name``; asked for a secret read, it covers that tool's secret reads."""
        self.session_allowed.add(name)
        if reason == SECRET:
            self.session_allowed.add(name + SECRET_SUFFIX)


#: The session key of "always allow this tool's secret reads".
SECRET_SUFFIX = "#secrets"
