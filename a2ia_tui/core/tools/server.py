"""The built-in MCP tool server: ``python -m a2ia_tui.core.tools.server --workspace DIR`` (also
``a2ia-tui mcp-server``), speaking MCP over stdio, made with the SDK's ``MCPServer`` (FastMCP).

Tools (all confined to the workspace root, see :mod:`.workspace`):

==================  ======================================================  =================
tool                what it does                                            annotations
==================  ======================================================  =================
list_directory      entries of a directory (type, size)                     read-only
read_file           a text file, optionally a line range; size-capped       read-only
search_files        regex search over files (like grep -rn)                 read-only
write_file          create or overwrite a file                              destructive
edit_file           exact find/replace in a file (must match exactly once) destructive
run_command         argv / shlex-split line, no shell; kills all it started destructive
gpu_status          GPUs, VRAM used/free, processes (from the monitor)      read-only
engine_status       managed engines (vLLM, local) and their state           read-only
==================  ======================================================  =================

Errors raised by a tool become MCP error results with the one-line message.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ..errors import A2IAError
from .commands_runner import run_command as _run_command
from .server_args import add_arguments
from .workspace import Workspace

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

#: Tools the built-in server marks destructive (the approval policy asks before these).
DESTRUCTIVE_TOOLS = frozenset({"write_file", "edit_file", "run_command"})


def _plain_errors(fn):
    """Expected failures (outside the workspace, not found, bad regex...) reach the model as the
    one-line message instead of the SDK's generic 'Error executing tool'."""
    import functools
    import inspect

    expected = (ValueError, OSError, A2IAError)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except expected as exc:
                raise ToolError(_one_line(exc)) from None

        return awrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except expected as exc:
            raise ToolError(_one_line(exc)) from None

    return wrapper


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def build_server(
    workspace: Workspace,
    *,
    max_read_bytes: int = 1_000_000,
    max_output_chars: int = 50_000,
    command_timeout_s: float = 60.0,
    config_path: str | None = None,
) -> MCPServer:
    server = MCPServer(
        "a2ia", instructions=f"File, search and command tools confined to {workspace.root}.", log_level="ERROR"
    )

    def tool(annotations: ToolAnnotations):
        def register(fn):
            return server.tool(annotations=annotations)(_plain_errors(fn))

        return register

    @tool(READ_ONLY)
    def list_directory(path: str = ".") -> str:
        """List a directory of the workspace: one entry per line, directories end with '/'."""
        target = workspace.resolve(path)
        if not target.is_dir():
            raise ValueError(f"not a directory: {path}")
        lines = []
        for entry in sorted(target.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower())):
            if entry.is_dir():
                lines.append(entry.name + "/")
            else:
                try:
                    size = entry.stat().st_size
                except OSError:
                    size = -1
                lines.append(f"{entry.name}  ({size} bytes)")
        return "\n".join(lines) or "(empty directory)"

    @tool(READ_ONLY)
    def read_file(path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        """Read a text file of the workspace. start_line/end_line (1-based, inclusive) select a range."""
        target = workspace.resolve(path)
        if not target.is_file():
            raise ValueError(f"not a file: {path}")
        size = target.stat().st_size
        if start_line is not None or end_line is not None:
            # Stream the lines, so a range deep inside a huge file is reachable; the cap applies
            # to what is returned.
            lo = max(start_line or 1, 1)
            out: list[str] = []
            used = 0
            with target.open("r", encoding="utf-8", errors="replace") as fh:
                for no, line in enumerate(fh, 1):
                    if end_line is not None and no > end_line:
                        break
                    if no < lo:
                        continue
                    used += len(line.encode("utf-8"))
                    if used > max_read_bytes:
                        out.append(f"\n[... stopped at line {no - 1}: the range exceeds {max_read_bytes} bytes]")
                        break
                    out.append(line)
            return "".join(out)
        with target.open("rb") as fh:
            data = fh.read(max_read_bytes + 1)
        text = data[:max_read_bytes].decode("utf-8", "replace")
        if len(data) > max_read_bytes:
            text += f"\n[... file is {size} bytes; only the first {max_read_bytes} were read — ask for a line range]"
        return text

    @tool(READ_ONLY)
    def search_files(pattern: str, path: str = ".", glob: str = "*", max_results: int = 200) -> str:
        """Search files under a directory for a regular expression; answers 'file:line: text' lines."""
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        base = workspace.resolve(path)
        hits: list[str] = []
        files = [base] if base.is_file() else sorted(p for p in base.rglob(glob) if p.is_file())
        for file in files:
            if any(part.startswith(".") and part not in (".", "..") for part in file.relative_to(workspace.root).parts[:-1]):
                continue  # skip .git, .venv and other hidden trees
            try:
                workspace.resolve(file)
                with file.open("r", encoding="utf-8", errors="strict") as fh:
                    for no, line in enumerate(fh, 1):
                        if rx.search(line):
                            hits.append(f"{workspace.relative(file)}:{no}: {line.rstrip()[:300]}")
                            if len(hits) >= max_results:
                                return "\n".join(hits) + f"\n[stopped at {max_results} results]"
            except (UnicodeDecodeError, OSError, Exception):  # binary files, unreadable, escaping links
                continue
        return "\n".join(hits) or "no matches"

    @tool(WRITES)
    def write_file(path: str, content: str) -> str:
        """Create or overwrite a text file in the workspace (parent directories are created)."""
        target = workspace.resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        workspace.resolve(target.parent)
        target.write_text(content, encoding="utf-8")
        return f"wrote {len(content.encode('utf-8'))} bytes to {workspace.relative(target)}"

    @tool(WRITES)
    def edit_file(path: str, old_text: str, new_text: str) -> str:
        """Replace the exact text old_text (which must occur exactly once) with new_text."""
        target = workspace.resolve(path)
        if not target.is_file():
            raise ValueError(f"not a file: {path}")
        text = target.read_text(encoding="utf-8")
        count = text.count(old_text)
        if count == 0:
            raise ValueError("old_text was not found in the file (it must match exactly, whitespace included)")
        if count > 1:
            raise ValueError(f"old_text occurs {count} times; include more context so it matches once")
        target.write_text(text.replace(old_text, new_text, 1), encoding="utf-8")
        return f"edited {workspace.relative(target)}"

    @tool(RUNS)
    def run_command(command: str | list[str], cwd: str = ".", timeout_s: float | None = None) -> str:
        """Run a program in the workspace without a shell: an argv list, or a command line split
        like a shell would (no pipes, redirections or variables). Output is capped; on timeout the
        whole process group is killed."""
        where = workspace.resolve(cwd)
        result = _run_command(command, where, min(timeout_s or command_timeout_s, command_timeout_s), max_output_chars,
                              env=_command_env())
        return result.render()

    @tool(READ_ONLY)
    async def gpu_status() -> str:
        """GPUs with VRAM used/free/total, utilisation, temperature and the processes holding VRAM."""
        return json.dumps(await _status("gpu", config_path), indent=1)

    @tool(READ_ONLY)
    async def engine_status() -> str:
        """Managed local engines (vLLM, the bundled llama.cpp) with their state, URL and model."""
        return json.dumps(await _status("engine", config_path), indent=1)

    return server


async def _status(kind: str, config_path: str | None) -> dict[str, Any]:
    import asyncio

    from ..config import load_settings

    loaded = load_settings(config_path)
    try:
        if kind == "gpu":
            from ..monitor.gpu import read_gpu_status as read  # type: ignore[import-not-found]

            call_args: tuple[Any, ...] = (loaded.settings,)
        else:
            from ..engines.status import read_engine_status as read  # type: ignore[import-not-found]

            call_args = (loaded.settings, loaded.paths)
    except ImportError:
        what = "GPU monitoring" if kind == "gpu" else "engine management"
        raise ValueError(f"{what} is not available in this build") from None
    # Both readers are synchronous (NVML calls, HTTP probes with a timeout): run them off the
    # server's event loop so other tool calls are not held up.
    result = await asyncio.to_thread(read, *call_args)
    if asyncio.iscoroutine(result):
        result = await result
    return result


def _command_env() -> dict[str, str]:
    """What run_command's programs get: this server's environment (the hub already gave it the
    user's environment without a2ia's secrets) less any secret-named A2IA_* variable, for a server
    started some other way (another MCP client's entry)."""
    import os

    from ..childenv import user_env

    return user_env(None, os.environ)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="a2ia-tui mcp-server", description="a2ia's built-in MCP tool server (stdio)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    try:
        ws = Workspace(args.workspace)
    except Exception as exc:  # noqa: BLE001
        print(f"a2ia mcp-server: {exc}", file=sys.stderr)
        return 2
    from ..config import default_paths
    from . import children

    # Subreaper, stragglers of a server that crashed killed, and every descendant killed when
    # this server quits (stdin closed), on SIGTERM and on SIGHUP.
    for note in children.install(default_paths().run_dir / "commands"):
        print(f"a2ia mcp-server: {note}", file=sys.stderr)
    server = build_server(
        ws,
        max_read_bytes=args.max_read_bytes,
        max_output_chars=args.max_output_chars,
        command_timeout_s=args.command_timeout,
        config_path=getattr(args, "config", None),
    )
    try:
        server.run("stdio")
    finally:
        children.kill_everything()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DESTRUCTIVE_TOOLS", "build_server", "main"]
