"""Following an engine's log file as the server writes it: complete lines go into a bounded
in-memory tail and to a callback (the phase parser)."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: How often the log file is read for new lines.
LOG_POLL_S = 0.05
TAIL_LINES = 500


#: A line that reports an error (a Python exception, an ERROR log line, a process that died).
_ERROR_LINE = re.compile(r"\b(?:[A-Z]\w*(?:Error|Exception)|Traceback|ERROR|FATAL)\b|error:|died")


def error_lines(lines: list[str], n: int = 20) -> list[str]:
    """The last ``n`` lines up to the last one that reports an error: what a user needs to see
    of a crash. Servers print noise after their error as they exit (vLLM's CPU build: hundreds of
    nanobind "leaked" lines), which the plain tail would show instead. The plain tail when no
    line reports an error."""
    for i in range(len(lines) - 1, -1, -1):
        if _ERROR_LINE.search(lines[i]):
            return lines[max(0, i - n + 1) : i + 1]
    return lines[-n:]


class LogFollower:
    def __init__(self, on_line: Callable[[str], None], tail_lines: int = TAIL_LINES) -> None:
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self._on_line = on_line
        self._fh: BinaryIO | None = None
        self._pending = b""

    async def follow(self, path: Path, offset: int, ended: asyncio.Event) -> None:
        """Read from ``offset`` until ``ended`` is set and nothing is left to read."""
        self._pending = b""
        with path.open("rb") as fh:
            fh.seek(offset)
            self._fh = fh
            try:
                while True:
                    if self.drain():
                        continue
                    if ended.is_set():
                        if self._pending:
                            self.feed(self._pending.decode("utf-8", "replace"))
                        return
                    await asyncio.sleep(LOG_POLL_S)
            finally:
                self._fh = None

    def drain(self) -> bool:
        """Read what the log file has now and handle its complete lines; False when nothing new."""
        fh = self._fh
        if fh is None:
            return False
        data = fh.read(65536)
        if not data:
            return False
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for raw in lines:
            self.feed(raw.decode("utf-8", "replace").rstrip("\r"))
        return True

    def drain_all(self) -> None:
        while self.drain():
            pass

    def feed(self, line: str) -> None:
        """Handle one line as if read from the file."""
        # tqdm progress bars rewrite one line with \r: keep the last state.
        line = line.split("\r")[-1]
        self.tail.append(line)
        self._on_line(line)
