"""Ports and processes."""

from __future__ import annotations

import contextlib
import socket

import psutil


def free_port() -> int:
    """A loopback port free right now (the caller binds it soon after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def descendants() -> set[int]:
    """The pids below this process, zombies waiting to be reaped left out."""
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and every process below it."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(procs: list[psutil.Process]) -> list[str]:
    """The ones still running (a zombie waiting to be reaped counts as gone)."""
    out = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"pid {p.pid} {' '.join(p.cmdline())[:120]}")
    return out
