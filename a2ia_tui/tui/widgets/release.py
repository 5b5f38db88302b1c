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
