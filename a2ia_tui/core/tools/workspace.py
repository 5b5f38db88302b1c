"""Confinement of the built-in tools to one workspace root.

Every path a tool receives is resolved against the root (relative paths) and then through the
filesystem (symlinks followed, ``..`` collapsed); the result must lie inside the root's own real
path. ``../etc/passwd``, ``/etc/passwd`` and a symlink pointing outside are all refused with
:class:`WorkspaceError`, before any I/O on the target.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import WorkspaceError


class Workspace:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(os.path.realpath(Path(root).expanduser()))
        if not self.root.is_dir():
            raise WorkspaceError(f"workspace root {self.root} is not a directory")

    def resolve(self, path: str | os.PathLike[str] = ".") -> Path:
        raw = Path(path).expanduser()
        candidate = raw if raw.is_absolute() else self.root / raw
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise WorkspaceError(f"path {str(path)!r} is outside the workspace {self.root}")
        return real

    def relative(self, path: Path) -> str:
        rel = path.relative_to(self.root)
        return "." if str(rel) == "." else rel.as_posix()
