"""Confinement of the built-in tools to one workspace root.

Two ways in:

- :meth:`Workspace.open` is what the file tools use. It opens a path with no gap between check
  and use: starting from a descriptor of the root, each component is opened relative to its
  parent's descriptor with ``O_NOFOLLOW`` (``O_DIRECTORY`` for directories). A symbolic link is
  never followed by the kernel; it is read (``readlink``) and its target's components are walked
  the same way, so a link whose target stays inside keeps working and one that leads outside is
  refused. ``..`` goes back to the parent descriptor already held and is refused at the root. A
  link swapped between two calls, or in the middle of one, can only be seen as one target or the
  other, each checked (Linux's ``openat2(RESOLVE_BENEATH)`` would do this in the kernel, but
  Python's standard library has no binding for it).
- :meth:`Workspace.resolve` answers a real path by string (``realpath``), for callers that hand a
  directory to another program (``run_command``'s ``cwd``) or classify a path; it is not used to
  open files.

``../etc/passwd``, ``/etc/passwd`` and a symlink pointing outside are all refused with
:class:`WorkspaceError`, before any I/O on the target.

Residual: a directory renamed out of the workspace by another process while a call holds its
descriptor is followed there (the tools themselves cannot rename outside the root).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import WorkspaceError
from ..textsafe import printable

if TYPE_CHECKING:
    from ..config import Settings

#: Symbolic links followed in one path, as the kernel's own limit (ELOOP beyond).
MAX_LINKS = 40

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


@dataclass(frozen=True)
class Opened:
    """A descriptor opened inside the workspace and the real path it was reached by."""

    fd: int
    path: Path
    is_dir: bool


class Workspace:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(os.path.realpath(Path(root).expanduser()))
        if not self.root.is_dir():
            raise WorkspaceError(f"workspace root {self.root} is not a directory")
        self._given = Path(os.path.abspath(Path(root).expanduser()))

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

    # -- opening without a gap ---------------------------------------------------------------

    def _inside(self, absolute: str) -> list[str] | None:
        """Components of an absolute path below the root, or None when it lies outside."""
        norm = os.path.normpath(absolute)
        for base in (str(self.root), str(self._given)):
            if norm == base:
                return []
            if norm.startswith(base.rstrip("/") + "/"):
                return norm[len(base.rstrip("/")) + 1 :].split("/")
        # Another spelling of the root (a link above it): its real path decides where to start;
        # the walk from the root's descriptor then checks every component again.
        real = os.path.realpath(norm)
        root = str(self.root)
        if real == root:
            return []
        if real.startswith(root.rstrip("/") + "/"):
            return real[len(root.rstrip("/")) + 1 :].split("/")
        return None

    def open(
        self,
        path: str | os.PathLike[str] = ".",
        flags: int = os.O_RDONLY,
        *,
        want: Literal["file", "dir", "any"] = "file",
        mode: int = 0o666,
        make_parents: bool = False,
    ) -> Opened:
        """Open ``path`` inside the workspace; the caller closes ``Opened.fd``.

        ``flags`` apply to the last component when ``want`` is ``file`` or ``any`` (``O_CREAT``
        creates it there; never through a link). ``make_parents`` creates missing directories
        on the way. A file must be a regular file: FIFOs, devices and sockets are refused
        (opening a FIFO would block the server).
        """
        raw = os.fspath(path)
        if "\x00" in raw:
            raise WorkspaceError("path contains a NUL character")
        shown = raw if len(raw) <= 200 else raw[:200] + "…"  # error messages stay one short line
        raw = os.path.expanduser(raw) if raw.startswith("~") else raw
        # A trailing "/" (or "/.") asks for a directory, as in the kernel: "file.txt/" is ENOTDIR.
        trailing_dir = raw.endswith(("/", "/."))
        if os.path.isabs(raw):
            parts = self._inside(raw)
            if parts is None:
                raise WorkspaceError(f"path {shown!r} is outside the workspace {self.root}")
        else:
            parts = raw.split("/")
        # "" and "." change nothing: dropped here, so "is this the last component" is `not todo`.
        todo = [p for p in reversed(parts) if p not in ("", ".")]
        stack: list[tuple[int, str]] = [(os.open(self.root, _DIR_FLAGS), "")]
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == "..":
                    if len(stack) == 1:
                        raise WorkspaceError(f"path {shown!r} is outside the workspace {self.root}")
                    os.close(stack.pop()[0])
                    continue
                last = not todo
                as_dir = not last or want == "dir" or trailing_dir
                open_flags = _DIR_FLAGS if as_dir else (flags | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC)
                try:
                    fd = os.open(name, open_flags, mode, dir_fd=stack[-1][0])
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        target = _readlink(name, stack[-1][0])
                        if target is not None:
                            links += 1
                            if links > MAX_LINKS:
                                raise WorkspaceError(f"path {shown!r}: too many levels of symbolic links") from None
                            if target.startswith("/"):
                                inside = self._inside(target)
                                if inside is None:
                                    raise WorkspaceError(
                                        f"path {shown!r} leads outside the workspace {self.root} (through a symbolic link)"
                                    ) from None
                                while len(stack) > 1:
                                    os.close(stack.pop()[0])
                                todo.extend(p for p in reversed(inside) if p not in ("", "."))
                            else:
                                todo.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
                            continue
                    if exc.errno == errno.ENOENT and make_parents and not last:
                        os.mkdir(name, 0o777, dir_fd=stack[-1][0])
                        todo.append(name)
                        continue
                    here = "/".join(n for _, n in stack[1:] if n)
                    raise OSError(exc.errno, exc.strerror, "/".join(p for p in (here, name) if p)) from None
                if as_dir:
                    stack.append((fd, name))
                    continue
                return self._checked(fd, stack, name, want, shown)
            # The path ended on a directory (".", "a/..", a link to a directory).
            if want == "file":
                raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
            real = self._real(stack, None)
            fd, _ = stack.pop()  # handed to the caller, not closed below
            return Opened(fd, real, True)
        finally:
            for fd, _ in stack:
                os.close(fd)

    def _real(self, stack: list[tuple[int, str]], name: str | None) -> Path:
        names = [n for _, n in stack[1:]] + ([name] if name else [])
        return self.root.joinpath(*names) if names else self.root

    def _checked(self, fd: int, stack: list[tuple[int, str]], name: str, want: str, shown: str) -> Opened:
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                if want == "file":
                    raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
                return Opened(fd, self._real(stack, name), True)
            if not stat.S_ISREG(st.st_mode):
                raise WorkspaceError(f"path {shown!r} is not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return Opened(fd, self._real(stack, name), False)


def _readlink(name: str, dir_fd: int) -> str | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None  # not a link (a genuine ENOTDIR) or gone


def broad_root_warning(root: str | os.PathLike[str], home: str | os.PathLike[str] | None = None) -> str | None:
    """A one-line warning when the workspace is the home directory or ``/`` (the tools then reach
    every file of the user, or of the machine), else None."""
    real = os.path.realpath(os.path.expanduser(os.fspath(root)))
    home_real = os.path.realpath(os.fspath(home) if home is not None else os.path.expanduser("~"))
    if real == "/":
        what = "the root of the filesystem (/)"
    elif real == home_real:
        what = f"your home directory ({real})"
    else:
        return None
    return printable(
        f"The tools' workspace is {what}: the file tools can read and write everything below it. "
        "Start a2ia in a project directory, or set tools.workspace."
    )


def settings_root_warning(settings: Settings) -> str | None:
    """:func:`broad_root_warning` for the built-in server these settings would start, if any."""
    tools = settings.tools
    if not (tools.enabled and tools.builtin):
        return None
    return broad_root_warning(tools.workspace or os.getcwd())
