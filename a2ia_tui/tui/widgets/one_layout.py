"""One layout per change for the chat's widgets.

When a layout gives a widget a new size, Textual also sets the widget's ``virtual_size``, a
reactive that asks for *another* layout of the whole screen. For a message in the chat that
second pass re-arranges the screen and repaints the chat once more after every mount and every
growing frame; the chat itself did the same once its content overflowed
(its virtual size grows with every growing frame). Nothing needs it: the layout that set the
virtual size has already placed everything with it, anchoring included, and a scroll container's
scrollbars are updated in the same call (``_scroll_update``), a scrollbar that comes or goes
asking for its own layout. Widgets that use :class:`OneLayout` keep their virtual size up to date
without asking for that second pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.geometry import Size


class OneLayout:
    """Mixin (first in the bases): one layout per change of the widget's size or content."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # Textual's own call with layout=False (what it does for a scrolled-into-view widget).
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]
