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
