"""The pid file of a managed engine (``<state>/run/<engine>.json``): pid, start time, process
group, argv (masked: secrets are never in argv anyway, vLLM's key goes through ``VLLM_API_KEY``),
digests of the command line as the kernel shows it, URL, model and log path. A later launch finds
a server left by a crashed session through it and may adopt or stop it, but only when pid, start
time and command line all match: never a process that merely reuses the pid."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from ..paths import private_file
from ..redact import mask_argv

#: How far a live process's start time may be from the recorded one and still be the same
#: process (both come from psutil on one boot; a reused pid starts seconds to days later).
CREATE_TIME_TOLERANCE_S = 0.05


def read_pidfile(path: Path) -> dict[str, Any] | None:
    """The pid file's record when its process is still alive and is the one started, else None
    (the file is removed). See :func:`check_pidfile` for the note that says why."""
    return check_pidfile(path)[0]


def check_pidfile(path: Path) -> tuple[dict[str, Any] | None, str]:
    """``(record, note)``. The record only when the process it names is alive and is the one a2ia
    started: its pid, its start time AND its command line match (a pid is reused after a reboot or
    a wrap; a file without a start time could name any process). Otherwise None, the file is
    removed, and ``note`` is one line when the file was malformed or named another process
    ("" for a plainly stale file, or none at all)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"pid file {path} is unreadable ({exc.strerror or exc}): ignored"
    problem = ""
    data: Any = None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        problem = "not JSON"
    if not problem:
        problem = _pidfile_problem(data)
    if problem:
        _remove_quietly(path)
        return None, f"pid file {path} is malformed ({problem}): removed, no process touched"
    pid, create_time = data["pid"], float(data["create_time"])
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            zombie = proc.status() == psutil.STATUS_ZOMBIE
            started = proc.create_time()
            cmdline = proc.cmdline()
    except (psutil.Error, OSError):
        _remove_quietly(path)
        return None, ""
    if zombie:
        _remove_quietly(path)
        return None, ""
    if abs(started - create_time) >= CREATE_TIME_TOLERANCE_S or not _cmdline_matches(cmdline, data):
        _remove_quietly(path)
        return None, (
            f"pid file {path} names pid {pid}, which is now another process "
            "(its start time or command line differ): removed, that process left alone"
        )
    return data, ""


def _pidfile_problem(data: Any) -> str:
    if not isinstance(data, dict):
        return "not a JSON object"
    pid = data.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        return "no valid pid"
    ct = data.get("create_time")
    if not isinstance(ct, (int, float)) or isinstance(ct, bool) or not ct > 0:
        return "no start time"
    argv = data.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return "no command line"
    cmdlines = data.get("cmdlines", [])
    if not isinstance(cmdlines, list) or not all(isinstance(c, str) for c in cmdlines):
        return "bad cmdlines"
    return ""


def _cmdline_matches(live: list[str], record: dict[str, Any]) -> bool:
    """The live command line is one recorded from the kernel (at start, when ready: a server may
    retitle itself), or ends with the argv we ran (a script's interpreter comes first)."""
    if not live:
        return False
    if cmdline_digest(live) in record.get("cmdlines", []):
        return True
    # the recorded argv is masked (no secret values): compare it with the live one masked alike
    live = mask_argv(live)
    argv = record["argv"]
    if live == argv:
        return True
    rest = argv[1:]
    return bool(rest) and len(live) >= len(argv) and live[-len(rest) :] == rest


def cmdline_digest(cmdline: list[str]) -> str:
    """A process's command line, recognisable but unreadable (it may hold a token)."""
    joined = "\0".join(cmdline).encode("utf-8", "surrogateescape")
    return hashlib.sha256(joined).hexdigest()


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def process_identity(pid: int) -> tuple[float | None, list[str]]:
    """``(start time, [digest of its command line])`` of a live process, as far as they can be read."""
    create_time = None
    cmdlines: list[str] = []
    with contextlib.suppress(Exception):
        import psutil

        proc = psutil.Process(pid)
        create_time = proc.create_time()
        cmdlines.append(cmdline_digest(proc.cmdline()))
    return create_time, cmdlines


def write_pidfile(path: Path, record: dict[str, Any]) -> None:
    """Write the record, readable by the user alone."""
    private_file(path).write_text(json.dumps(record, indent=1), encoding="utf-8")


def add_current_cmdline(path: Path, record: dict[str, Any]) -> None:
    """Once ready, add the command line as it is now: a server may have retitled itself."""
    with contextlib.suppress(Exception):
        import psutil

        now = psutil.Process(record["pid"]).cmdline()
        if now and cmdline_digest(now) not in record["cmdlines"]:
            record["cmdlines"].append(cmdline_digest(now))
            write_pidfile(path, record)
