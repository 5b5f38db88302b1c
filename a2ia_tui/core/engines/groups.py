"""The process groups this process started: signalled as a whole, and SIGKILLed at exit when
still running (:func:`kill_all_started`, registered with :mod:`atexit` by the manager), so
nothing is orphaned."""

from __future__ import annotations

import os
import signal

#: Process groups started by this process and not yet stopped.
_STARTED_GROUPS: set[int] = set()


def track(pgid: int) -> None:
    """A group this process started: killed at exit unless stopped or forgotten first."""
    _STARTED_GROUPS.add(pgid)


def forget(pgid: int) -> None:
    """A group that is gone, or that the user chose to leave running."""
    _STARTED_GROUPS.discard(pgid)


def kill_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_all_started() -> None:
    """atexit safety net: SIGKILL every process group this process started and did not stop."""
    for pgid in list(_STARTED_GROUPS):
        kill_group(pgid, signal.SIGKILL)
        _STARTED_GROUPS.discard(pgid)
