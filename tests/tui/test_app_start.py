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
