"""The built-in MCP tool server: ``python -m a2ia_tui.core.tools.server --workspace DIR`` (also
``a2ia-tui mcp-server``), speaking MCP over stdio, made with the SDK's ``MCPServer`` (FastMCP).

Tools (all confined to the workspace root, see :mod:`.workspace`):

==================  ======================================================  =================
tool                what it does                                            annotations
==================  ======================================================  =================
list_directory      entries of a directory (type, size)                     read-only
read_file           a text file, optionally a line range; size-capped       read-only
search_files        RE2 regex search over files (like grep -rn)             read-only
write_file          create or overwrite a file                              destructive
edit_file           exact find/replace, keeps line endings and encoding     destructive
run_command         argv / shlex-split line, no shell; kills all it started destructive
gpu_status          GPUs, VRAM used/free, processes (from the monitor)      read-only
engine_status       managed engines (vLLM, local) and their state           read-only
==================  ======================================================  =================

The file tools open paths through :meth:`.workspace.Workspace.open` (no gap between check and
use, links followed only while they stay inside); secret files (:mod:`.secrets`) are read only
with ``include_secrets=true``, which the approval policy asks the user about; text handling
(encodings, line endings, RE2 patterns) is in :mod:`.textfiles`.

Errors raised by a tool become MCP error results with the one-line message.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, TypeVar, cast

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ..errors import A2IAError
from .commands_runner import run_command as _run_command
from .secrets import SecretRules
from .server_args import add_arguments
from .textfiles import compile_search_pattern, edit_bytes, sniff_encoding
from .workspace import Opened, Workspace

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

#: Tools the built-in server marks destructive (the approval policy asks before these).
DESTRUCTIVE_TOOLS = frozenset({"write_file", "edit_file", "run_command"})

P = ParamSpec("P")
R = TypeVar("R")


def _plain_errors(fn: Callable[P, R]) -> Callable[P, R]:
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

        return cast("Callable[P, R]", awrapper)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except expected as exc:
            raise ToolError(_one_line(exc)) from None

    return wrapper


def _short(path: str) -> str:
    """A path as shown in an error: a hostile 300 KB path makes no 300 KB message."""
    return path if len(path) <= 200 else path[:200] + "…"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {_short(str(exc.filename))}" if exc.filename else exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def build_server(
    workspace: Workspace,
    *,
    max_read_bytes: int = 1_000_000,
    max_output_chars: int = 50_000,
    command_timeout_s: float = 60.0,
    config_path: str | None = None,
    secrets: SecretRules | None = None,
) -> MCPServer:
    server = MCPServer(
        "a2ia", instructions=f"File, search and command tools confined to {workspace.root}.", log_level="ERROR"
    )

    def tool(annotations: ToolAnnotations) -> Callable[[Callable[P, R]], Callable[P, R]]:
        def register(fn: Callable[P, R]) -> Callable[P, R]:
            return server.tool(annotations=annotations)(_plain_errors(fn))

        return register

    rules = secrets if secrets is not None else _secret_rules(config_path)

    def open_file(path: str, flags: int = os.O_RDONLY) -> Opened:
        try:
            return workspace.open(path, flags)
        except FileNotFoundError:
            raise ValueError(f"not a file: {_short(path)} (it does not exist)") from None
        except IsADirectoryError:
            raise ValueError(f"not a file: {_short(path)} (it is a directory)") from None

    def secret_of(opened: Opened, asked: str) -> str | None:
        lexical = os.path.join(workspace.root, asked) if not os.path.isabs(asked) else asked
        return rules.reason(opened.path) or rules.reason(lexical)

    @tool(READ_ONLY)
    def list_directory(path: str = ".") -> str:
        """List a directory of the workspace: one entry per line, directories end with '/'."""
        opened = workspace.open(path, want="dir")
        try:
            with os.scandir(opened.fd) as it:
                entries = list(it)
        finally:
            os.close(opened.fd)
        rows: list[tuple[bool, str, str]] = []
        for entry in entries:
            if entry.is_symlink():
                # Shown as its target only when the target stays inside (a link never reveals
                # what lies outside, not even its size).
                rel = workspace.relative(opened.path / entry.name)
                try:
                    target = workspace.open(rel, want="any")
                except (OSError, A2IAError):
                    rows.append((False, entry.name, f"{entry.name}@  (link leading outside the workspace, or broken)"))
                    continue
                try:
                    size = os.fstat(target.fd).st_size
                finally:
                    os.close(target.fd)
                is_dir = target.is_dir
                shown = f"{entry.name}/" if is_dir else f"{entry.name}  ({size} bytes)"
                rows.append((is_dir, entry.name, f"{shown}  -> {workspace.relative(target.path)}"))
            elif entry.is_dir(follow_symlinks=False):
                rows.append((True, entry.name, entry.name + "/"))
            else:
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except OSError:
                    size = -1
                rows.append((False, entry.name, f"{entry.name}  ({size} bytes)"))
        rows.sort(key=lambda r: (not r[0], r[1].lower()))
        return "\n".join(r[2] for r in rows) or "(empty directory)"

    @tool(READ_ONLY)
    def read_file(
        path: str, start_line: int | None = None, end_line: int | None = None, include_secrets: bool = False
    ) -> str:
        """Read a text file of the workspace. start_line/end_line (1-based, inclusive) select a range.
        Secret files (keys, .env, credential stores) are read only with include_secrets=true, which
        asks the user first."""
        opened = open_file(path)
        with os.fdopen(opened.fd, "rb") as fh:
            why = secret_of(opened, path)
            if why and include_secrets is not True:
                raise ValueError(
                    f"{_short(path)} is {why}: reading it needs the user's approval (call again with include_secrets=true)"
                )
            size = os.fstat(fh.fileno()).st_size
            codec, bom = sniff_encoding(fh.read(4))
            fh.seek(len(bom))
            if start_line is not None or end_line is not None:
                # Stream the lines, so a range deep inside a huge file is reachable; the cap applies
                # to what is returned. newline="" keeps CRLF, so the text can be given to edit_file.
                lo = max(start_line or 1, 1)
                out: list[str] = []
                used = 0
                text_fh = io.TextIOWrapper(fh, encoding=codec, errors="replace", newline="")
                for no, line in enumerate(text_fh, 1):
                    if end_line is not None and no > end_line:
                        break
                    if no < lo:
                        continue
                    used += len(line.encode("utf-8", "surrogatepass"))
                    if used > max_read_bytes:
                        out.append(f"\n[... stopped at line {no - 1}: the range exceeds {max_read_bytes} bytes]")
                        break
                    out.append(line)
                text_fh.detach()
                return "".join(out)
            data = fh.read(max_read_bytes + 1)
        text = data[:max_read_bytes].decode(codec, "replace")
        if len(data) > max_read_bytes:
            text += f"\n[... file is {size} bytes; only the first {max_read_bytes} were read — ask for a line range]"
        return text

    @tool(READ_ONLY)
    def search_files(
        pattern: str, path: str = ".", glob: str = "*", max_results: int = 200, include_secrets: bool = False
    ) -> str:
        """Search files for an RE2 regular expression; answers 'file:line: text' lines. RE2 has no
        backreferences or lookaround. Hidden directories are skipped; secret
        files' contents (keys, .env, credential stores) only with include_secrets=true, which asks
        the user first."""
        rx = compile_search_pattern(pattern)
        glob = glob.removeprefix("**/") or "*"  # Path.match has no recursive "**"; it matches from the right
        base = workspace.open(path, want="any")
        hits: list[str] = []
        skipped = 0

        def scan(fd: int, real: Path, asked: str) -> bool:
            """Search one open file (closes it); True when max_results is reached."""
            nonlocal skipped
            with os.fdopen(fd, "rb") as fh:
                if rules.reason(real) or rules.reason(os.path.join(workspace.root, asked)):
                    if include_secrets is not True:
                        skipped += 1
                        return False
                codec, bom = sniff_encoding(fh.read(4))
                fh.seek(len(bom))
                lines = io.TextIOWrapper(fh, encoding=codec, errors="strict")
                try:
                    for no, line in enumerate(lines, 1):
                        if rx.search(line):
                            hits.append(f"{workspace.relative(real)}:{no}: {line.rstrip()[:300]}")
                            if len(hits) >= max_results:
                                return True
                except (UnicodeDecodeError, OSError, ValueError):  # binary or unreadable: not text
                    return False
                finally:
                    lines.detach()
            return False

        def outcome(stopped: bool) -> str:
            text = "\n".join(hits) or "no matches"
            if stopped:
                text += f"\n[stopped at {max_results} results]"
            if skipped:
                text += (
                    f"\n[skipped the contents of {skipped} secret file(s) (keys, .env, credential stores); "
                    "search_files with include_secrets=true searches them after the user approves]"
                )
            return text

        if not base.is_dir:
            return outcome(scan(base.fd, base.path, path))
        try:
            # fwalk hands each directory as a descriptor and never descends through a link, so
            # the walk cannot be steered outside; linked files go through workspace.open.
            for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=base.fd, follow_symlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # .git, .venv...
                for name in sorted(filenames):
                    rel = os.path.normpath(os.path.join(dirpath, name))
                    if not PurePosixPath(rel).match(glob):
                        continue
                    real = base.path / rel
                    try:
                        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
                        if not stat.S_ISREG(os.fstat(fd).st_mode):
                            os.close(fd)
                            continue
                        os.set_blocking(fd, True)
                    except OSError as exc:
                        if exc.errno != errno.ELOOP:
                            continue
                        try:  # a link: followed only while it stays inside
                            linked = workspace.open(workspace.relative(real))
                        except (OSError, A2IAError):
                            continue
                        fd, real = linked.fd, linked.path
                    if scan(fd, real, workspace.relative(base.path / rel)):
                        return outcome(True)
        finally:
            os.close(base.fd)
        return outcome(False)

    @tool(WRITES)
    def write_file(path: str, content: str) -> str:
        """Create or overwrite a text file in the workspace (parent directories are created)."""
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("content is not valid Unicode (it holds a lone surrogate); nothing was written") from None
        opened = workspace.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, make_parents=True)
        with os.fdopen(opened.fd, "wb") as fh:
            fh.write(data)
        return f"wrote {len(data)} bytes to {workspace.relative(opened.path)}"

    @tool(WRITES)
    def edit_file(path: str, old_text: str, new_text: str) -> str:
        """Replace the exact text old_text (which must occur exactly once) with new_text. The
        file's line endings and encoding are kept; a line break in old_text also matches CRLF."""
        opened = open_file(path, os.O_RDWR)
        with os.fdopen(opened.fd, "r+b") as fh:
            raw = fh.read()
            out = edit_bytes(raw, old_text, new_text, _short(path))
            # Same descriptor for the read and the write: no window for a swapped link.
            fh.seek(0)
            fh.write(out)
            fh.truncate()
        return f"edited {workspace.relative(opened.path)}"

    @tool(RUNS)
    def run_command(command: str | list[str], cwd: str = ".", timeout_s: float | None = None) -> str:
        """Run a program without a shell: an argv list or a command line (no pipes, redirections
        or variables). Output is capped; on timeout the
        whole process group is killed."""
        where = workspace.resolve(cwd)
        result = _run_command(
            command, where, min(timeout_s or command_timeout_s, command_timeout_s), max_output_chars, env=_command_env()
        )
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


def _secret_rules(config_path: str | None) -> SecretRules:
    """The secret-file rules, with the history database and settings file a2ia is configured
    with (the defaults alone when the settings cannot be read: the tools still start)."""
    from ..config import load_settings

    try:
        loaded = load_settings(config_path)
    except A2IAError:
        return SecretRules.from_env(config_file=Path(config_path) if config_path else None)
    return SecretRules.from_env(history_db=loaded.settings.history.path, config_file=loaded.config_file_used)


async def _status(kind: str, config_path: str | None) -> dict[str, Any]:
    import asyncio

    from ..config import load_settings

    loaded = load_settings(config_path)
    # Both readers are synchronous (NVML calls, HTTP probes with a timeout): run them off the
    # server's event loop so other tool calls are not held up.
    if kind == "gpu":
        from ..monitor.gpu import read_gpu_status

        return await asyncio.to_thread(read_gpu_status, loaded.settings)
    from ..engines.status import read_engine_status

    return await asyncio.to_thread(read_engine_status, loaded.settings, loaded.paths)


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
