"""The start path's garbage-collector tuning (see a2ia_tui.tui.factory.tune_gc)."""

from __future__ import annotations

import gc

from a2ia_tui.tui.factory import GC_THRESHOLDS, tune_gc


def test_tune_gc_freezes_what_is_loaded_and_raises_the_thresholds() -> None:
    old = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert GC_THRESHOLDS[0] > old[0]  # young collections rarer than Python's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)


async def test_the_start_screen_is_styled_once_whatever_the_terminal_size(tmp_path) -> None:
    """The size classes (-medium, -narrow) are set before the first widget is mounted: set by the
    first Resize instead, they restyled the whole start screen a second time (162 style
    applications at 120x40 against 110 on a wide terminal)."""
    from textual.css.stylesheet import Stylesheet

    from .app_helpers import build_app

    async def applications(size: tuple[int, int]) -> tuple[int, set[str]]:
        app, _ = build_app(tmp_path=tmp_path)
        app._startup = lambda: None  # the screen alone: no probes, no engines
        n = 0
        real_apply = Stylesheet.apply

        def apply(self, node, *args, **kwargs):
            nonlocal n
            n += 1
            return real_apply(self, node, *args, **kwargs)

        Stylesheet.apply = apply
        try:
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                return n, set(app.classes)
        finally:
            Stylesheet.apply = real_apply

    wide, wide_classes = await applications((160, 50))
    medium, medium_classes = await applications((120, 40))
    narrow, narrow_classes = await applications((80, 24))
    assert "-medium" in medium_classes and "-narrow" in narrow_classes
    assert not {"-medium", "-narrow"} & wide_classes
    assert medium <= wide * 1.1 and narrow <= wide * 1.1, (wide, medium, narrow)
