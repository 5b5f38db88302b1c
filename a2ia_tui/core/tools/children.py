"""Every process ``run_command`` starts, found, recorded and killed: nothing it starts outlives
its call, the tool server, or a crash of either.

- The tool server becomes a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``,
  :func:`become_subreaper`): a descendant whose parent exits (a double fork, a daemon that called
  ``setsid``) is reparented to the server instead of to init, so it stays in the server's process
  tree where psutil finds it, whatever process group or session it moved to. The server reaps
  those orphans (:func:`reap_orphans`); ``subprocess`` reaps the commands it started itself.
- A :class:`Run` (one per call) records every process of its command as it is found: its own
  tree, and orphans reparented to the server that no other call in flight has claimed. Each is
  kept as (pid, create time) in a 0600 state file, ``<state>/run/commands/<server pid>.json``.
- :meth:`Run.kill` (at the end of the call, on timeout, always) kills them all, looking again
  until a look finds nothing new (a process can fork while it is being killed).
- :func:`kill_everything` (when the server quits, on SIGTERM and SIGHUP: :func:`install`) kills
  every descendant of the server and removes its state file.
- A server killed with SIGKILL leaves its state file behind: the next server to start
  (:func:`kill_stragglers`) kills the processes listed there whose pid AND create time still
  match (a reused pid is left alone), unless the server that wrote it is still alive.

Without ``prctl`` (not Linux) a command's own tree and process group are still killed; a daemon
that left both escapes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

#: Two start times closer than this are the same process (both read from /proc on one boot).
CREATE_TIME_TOLERANCE_S = 0.05
#: Rounds of "look, kill what was found" before giving up on a process that keeps forking.
KILL_ROUNDS = 20
PR_SET_CHILD_SUBREAPER = 36

_lock = threading.RLock()
_runs: set[Run] = set()
_state_file: Path | None = None
#: (pid, create time) of every process some call recorded and that is not known dead.
_recorded: dict[int, float] = {}


def become_subreaper() -> bool:
    """Orphaned descendants reparent to this process (Linux). False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _children_map() -> dict[int, list[psutil.Process]]:
    """Every process by its parent's pid, read in one pass."""
    kids: dict[int, list[psutil.Process]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info.get("ppid")
        if ppid is not None:
            kids.setdefault(ppid, []).append(proc)
    return kids


def _descendants(kids: dict[int, list[psutil.Process]], pid: int) -> list[psutil.Process]:
    out: list[psutil.Process] = []
    todo = [pid]
    seen = {pid}
    while todo:
        for child in kids.get(todo.pop(), []):
            if child.pid not in seen:
                seen.add(child.pid)
                out.append(child)
                todo.append(child.pid)
    return out


def _key(proc: psutil.Process) -> tuple[int, float] | None:
    try:
        return proc.pid, proc.create_time()
    except psutil.Error:
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class Run:
    """The processes of one ``run_command`` call: its Popen and what it started."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.found: dict[int, psutil.Process] = {}
        with _lock:
            _runs.add(self)
        self.scan()

    def scan(self) -> None:
        """Record the command's processes alive now (its tree, and unclaimed orphans)."""
        with _lock:
            roots = {r.popen.pid for r in _runs}
        kids = _children_map()  # one pass over /proc for the whole look
        candidates: list[psutil.Process] = []
        for child in kids.get(os.getpid(), []):
            if child.pid != self.popen.pid and child.pid in roots:
                continue  # another call's command
            # Our command, or an orphan reparented to us (subreaper): the call that sees it
            # first owns it.
            candidates.append(child)
            candidates += _descendants(kids, child.pid)
        changed = False
        with _lock:
            claimed = {pid for r in _runs if r is not self for pid in r.found}
            for proc in candidates:
                if proc.pid in self.found or proc.pid in claimed or not _alive(proc):
                    continue
                key = _key(proc)
                if key is None:
                    continue
                self.found[proc.pid] = proc
                _recorded[key[0]] = key[1]
                changed = True
            if changed:
                _save()

    def signal_all(self, sig: int) -> None:
        """Send ``sig`` to the command's process group and every process found."""
        self.scan()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)
        for proc in list(self.found.values()):
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # psutil checks the process is still the one found

    def kill(self) -> None:
        """SIGKILL everything the command started, until a look finds nothing alive; forget it."""
        for n in range(KILL_ROUNDS):
            self.signal_all(signal.SIGKILL)
            reap_orphans()
            if not any(_alive(p) for p in self.found.values() if p.pid != self.popen.pid):
                break
            time.sleep(0.01 * (n + 1))  # a SIGKILLed process takes a moment to become a zombie
        with _lock:
            _runs.discard(self)
            for pid in self.found:
                _recorded.pop(pid, None)
            _save()


def reap_orphans() -> None:
    """Collect the exit status of dead orphans reparented to this process (subreaper duty);
    never of a Popen still owned by a call (its ``wait`` needs it)."""
    with _lock:
        roots = {r.popen.pid for r in _runs}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children(recursive=False):
            if child.pid in roots:
                continue
            with contextlib.suppress(ChildProcessError, OSError, psutil.Error):
                if child.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(child.pid, os.WNOHANG)


def kill_everything() -> None:
    """Kill every descendant of this process (the server is quitting) and drop the state file."""
    me = psutil.Process()
    for _ in range(KILL_ROUNDS):
        try:
            procs = me.children(recursive=True)
        except psutil.Error:
            break
        procs = [p for p in procs if _alive(p)]
        if not procs:
            break
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        reap_orphans()
        time.sleep(0.01)
    # Recorded processes that left the tree (only possible without a subreaper).
    with _lock:
        for pid, ct in list(_recorded.items()):
            _kill_if_same(pid, ct)
        _recorded.clear()
        if _state_file is not None:
            with contextlib.suppress(OSError):
                _state_file.unlink()


def _kill_if_same(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) >= CREATE_TIME_TOLERANCE_S:
            return False  # the pid now belongs to another process
        proc.kill()
        return True
    except psutil.Error:
        return False


# -- the state file ----------------------------------------------------------------------------


def _save() -> None:
    """Write the recorded processes (caller holds the lock). Best effort: a read-only state dir
    must not fail a command."""
    if _state_file is None:
        return
    me = psutil.Process()
    data = {"server": [me.pid, me.create_time()], "procs": [[pid, ct] for pid, ct in _recorded.items()]}
    tmp = _state_file.with_name(_state_file.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, _state_file)
    except OSError:
        pass


def kill_stragglers(directory: Path) -> list[str]:
    """Kill what the state files of dead servers list, where pid and create time both match.
    Returns one-line notes (malformed files, processes killed)."""
    notes: list[str] = []
    try:
        files = sorted(directory.glob("*.json"))
    except OSError:
        return notes
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            server = data["server"]
            procs = [(int(pid), float(ct)) for pid, ct in data["procs"]]
            server_pid, server_ct = int(server[0]), float(server[1])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            notes.append(f"malformed state file {path.name}: removed, nothing killed")
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if server_pid != os.getpid() and _same_process_alive(server_pid, server_ct):
            continue  # another a2ia's server, still running: its children are its own
        killed = sum(_kill_if_same(pid, ct) for pid, ct in procs)
        if killed:
            notes.append(f"killed {killed} process(es) left by a tool server that did not exit cleanly")
        with contextlib.suppress(OSError):
            path.unlink()
    return notes


def _same_process_alive(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return _alive(proc) and abs(proc.create_time() - create_time) < CREATE_TIME_TOLERANCE_S
    except psutil.Error:
        return False


def install(state_dir: Path | None) -> list[str]:
    """Set the tool server up: subreaper, stragglers of a crashed server killed, its own state
    file, and SIGTERM/SIGHUP/exit kill every descendant. Returns notes for its stderr."""
    global _state_file
    become_subreaper()
    notes: list[str] = []
    if state_dir is not None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            notes += kill_stragglers(state_dir)
            _state_file = state_dir / f"{os.getpid()}.json"
        except OSError as exc:
            notes.append(f"cannot use {state_dir} for run_command's state ({exc.strerror or exc})")
    import atexit

    atexit.register(kill_everything)

    def on_signal(signum: int, _frame: Any) -> None:
        kill_everything()
        # Then die of the same signal, as the sender expects.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(sig, on_signal)
    return notes


__all__ = ["Run", "become_subreaper", "install", "kill_everything", "kill_stragglers", "reap_orphans"]
