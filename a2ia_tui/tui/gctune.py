"""The garbage-collector policy of the app's process (see :func:`tune_gc`). A module of its own,
importing nothing, so the entry point can apply the thresholds before the heavy imports."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 50, 100)


def tune_gc() -> None:
    """Keep the cyclic garbage collector out of the frames.

    Everything imported so far (Textual, pydantic, the settings) lives as long as the process:
    ``gc.freeze()`` moves it out of the collector's way, so full collections do not traverse
    ~50k long-lived objects again (about 30 ms before the first frame, for nothing). And a
    streaming answer allocates a great deal (strips, segments, chunks), which at Python's default
    thresholds (700, 10, 10) means a young collection every few hundred objects and, in a 20k-token
    flood, ~170 ms of collections, a full one taking ~80 ms in the middle of a frame. With these
    thresholds young collections are ~15x rarer and full ones rarer still; reference counting
    still frees everything that is not in a cycle at once. Called in the program's one start
    path (and by the benchmark that imitates it), never when a module is imported.
    """
    gc.freeze()
    raise_thresholds()


def raise_thresholds() -> None:
    """The thresholds alone: the entry point calls this first, so that importing Textual and
    pydantic (which allocate a great deal) does not run a young collection every 700 objects."""
    gc.set_threshold(*GC_THRESHOLDS)


#: While the app is idle, the young generation is collected once this many objects wait in it.
YOUNG_IDLE = 2_000


def collect_young(minimum: int = YOUNG_IDLE) -> bool:
    """Run the young collection now, while nothing waits for it, if ``minimum`` or more objects
    wait for one; True if it ran.

    With the thresholds above a young collection examines ~10,000 objects and takes 1.5-4 ms.
    Start-up alone leaves ~9,500 (the widgets of the screen), and a 20,000-token flood allocates
    ~4,000 more (its blocks): left to the threshold, that collection fell in the middle of the
    user's first question, and of any question sent when the count was high. The app calls this
    when start-up is done, after each turn and every few seconds while idle (never during a
    turn), so a question starts with an almost empty young generation."""
    if gc.get_count()[0] < minimum:
        return False
    gc.collect(0)
    return True
