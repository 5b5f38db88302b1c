"""The garbage-collector policy of the app's process (see :func:`tune_gc`). A module of its own,
importing nothing, so the entry point can apply the thresholds before the heavy imports."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 50, 100)


def tune_gc() -> None:
    """Keep the cyclic garbage collector out of the frames.

    Everything imported so far (Textual, pydantic, the settings) lives as long as the process:
    ``gc.freeze()`` moves it out of the collector's way, so full collections do not traverse
    tens of thousands of long-lived objects again. And a streaming answer allocates a great deal
    (strips, segments, chunks): at Python's default thresholds (700, 10, 10) collections, full
    ones included, fall in the middle of frames. With these thresholds they are far rarer;
    reference counting still frees everything that is not in a cycle at once. Called in the program's one start
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

    With the thresholds above a young collection examines thousands of objects (a few
    milliseconds), and start-up alone leaves nearly enough for one: left to the threshold, that
    collection falls in the middle of the user's first question. The app calls this
    when start-up is done, after each turn and every few seconds while idle (never during a
    turn), so a question starts with an almost empty young generation."""
    if gc.get_count()[0] < minimum:
        return False
    gc.collect(0)
    return True
