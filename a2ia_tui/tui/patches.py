"""The app's only changes to Textual's behaviour, each for something a user sees or a long session
feels. Each has a test that shows Textual's own behaviour still needing it (tests/tui/test_anchored.py,
test_one_layout.py, test_patches.py): when that test fails, Textual has changed, and the patch can go.

- :class:`ClampedAnchor`: short content in an anchored pane stays at the top (Textual#6652).
- :class:`OneLayout`: one layout of the screen per change of a chat widget, not two (half the
  CPU of a streaming answer's frames).
- :func:`forget_removed`, :func:`forget_painted`: removed widgets and far answers' painted
  lines are let go at once (a chat left keeps no memory; a long one keeps only what is near the
  view). These two use Textual's private attributes, guarded: a Textual without them leaves the
  memory to be freed later, as before, and the tests say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widget import Widget

if TYPE_CHECKING:
    from textual.geometry import Size


class ClampedAnchor:
    """Mixin (before the container class in the bases): no negative vertical scroll offset.

    Textual 8.2.8 places an ``anchor()``-ed container's content so that its last line is at the
    bottom of the view, also when the content is shorter than the view: the scroll offset goes
    negative (set with ``set_reactive``, past the validator that clamps it) and stays so at every
    layout. The chat's first question and answer, and the trace's first tool calls, then hung at
    the bottom of their panes with empty rows above them. This keeps the offset at 0 or more,
    which is what the validator would do."""

    def set_reactive(self, reactive: Any, value: Any) -> None:
        if reactive is Widget.scroll_y or reactive is Widget.scroll_target_y:
            value = max(0, value)
        super().set_reactive(reactive, value)  # type: ignore[misc]


class OneLayout:
    """Mixin (first in the bases): one layout per change of the widget's size or content.

    When a layout gives a widget a new size, Textual also sets the widget's ``virtual_size``, a
    reactive that asks for *another* layout of the whole screen. For a message in the chat that
    second pass re-arranged the screen and repainted the chat once more after every mount and
    every growing frame; the chat itself did the same once its content overflowed. Nothing needs
    it: the layout that set the virtual size has already placed everything with it, anchoring
    included, and a scroll container's scrollbars are updated in the same call, a scrollbar that
    comes or goes asking for its own layout. This passes ``layout=False``, as Textual itself does
    for a widget scrolled into view."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


def forget_removed(container: Widget) -> None:
    """Drop what ``container`` still remembers of the children just removed from it, so that
    they (and all they hold: rendered lines, the text of a whole chat) are garbage now.

    Textual keeps two things past a removal: the list of the container's displayed children
    (rebuilt only when next asked for, which nothing does while the container stays empty), and
    its last arrangements (each with every child widget), replaced only by later layouts. After
    a new chat both kept the old chat's widgets alive. The first is public; the second is not."""
    container.displayed_children  # noqa: B018 - read for its effect: the cached list is rebuilt
    clear = getattr(container, "_clear_arrangement_cache", None)
    if clear is not None:
        clear()


def forget_painted(widget: Widget) -> None:
    """Empty Textual's cache of the lines ``widget`` painted, and its set of lines to paint again.

    That set holds every line of a widget whose size changed and keeps the ones never painted
    since: for an answer far above the view, all of its lines (~40 KB for an answer of 3,000
    tokens, for as long as the chat is open). ``refresh()`` fills the set with every line again;
    cleared instead, the lines are painted from scratch when they next show."""
    cache = getattr(widget, "_styles_cache", None)
    clear = getattr(cache, "clear", None)
    if clear is not None:
        clear()
