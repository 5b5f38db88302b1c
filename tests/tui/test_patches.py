"""Textual still keeps what :func:`forget_removed` and :func:`forget_painted` let go of (see
:mod:`a2ia_tui.tui.patches`): if a first assertion here fails, Textual no longer does, and the
patch can go. (``ClampedAnchor`` and ``OneLayout`` have theirs in test_anchored.py and
test_one_layout.py.)"""

from __future__ import annotations

import gc
import weakref

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from a2ia_tui.tui.patches import forget_painted, forget_removed


class _Lines(App):
    def compose(self) -> ComposeResult:
        yield VerticalScroll(*(Static(f"line {i}") for i in range(60)), id="v")


async def _removed_children(forget: bool) -> bool:
    """Whether the children removed from a container are still alive after a collection."""
    app = _Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        box = app.query_one("#v")
        first = weakref.ref(box.children[0])
        await box.remove_children()
        if forget:
            forget_removed(box)
        await pilot.pause()
        gc.collect()
        return first() is not None


async def test_textual_keeps_removed_children_until_a_later_layout() -> None:
    assert await _removed_children(forget=False)  # if this fails, forget_removed can go
    assert not await _removed_children(forget=True)


async def test_textual_keeps_the_painted_lines_of_a_widget_far_from_the_view() -> None:
    app = _Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        box = app.query_one("#v")
        first = box.children[0]
        box.scroll_end(animate=False)
        for _ in range(3):
            await pilot.pause()
        assert not first.region.overlaps(box.region)  # far from the view
        painted = first._styles_cache  # Textual's private cache, looked at to show it is kept
        assert painted._cache  # if this fails, forget_painted can go
        forget_painted(first)
        assert not painted._cache and not painted._dirty_lines
        box.scroll_home(animate=False)
        for _ in range(3):
            await pilot.pause()
        assert first.region.overlaps(box.region) and "line 0" in first.render_line(0).text  # painted again
