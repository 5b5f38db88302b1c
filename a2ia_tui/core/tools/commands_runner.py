"""``run_command`` for the built-in server: an argv list (or a command line split with
:func:`shlex.split`), never a shell; the child runs in its own process group so a timeout kills
the whole group (children included); stdout and stderr are capped."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: After SIGTERM to the group on timeout, wait this long before SIGKILL.
KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float

    def render(self) -> str:
        head = f"$ {shlex.join(self.argv)}\n"
        status = "timed out (process group killed)" if self.timed_out else f"exit code {self.exit_code}"
        parts = [head + status]
        if self.stdout:
            parts.append("--- stdout ---\n" + self.stdout)
        if self.stderr:
            parts.append("--- stderr ---\n" + self.stderr)
        return "\n".join(parts)


def to_argv(command: str | list[str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv:
        raise ValueError("empty command")
    return argv


def _cap(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", "replace")
    if len(text) > limit:
        return text[:limit] + f"\n[... {len(text) - limit} more characters cut]"
    return text


def run_command(command: str | list[str], cwd: Path, timeout_s: float, max_chars: int) -> CommandResult:
    argv = to_argv(command)
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ValueError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise ValueError(f"not executable: {argv[0]}") from None
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    finally:
        # Whatever happened, nothing of this group outlives the call.
        _kill_group(proc.pid, signal.SIGKILL)
    return CommandResult(argv, None if timed_out else proc.returncode, _cap(out, max_chars), _cap(err, max_chars),
                         timed_out, time.monotonic() - t0)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
