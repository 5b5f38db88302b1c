"""The parts of an answer's Markdown (:class:`~.widget.StreamingMarkdown`): its blocks, each
rendered at most once per width, and the numbered lists cut into item blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.strip import Strip

GAP = 1  # blank lines between two blocks


class Block:
    __slots__ = ("estimated", "exact", "gap", "height", "number", "provisional", "run", "source", "strips", "uncut")

    def __init__(self, source: str) -> None:
        self.source = source
        self.strips: list[Strip] | None = None  # None: not rendered at the current width
        self.height = 0
        self.estimated = 0  # the width the height was estimated at (0: not estimated)
        self.provisional = False  # drawn from pieces rendered while streaming (see FencePieces)
        self.gap = GAP  # blank lines after it (none before the next item of a list)
        self.run: Run | None = None  # the numbered list it is an item of
        self.number = 0  # ...and its number there
        #: text not cut into blocks yet (a flood's, a restored answer's: cut and rendered when
        #: it is scrolled into view or the app is idle, see StreamingMarkdown._expand)
        self.uncut = False
        #: rendered once at the current width, then let go (far from the view): the height is
        #: exact, the strips are rendered again when it is drawn (StreamingMarkdown.release)
        self.exact = False

    @property
    def lines(self) -> int:
        """Its height and the gap after it (none after a block that draws nothing: HTML)."""
        return self.height + self.gap if self.height else 0


def unsettled(block: Block) -> bool:
    """``block`` is still to be rendered exactly by the settling pass: not rendered yet (its
    height estimated), or drawn from pieces while it streamed."""
    return (block.strips is None and not block.exact) or block.provisional


class Run:
    """A numbered list cut into blocks, an item each. Rich numbers a list's items from the
    first one's number (whatever the text says), and pads every number to the width of the first
    number plus the count of items: the items are drawn with those, from the whole list."""

    __slots__ = ("blocks", "count", "digits", "first")

    def __init__(self, first: int) -> None:
        self.first = first
        self.blocks: list[Block] = []
        self.count = 0  # items (a block may hold several)
        self.digits = 0  # the width its blocks were last drawn for
