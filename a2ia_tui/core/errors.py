"""Every exception a2ia-tui raises on purpose, in one tree.

::

    A2IAError                      base of everything below; str(e) is one line fit for a user
    ├── ConfigError                bad settings: carries source (file / env var / flag), key path, problem
    ├── BackendError               anything that went wrong talking to an LLM server
    │   ├── BackendUnreachable     connect refused, DNS failure, connect/read timeout; names the URL
    │   ├── BackendHTTPError       non-2xx answer: status + the server's own message (+ a hint when known)
    │   │   └── ToolsUnsupported   the server refuses `tools` (vLLM without --enable-auto-tool-choice)
    │   ├── BackendProtocolError   the server answered something that is not its wire format
    │   └── StreamInterrupted      the connection dropped mid-stream; carries the partial text
    ├── ToolError                  MCP hub / tool execution problems
    │   ├── ToolServerError        an MCP server failed to start or crashed (name + stderr tail)
    │   └── WorkspaceError         a built-in tool was asked to leave its workspace root
    ├── EngineError                managed engines (vLLM, llama.cpp)
    │   ├── EngineStartError       refused before start: port in use, executable/package missing
    │   └── EngineFailed           the engine died: cause, hint, exit code, last log lines
    ├── ModelError                 a model could not be pulled, listed or deleted (hub cache, Ollama)
    ├── AttachmentError            a file cannot be attached to a question (secret, too large, binary...)
    └── StoreError                 the history database cannot be opened or written

Policy: raw ``httpx``/``OSError``/``json`` exceptions never escape the core's public API; they
are wrapped into the class above that says what it means for the user, with ``__cause__`` kept.
"""

from __future__ import annotations


class A2IAError(Exception):
    """Base class. ``str(err)`` is a single line meant for the user."""


class ConfigError(A2IAError):
    """Invalid configuration: which source, which key, what is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(f"{where}{problem}")


class BackendError(A2IAError):
    """Something went wrong talking to an LLM backend."""


class BackendUnreachable(BackendError):
    """The backend could not be reached (refused, DNS, timeout)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        from .redact import mask_url, redact_text  # a URL's user:password@ and ?api_key= never reach a user

        super().__init__(f"cannot reach {mask_url(url)}: {redact_text(reason)}")


class BackendHTTPError(BackendError):
    """The backend answered with an HTTP error status."""

    def __init__(self, status: int, message: str, *, url: str = "", hint: str = "") -> None:
        self.status = status
        self.message = message
        self.url = url
        self.hint = hint
        text = f"HTTP {status}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class ToolsUnsupported(BackendHTTPError):
    """The server rejected a request because it carried ``tools``."""


class BackendProtocolError(BackendError):
    """The backend's answer is not in the expected wire format."""


class ContextOverflow(BackendError):
    """The request would not fit the model's context window (checked before it is sent)."""


class StreamInterrupted(BackendError):
    """The stream ended early (connection dropped, server died, error line mid-stream)."""

    def __init__(self, reason: str, partial_text: str = "") -> None:
        self.reason = reason
        self.partial_text = partial_text
        super().__init__(f"stream interrupted: {reason}")


class ToolError(A2IAError):
    """A problem with MCP servers or tool execution."""


class ToolServerError(ToolError):
    """An MCP server failed to start or crashed."""

    def __init__(self, server: str, reason: str, stderr_tail: str = "") -> None:
        self.server = server
        self.reason = reason
        self.stderr_tail = stderr_tail
        text = f"MCP server {server!r}: {reason}"
        if stderr_tail:
            last = stderr_tail.strip().splitlines()[-1:] or [""]
            text += f" — {last[0][:200]}"
        super().__init__(text)


class WorkspaceError(ToolError):
    """A path given to a built-in tool leaves the workspace root."""


class EngineError(A2IAError):
    """A managed engine problem."""


class EngineStartError(EngineError):
    """The engine could not be started (port in use, missing executable, ...)."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.hint = hint
        super().__init__(message + (f" (hint: {hint})" if hint else ""))


class EngineFailed(EngineError):
    """A started engine died or failed to become ready."""

    def __init__(
        self, cause: str, hint: str = "", exit_code: int | None = None, last_lines: tuple[str, ...] = ()
    ) -> None:
        self.cause = cause
        self.hint = hint
        self.exit_code = exit_code
        self.last_lines = tuple(last_lines)
        text = cause
        if exit_code is not None:
            text += f" (exit code {exit_code})"
        if hint:
            text += f" — {hint}"
        super().__init__(text)


class ModelError(A2IAError):
    """Pulling, listing or deleting a model failed. ``kind`` names the case for callers that
    react to it (``gated``, ``missing``, ``disk``, ``network``, ``cancelled``, ``other``)."""

    def __init__(self, message: str, *, kind: str = "other", hint: str = "") -> None:
        self.kind = kind
        self.hint = hint
        super().__init__(message)


class AttachmentError(A2IAError):
    """A workspace file cannot be attached to a question; ``str(err)`` says why in one line."""


class StoreError(A2IAError):
    """The history database is unusable."""
