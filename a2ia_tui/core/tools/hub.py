"""MCPHub: one MCP ``ClientSession`` per configured server, their tools as one list, and calls.

Lifecycle, per server (one asyncio task each, started concurrently by :meth:`MCPHub.start`)::

    starting ──initialize+list_tools──▶ ready ──crash/exit──▶ restarting ──▶ ready …
        │                                 │                        └─ attempts exhausted ─▶ failed
        └─ spawn/handshake error ─────────┴────────────────────────────────────────────▶ failed
    (any) ──aclose()──▶ stopped

- A server that fails to start is reported (status ``failed``, reason and the tail of its stderr);
  the others work.
- A crash is noticed by the call in flight (the SDK answers it with "Connection closed", which
  goes back to the model as a tool error) or by a ping every :data:`PING_INTERVAL_S`; the server is
  restarted with exponential backoff (:data:`RESTART_BACKOFF_S` doubling), at most
  ``settings.tools.restart_attempts`` times in a row.
- Calls have a per-server timeout (``settings.tools.server_timeouts[name]``, the entry's
  ``timeout``, else ``settings.tools.call_timeout_s``).
- :meth:`aclose` closes every session; the SDK's stdio transport then ends each server process
  (stdin closed → SIGTERM → SIGKILL). Stdio servers run in their own process group, and the hub
  kills any group still alive at close, so nothing is orphaned, also on Ctrl-C.

Names: a tool is offered under its own name unless two servers have a tool of that name; then
each is offered as ``<server>__<tool>`` (valid as an OpenAI function name).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..childenv import isolated_python, user_env
from ..config import MCPServerConfig, Settings
from ..llm.types import ToolSpec

PING_INTERVAL_S = 2.0
PING_TIMEOUT_S = 5.0
RESTART_BACKOFF_S = 0.5
RESTART_BACKOFF_MAX_S = 10.0
STDERR_TAIL_CHARS = 2000
#: Name of the built-in server in the hub.
BUILTIN_NAME = "a2ia"


@dataclass(frozen=True)
class HubTool:
    name: str  # as offered to the model
    server: str
    original_name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool = False
    destructive: bool = False

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.input_schema or {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ServerState:
    name: str
    status: str  # starting | ready | restarting | failed | stopped
    reason: str = ""
    tool_count: int = 0
    stderr_tail: str = ""
    restarts: int = 0
    transport: str = "stdio"
    #: Something to tell about a running server (e.g. a disabledTools name it has no tool of).
    note: str = ""


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool
    duration_s: float = 0.0
    structured: Any = None


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)


def builtin_server_config(settings: Settings, config_file: str | os.PathLike[str] | None = None) -> MCPServerConfig:
    """The built-in server's entry. ``config_file``: the settings TOML this process read (e.g.
    ``--config PATH``), handed on as ``A2IA_CONFIG`` so its status tools read the same one."""
    ws = settings.tools.workspace or os.getcwd()
    t = settings.tools
    # The user's environment without a2ia's secrets (see core/childenv.py): the server needs
    # A2IA_HOME / A2IA_CONFIG and the A2IA_* settings for its status tools, and it is the parent of
    # what run_command starts, which gets this same environment. PYTHON* variables are inert: -I.
    env = user_env(settings)
    if config_file is not None:
        env["A2IA_CONFIG"] = str(config_file)
    return MCPServerConfig(
        name=BUILTIN_NAME,
        command=sys.executable,
        args=[
            # -I: a module planted in the workspace (the cwd) or on PYTHONPATH is never imported.
            *isolated_python(sys.executable)[1:],
            "-m",
            "a2ia_tui.core.tools.server",
            "--workspace",
            str(ws),
            "--max-read-bytes",
            str(t.max_read_bytes),
            "--max-output-chars",
            str(t.max_output_chars),
            "--command-timeout",
            str(t.run_command_timeout_s),
        ],
        env=env,
    )


@dataclass
class _Server:
    config: MCPServerConfig
    timeout_s: float
    state: ServerState
    session: Any = None
    tools: list[Any] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    broken: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    errlog: Any = None
    pids: set[int] = field(default_factory=set)


class MCPHub:
    def __init__(
        self,
        servers: dict[str, MCPServerConfig],
        settings: Settings,
        *,
        builtin: bool | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """``builtin``: run the built-in server (default: ``settings.tools.builtin``).
        ``config_file``: the settings file this process read (``LoadedSettings.config_file_used``),
        so the built-in server's status tools read the same one."""
        self.settings = settings
        use_builtin = settings.tools.builtin if builtin is None else builtin
        configs = {n: c for n, c in servers.items() if not c.disabled}
        if use_builtin and BUILTIN_NAME not in configs:
            configs = {BUILTIN_NAME: builtin_server_config(settings, config_file), **configs}
        self._servers: dict[str, _Server] = {}
        for name, cfg in configs.items():
            timeout = settings.tools.server_timeouts.get(name) or cfg.timeout or settings.tools.call_timeout_s
            transport = cfg.transport
            self._servers[name] = _Server(cfg, timeout, ServerState(name, "stopped", transport=transport))
        self._listeners: list[Callable[[dict[str, ServerState]], None]] = []
        self._index: dict[str, tuple[str, str]] = {}
        self._tools: list[HubTool] = []
        self._closed = False

    # -- public API ----------------------------------------------------------------------------

    async def start(self, wait: bool = True) -> None:
        """Start every server concurrently; with ``wait``, return when each is ready or failed."""
        for srv in self._servers.values():
            if srv.task is None:
                srv.task = asyncio.create_task(self._run(srv), name=f"mcp:{srv.config.name}")
        if wait:
            await self.wait_ready()

    async def wait_ready(self, timeout: float | None = None) -> None:
        limit = timeout or self.settings.tools.startup_timeout_s + 5
        waits = [self._settled(s) for s in self._servers.values()]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), limit)

    async def _settled(self, srv: _Server) -> None:
        # No single event marks "ready, failed or stopped"; a short poll is the simple bounded wait.
        while not srv.ready.is_set() and srv.state.status not in ("failed", "stopped"):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def add_listener(self, callback: Callable[[dict[str, ServerState]], None]) -> Callable[[], None]:
        """Call ``callback(states)`` on the event loop whenever a server's state changes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def states(self) -> dict[str, ServerState]:
        return {name: s.state for name, s in self._servers.items()}

    def tools(self) -> list[HubTool]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self._tools]

    def tool(self, name: str) -> HubTool | None:
        return next((t for t in self._tools if t.name == name), None)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        t0 = time.perf_counter()
        if name not in self._index:
            return ToolResult(f"unknown tool {name!r}", True)
        server_name, original = self._index[name]
        srv = self._servers[server_name]
        if srv.state.status != "ready" or srv.session is None:
            return ToolResult(
                f"MCP server {server_name!r} is {srv.state.status}"
                + (f": {srv.state.reason}" if srv.state.reason else ""),
                True,
            )
        try:
            result = await asyncio.wait_for(srv.session.call_tool(original, arguments), srv.timeout_s)
        except TimeoutError:
            return ToolResult(f"tool {name!r} timed out after {srv.timeout_s:g} s", True, time.perf_counter() - t0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the server died or answered garbage
            text = str(exc) or type(exc).__name__
            if "closed" in text.lower():
                srv.broken.set()
                text = f"MCP server {server_name!r} crashed during the call ({text}); it is being restarted"
            return ToolResult(text, True, time.perf_counter() - t0)
        parts: list[str] = []
        for item in result.content or []:
            kind = getattr(item, "type", "")
            if kind == "text":
                parts.append(item.text)
            elif kind == "image":
                parts.append(f"[image {getattr(item, 'mime_type', '')}]")
            elif kind == "resource":
                res = getattr(item, "resource", None)
                parts.append(getattr(res, "text", None) or f"[resource {getattr(res, 'uri', '')}]")
            else:
                parts.append(f"[{kind} content]")
        text = "\n".join(parts)
        if not text and result.structured_content is not None:
            import json

            text = json.dumps(result.structured_content, ensure_ascii=False)
        return ToolResult(text, bool(result.is_error), time.perf_counter() - t0, result.structured_content)

    async def aclose(self) -> None:
        self._closed = True
        for srv in self._servers.values():
            srv.stop.set()
        tasks = [s.task for s in self._servers.values() if s.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=8)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=3)
        for srv in self._servers.values():
            self._kill_leftovers(srv)
            _close_quietly(srv.errlog)
            srv.errlog = None
            self._set(srv, "stopped", reason="")

    async def __aenter__(self) -> MCPHub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _set(self, srv: _Server, status: str, **changes: Any) -> None:
        srv.state = replace(srv.state, status=status, **changes)
        for cb in list(self._listeners):
            try:
                cb(self.states())
            except Exception:  # noqa: BLE001 - a listener never breaks the hub
                pass

    def _rebuild_index(self) -> None:
        owners: dict[str, list[str]] = {}
        for name, srv in self._servers.items():
            if srv.state.status == "ready":
                for t in srv.tools:
                    owners.setdefault(t.name, []).append(name)
        tools: list[HubTool] = []
        index: dict[str, tuple[str, str]] = {}
        for name, srv in self._servers.items():
            if srv.state.status != "ready":
                continue
            for t in srv.tools:
                offered = t.name if len(owners[t.name]) == 1 else f"{_sanitize(name)}__{t.name}"
                ann = t.annotations
                read_only = bool(ann and ann.read_only_hint)
                # MCP's default for destructiveHint is true when readOnlyHint is false.
                destructive = (
                    bool(ann and ann.destructive_hint) if ann and ann.destructive_hint is not None else not read_only
                )
                tools.append(
                    HubTool(
                        offered, name, t.name, t.description or "", dict(t.input_schema or {}), read_only, destructive
                    )
                )
                index[offered] = (name, t.name)
        self._tools, self._index = tools, index

    def _stderr_tail(self, srv: _Server) -> str:
        if srv.errlog is None:
            return ""
        try:
            srv.errlog.flush()
            srv.errlog.seek(0, os.SEEK_END)
            size = srv.errlog.tell()
            srv.errlog.seek(max(0, size - STDERR_TAIL_CHARS))
            return str(srv.errlog.read())
        except (OSError, ValueError):
            return ""

    def _transport(self, srv: _Server) -> contextlib.AbstractAsyncContextManager[Any]:
        cfg = srv.config
        if cfg.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                # The SDK starts from its safe default environment (HOME, LOGNAME, PATH, SHELL, TERM,
                # USER) and adds exactly the entry's env: never the user's whole environment.
                command=cfg.command or "",
                args=list(cfg.args),
                env=dict(cfg.env) or None,
                cwd=str(cfg.cwd) if cfg.cwd else None,
            )
            return stdio_client(params, errlog=srv.errlog)
        if cfg.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(cfg.url or "", headers=dict(cfg.headers) or None)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers=dict(cfg.headers), timeout=httpx2.Timeout(srv.timeout_s, connect=10))
        return streamable_http_client(cfg.url or "", http_client=http)

    async def _run(self, srv: _Server) -> None:
        from mcp.client.session import ClientSession

        attempts = 0
        backoff = RESTART_BACKOFF_S
        name = srv.config.name
        while not srv.stop.is_set():
            self._set(srv, "starting" if attempts == 0 and srv.state.restarts == 0 else "restarting")
            _close_quietly(srv.errlog)  # the previous attempt's, already reported
            srv.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            srv.broken.clear()
            reason = ""
            before = _children()
            try:
                async with self._transport(srv) as streams:
                    read, write = streams[0], streams[1]
                    srv.pids |= _children() - before
                    async with ClientSession(read, write) as session:
                        await asyncio.wait_for(session.initialize(), self.settings.tools.startup_timeout_s)
                        listed = await asyncio.wait_for(session.list_tools(), self.settings.tools.startup_timeout_s)
                        off = set(srv.config.disabled_tools)
                        srv.session = session
                        srv.tools = [t for t in listed.tools if t.name not in off]
                        unknown = sorted(off - {t.name for t in listed.tools})
                        note = (
                            f"disabledTools names no tool of this server: {', '.join(map(repr, unknown))}"
                            if unknown
                            else ""
                        )
                        attempts, backoff = 0, RESTART_BACKOFF_S
                        self._set(srv, "ready", reason="", tool_count=len(srv.tools), stderr_tail="", note=note)
                        self._rebuild_index()
                        srv.ready.set()
                        reason = await self._watch(srv, session)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - includes anyio ExceptionGroups
                reason = _describe(exc)
            finally:
                srv.session = None
                srv.ready.clear()
                self._rebuild_index()
            if srv.stop.is_set():
                break
            tail = self._stderr_tail(srv)
            attempts += 1
            if attempts > self.settings.tools.restart_attempts:
                self._set(srv, "failed", reason=reason or "exited", stderr_tail=tail, tool_count=0)
                return
            self._set(
                srv,
                "restarting",
                reason=reason or "exited",
                stderr_tail=tail,
                tool_count=0,
                restarts=srv.state.restarts + 1,
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(srv.stop.wait(), backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX_S)
        _ = name

    async def _watch(self, srv: _Server, session: Any) -> str:
        """Wait until asked to stop, or the server is found dead. Returns why it ended."""
        while not srv.stop.is_set():
            stop = asyncio.ensure_future(srv.stop.wait())
            broken = asyncio.ensure_future(srv.broken.wait())
            done, pending = await asyncio.wait(
                {stop, broken}, timeout=PING_INTERVAL_S, return_when=asyncio.FIRST_COMPLETED
            )
            for p in pending:
                p.cancel()
            if srv.stop.is_set():
                return ""
            if broken in done:
                return "the server process exited"
            try:
                await asyncio.wait_for(session.send_ping(), PING_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001
                return f"the server stopped answering ({_describe(exc)})"
        return ""

    def _kill_leftovers(self, srv: _Server) -> None:
        for pid in list(srv.pids):
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                os.kill(pid, signal.SIGKILL)
        srv.pids.clear()


def _close_quietly(f: Any) -> None:
    if f is not None:
        with contextlib.suppress(OSError, ValueError):
            f.close()


def _children() -> set[int]:
    try:
        import psutil

        return {p.pid for p in psutil.Process().children(recursive=False)}
    except Exception:  # noqa: BLE001
        return set()


def _describe(exc: BaseException) -> str:
    # anyio wraps failures in ExceptionGroups; report the innermost real one.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer to the MCP handshake in time"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
