"""Anchored scroll containers that keep short content at the top.

Textual 8.2.8 (issue Textualize/textual#6652) places an ``anchor()``-ed container's content so
that its last line is at the bottom of the view, also when the content is shorter than the
view: the scroll offset goes negative (it is set with ``set_reactive``, past the validator that
clamps it) and stays so at every layout. The chat's first question and answer and the trace's
first tool calls then hung at the bottom of their panes with empty rows above them.
:class:`ClampedAnchor` keeps that offset at 0 or more, which is what the validator would do; a
test shows Textual's own container still doing it, so this can go once Textual is fixed.
"""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


class ClampedAnchor:
    """Mixin (before the container class in the bases): no negative vertical scroll offset."""

    def set_reactive(self, reactive: Any, value: Any) -> None:
        if reactive is Widget.scroll_y or reactive is Widget.scroll_target_y:
            value = max(0, value)
        super().set_reactive(reactive, value)  # type: ignore[misc]
