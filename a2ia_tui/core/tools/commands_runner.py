"""``run_command`` for the built-in server: an argv list (or a command line split with
:func:`shlex.split`), never a shell. The child runs in its own process group; everything it
starts (its tree, and what double-forked or left the group: see :mod:`.children`) is killed at the
timeout and when the call ends. stdout and stderr are read as they come and capped while read
(the start and the end are kept), so a flood costs no memory."""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import children

#: After SIGTERM to the group on timeout, wait this long before SIGKILL.
KILL_GRACE_S = 2.0
#: How often the command's processes are looked for (and recorded for crash recovery) while it
#: runs; a look reads /proc once (~5 ms). A child that double-forks between two looks is still
#: found at the end: it reparented to the server (see :mod:`.children`).
SCAN_INTERVAL_S = 0.25
#: How long one wait for output may last (the exit and the deadline are checked between waits).
POLL_S = 0.05
READ_CHUNK = 65536


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
        status = "timed out (killed, with everything it started)" if self.timed_out else f"exit code {self.exit_code}"
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


class _Capture:
    """One output stream, capped while it is read: the first ``head`` bytes and the last ``tail``
    bytes are kept, the middle only counted (a ``yes`` must not fill the memory)."""

    def __init__(self, head: int, tail: int) -> None:
        self.head_cap, self.tail_cap = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self, limit: int) -> str:
        """At most ``limit`` characters: all of it, or its start and end with the cut counted."""
        kept = len(self.head) + len(self.tail)
        if kept == self.total:
            text = (bytes(self.head) + bytes(self.tail)).decode("utf-8", "replace")
            if len(text) <= limit:
                return text
            head_text, tail_text = text, text
        else:
            head_text = bytes(self.head).decode("utf-8", "replace")
            tail_text = bytes(self.tail).decode("utf-8", "replace")
        h = limit // 2
        t = limit - h
        shown_head, shown_tail = head_text[:h], tail_text[-t:] if t else ""
        cut = self.total - len(shown_head.encode("utf-8", "replace")) - len(shown_tail.encode("utf-8", "replace"))
        return f"{shown_head}\n[... {max(cut, 0)} of {self.total} bytes cut ...]\n{shown_tail}"


def run_command(
    command: str | list[str], cwd: Path, timeout_s: float, max_chars: int, env: dict[str, str] | None = None
) -> CommandResult:
    """Run ``command`` (no shell) in ``cwd``; read its output as it comes, capped; at the end
    (exit, timeout, error) kill everything it started (see :mod:`.children`)."""
    argv = to_argv(command)
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except FileNotFoundError:
        raise ValueError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise ValueError(f"not executable: {argv[0]}") from None
    # Keep about twice the characters in bytes at each end (UTF-8), cut to characters at the end.
    out = _Capture(2 * max_chars, 2 * max_chars)
    err = _Capture(2 * max_chars, 2 * max_chars)
    run = children.Run(proc)
    timed_out = False
    try:
        assert proc.stdout is not None and proc.stderr is not None  # both are PIPEs
        timed_out = _pump(proc, run, {proc.stdout: out, proc.stderr: err}, t0 + timeout_s)
    finally:
        # Whatever happened, nothing the command started outlives the call.
        run.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    return CommandResult(
        argv,
        None if timed_out else proc.returncode,
        out.text(max_chars),
        err.text(max_chars),
        timed_out,
        time.monotonic() - t0,
    )


def _pump(
    proc: subprocess.Popen[bytes], run: children.Run, captures: dict[IO[bytes], _Capture], deadline: float
) -> bool:
    """Read both pipes until they close. When the command exits, what it left running is killed
    (its pipes then close); at the deadline: SIGTERM, a grace, SIGKILL. True when it timed out."""
    sel = selectors.DefaultSelector()
    for stream in captures:
        os.set_blocking(stream.fileno(), False)
        sel.register(stream, selectors.EVENT_READ, captures[stream])
    timed_out = False
    give_up: float | None = None  # when set: stop reading at this time, even without EOF
    next_scan = 0.0
    try:
        while sel.get_map():
            now = time.monotonic()
            if give_up is not None and now >= give_up:
                break  # a process we could not find holds a pipe open
            if not timed_out and now >= deadline:
                timed_out = True
                run.signal_all(signal.SIGTERM)
                give_up = now + KILL_GRACE_S
            elif give_up is None and proc.poll() is not None:
                run.kill()  # the command is done; its leftovers go, and with them the pipes
                give_up = now + KILL_GRACE_S
            if now >= next_scan:
                run.scan()
                next_scan = now + SCAN_INTERVAL_S
            limit = (give_up if give_up is not None else deadline) - now
            for key, _ in sel.select(max(0.0, min(limit, POLL_S))):
                try:
                    data = os.read(key.fd, READ_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    key.data.feed(data)
                else:
                    sel.unregister(key.fileobj)
    finally:
        sel.close()
    return timed_out
