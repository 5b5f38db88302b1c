"""Handing a finished chat's memory back to the system."""

from __future__ import annotations


def give_back_memory() -> None:
    """Collect garbage, then ask glibc's allocator to hand its free memory back to the system
    (``malloc_trim``): after a new chat, the old chat's memory otherwise stays with the process
    as the ceiling set by its peak. Linux/glibc only; elsewhere (or without it) only collects."""
    import gc
    import sys

    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        pass
