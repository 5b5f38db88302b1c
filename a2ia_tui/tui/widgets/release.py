"""Letting go of removed widgets at once."""

from __future__ import annotations

from textual.widget import Widget


def forget_removed(container: Widget) -> None:
    """Drop what ``container`` still remembers of the children just removed from it, so that
    they (and all they hold: rendered lines, the text of a whole chat) are garbage now.

    Textual keeps two things past a removal: the list of the container's displayed children
    (for ``:first-child`` and the like), rebuilt only when next asked for, which nothing does
    while the container stays empty; and its last four arrangements (each with every child
    widget), replaced only by later layouts. After a new chat both kept the old chat's widgets
    alive. Textual has no public call for the second; the guard keeps a later version that
    renames it from failing (the old widgets then go after a few layouts, as before)."""
    container.displayed_children  # noqa: B018 - read for its effect: the cached list is rebuilt
    clear = getattr(container, "_clear_arrangement_cache", None)
    if clear is not None:
        clear()


def forget_painted(widget: Widget) -> None:
    """Empty Textual's cache of the lines ``widget`` painted, and its set of lines to paint
    again. That set holds every line of a widget whose size changed and keeps the ones never
    painted since: for an answer far above the view, all of its lines (~40 KB an answer of
    3,000 tokens, for as long as the chat is open). ``refresh()`` fills the set with every
    line again; cleared instead, the lines are painted from scratch when they next show. No
    public call does this; the guard keeps a later Textual that renames it from failing."""
    cache = getattr(widget, "_styles_cache", None)
    clear = getattr(cache, "clear", None)
    if clear is not None:
        clear()


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
