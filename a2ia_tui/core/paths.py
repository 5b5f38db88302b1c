"""Private files and folders: what a2ia-tui writes about the user (chat history, engine logs and
pid files, the CLI's line history) is theirs alone.

Folders are 0700 and files 0600, whatever the umask; ones an older version left 0755/0644 are
tightened when they are next used (at start). Only paths the user owns are changed, and a
failure to change one (a read-only or foreign file system) is not an error: the file still works.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        st = path.stat()
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
            path.chmod(stat.S_IMODE(st.st_mode) & mode)


def private_dir(path: str | Path, *, tighten_existing: bool = True) -> Path:
    """``path`` as a folder only its owner can enter (created with its parents when missing:
    the parents a2ia-tui creates are private too). ``tighten_existing=False`` leaves a folder
    that already exists as it is (a folder the user chose, e.g. for ``history.path``)."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)  # mode is masked by the umask: fixed below
    for p in [*missing, *([path] if tighten_existing else [])]:
        _tighten(p, DIR_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """``path`` as a file only its owner can read: created empty with mode 0600 when missing
    (so there is no moment where it is readable by others), tightened when it exists. Missing
    folders above it are created private; existing ones are left alone (use :func:`private_dir`
    for a2ia-tui's own folders)."""
    path = Path(path)
    private_dir(path.parent, tighten_existing=False)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.close(fd)
    return path


def tighten_file(path: str | Path) -> None:
    """Make an existing file private (no-op when it does not exist)."""
    _tighten(Path(path), FILE_MODE)


def tighten_existing(paths: object) -> None:
    """At start: make what an older version left readable by others private (the data and state
    folders, the engine logs and pid files, the CLI's line history). Creates nothing. ``paths``
    is a :class:`~a2ia_tui.core.config.Paths`."""
    data_dir, state_dir = Path(paths.data_dir), Path(paths.state_dir)  # type: ignore[attr-defined]
    for folder in (data_dir, state_dir, state_dir / "logs", state_dir / "run"):
        if not folder.is_dir():
            continue
        _tighten(folder, DIR_MODE)
        if folder.name in ("logs", "run"):
            with contextlib.suppress(OSError):
                for child in folder.iterdir():
                    if child.is_file():
                        _tighten(child, FILE_MODE)
    for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"):
        tighten_file(data_dir / name)
    tighten_file(state_dir / "cli_history")
