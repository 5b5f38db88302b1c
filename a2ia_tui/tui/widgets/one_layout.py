"""One layout per change for the chat's widgets.

When a layout gives a widget a new size, Textual also sets the widget's ``virtual_size``, a
reactive that asks for *another* layout of the whole screen. That second pass matters for a
scrollable widget (its scrollbars depend on it) and for nothing else: for a message in the chat it
re-arranged the screen and repainted the chat once more after every mount and every growing frame
(~7 ms here each time). Widgets that use :class:`OneLayout` keep their virtual size up to date
without asking for that second pass. Never for a scrollable widget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.geometry import Size


class OneLayout:
    """Mixin (first in the bases) for a widget that is not scrollable."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # Textual's own call with layout=False (what it does for a scrolled-into-view widget).
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]
