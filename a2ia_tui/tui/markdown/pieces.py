"""A code block or a table being streamed (an answer's tail), rendered in pieces.

A long code block or table would otherwise be rendered whole again at every frame while it
grows. Its complete lines (rows) are rendered in pieces, each once, and a frame renders only
what arrived since the last piece; when the block settles, it keeps the pieces
(:meth:`StreamedPieces._close_fence`, :meth:`StreamedPieces._close_table`) until the idle
settling pass renders it whole. :class:`StreamedPieces` is a part of
:class:`~.widget.StreamingMarkdown`, which inherits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.strip import Strip

from .cutter import fence_parts, table_parts
from .render import cell_sizes, code_syntax, fast_code_strips, render_strips, safe_piece, strips_of

if TYPE_CHECKING:
    from textual.widget import Widget

    from .blocks import Block

    _WidgetBase = Widget
else:
    _WidgetBase = object  # a mixin: StreamingMarkdown is the widget

FENCE_PIECE = 4  # a code block being streamed is rendered in pieces of at least this many lines...
FENCE_PIECE_MAX = 96  # ...cut here where no better place is found (inside a long string)
TABLE_PIECE = 4  # a table being streamed is rendered in pieces of this many rows


class TablePieces:
    """The table being streamed (the tail): its complete rows rendered in pieces, each once.
    Rich lays a table's columns out from all its cells, so every piece is rendered after the
    *carriers*, the rows with the widest cell and the longest word of each column so far: a
    piece's rows are then drawn as in the whole table. A row that widens a column changes the
    carriers, and the pieces are rendered again (a few times in a long table)."""

    __slots__ = ("at", "carriers", "done", "foot", "head", "maxima", "measured", "pieces", "width", "widths")

    def __init__(self, at: int, head: str, width: int) -> None:
        self.at = at  # where the header line is in the answer's text
        self.head = head  # the header and delimiter lines
        self.width = width
        self.maxima: dict[tuple[int, int], tuple[int, str]] = {}  # (column, size): (value, row)
        self.carriers: tuple[str, ...] = ()
        self.widths: tuple[list[Strip], int] | None = None  # the head's strips, the carriers' lines
        self.done = 0  # rows in pieces
        self.measured = 0  # rows in the maxima
        self.pieces: list[list[Strip]] = []
        self.foot: Strip | None = None

    @staticmethod
    def _take(maxima: dict, row: str) -> None:
        for column, sizes in enumerate(cell_sizes(row)):
            for kind, value in enumerate(sizes):
                if value > maxima.get((column, kind), (-1, ""))[0]:
                    maxima[column, kind] = (value, row)

    def carriers_for(self, rows: list[str], start: int, last: str) -> tuple[str, ...]:
        """The carriers of the table with ``rows`` (complete: ``rows[start:]`` are new) and
        ``last`` (a row still arriving, not kept in the maxima)."""
        for row in rows[start:]:
            self._take(self.maxima, row)
        maxima = self.maxima
        if last.strip():
            maxima = dict(maxima)
            self._take(maxima, last)
        return tuple(dict.fromkeys(row for _, row in maxima.values()))


class FencePieces:
    """The top-level code block being streamed (the tail): its complete lines rendered in
    pieces, each once, so a frame renders only the lines since the last piece, not the whole
    block again (a long block would otherwise cost more at every frame)."""

    __slots__ = ("at", "done", "foot", "lang", "pieces", "width")

    def __init__(self, at: int, lang: str, width: int) -> None:
        self.at = at  # where the opening line is in the answer's text
        self.lang = lang
        self.width = width
        self.done = 0  # code lines in pieces
        self.pieces: list[list[Strip]] = []
        self.foot: Strip | None = None  # the block's bottom padding line


class StreamedPieces(_WidgetBase):
    """The pieces of the code block or table being streamed (``_fence``, ``_table``)."""

    if TYPE_CHECKING:
        # StreamingMarkdown's
        text: str
        _width: int
        _fence: FencePieces | None
        _table: TablePieces | None

    # -- a code block being streamed ---------------------------------------------------------------

    def _code_strips(self, code: str, lang: str, top: bool, bottom: bool) -> list[Strip]:
        padding = (int(top), 1, int(bottom), 1)
        strips = fast_code_strips(self, code, lang, padding, self._width)
        return strips if strips is not None else strips_of(self, code_syntax(code, lang, padding), self._width)

    def _fence_strips(self, source: str) -> list[Strip] | None:
        """A settled block that is a closed top-level code block, drawn as Rich's ``Markdown``
        draws it (:func:`fast_code_strips`); None for any other block, or where it is not certain
        that the two agree (a closing fence that is indented, an info string with an escape or an
        entity, which Markdown decodes first)."""
        parts = fence_parts(source)
        if parts is None or not parts[4]:
            return None
        lead, lang, lines, _, _ = parts
        opener = source[lead : source.find("\n", lead)]
        closer = source.rstrip("\n").rpartition("\n")[2]
        if closer[:1] not in ("`", "~") or "\\" in opener or "&" in opener:
            return None
        return fast_code_strips(self, "\n".join(lines).rstrip(), lang, (1, 1, 1, 1), self._width)

    def _foot(self, fence: FencePieces) -> Strip:
        """A code block's bottom padding line (what ends it when its last lines are blank)."""
        if fence.foot is None:
            fence.foot = self._code_strips("x", fence.lang, False, True)[-1]
        return fence.foot

    def _render_fence(self, block: Block) -> bool:
        """Draw the tail if it is a top-level code block still open: its complete lines in pieces
        (:data:`FENCE_PIECE` lines or more, each rendered once), then the lines since the last
        piece. False if the tail is anything else."""
        parts = fence_parts(block.source)
        if parts is None:  # (a closing fence still arriving: the block is drawn as closed)
            self._fence = None
            return False
        lead, lang, lines, last, _ = parts
        at = len(self.text) - len(block.source) + lead
        fence = self._fence
        if fence is None or (fence.at, fence.lang, fence.width) != (at, lang, self._width):
            fence = self._fence = FencePieces(at, lang, self._width)
        while len(lines) - fence.done > FENCE_PIECE:
            n = safe_piece(lang, lines, fence.done, FENCE_PIECE, FENCE_PIECE_MAX)
            if not n:
                break
            piece = "\n".join(lines[fence.done : fence.done + n])
            fence.pieces.append(self._code_strips(piece, lang, not fence.pieces, False))
            fence.done += n
        block.strips = [strip for piece in fence.pieces for strip in piece]
        block.strips += self._fence_rest(fence, [*lines[fence.done :], last])
        block.provisional = bool(fence.pieces)
        return True

    def _fence_rest(self, fence: FencePieces, lines: list[str]) -> list[Strip]:
        """The lines after the last piece, as the end of the block (as Rich draws a code block:
        its last lines' trailing blanks dropped)."""
        code = "\n".join(lines).rstrip()
        if not code and fence.pieces:
            return [self._foot(fence)]
        return self._code_strips(code, fence.lang, not fence.pieces, True)

    # -- a table being streamed ------------------------------------------------------------------

    def _table_rows(self, table: TablePieces, rows: list[str]) -> list[Strip]:
        """``rows`` of the table as drawn after its carriers."""
        head = table.head + "\n" + "".join(row + "\n" for row in table.carriers)
        if table.widths is None:
            carriers = render_strips(self, head, self._width)  # top edge, header, rule, carriers, bottom edge
            bare = render_strips(self, table.head, self._width)  # top edge, header, rule, bottom edge
            table.widths = (carriers[: len(bare) - 1], len(carriers) - 1)
            table.foot = carriers[-1]
        if not rows:
            return []
        strips = render_strips(self, head + "\n".join(rows), self._width)
        return strips[table.widths[1] : -1]

    def _render_table(self, block: Block) -> bool:
        """Draw the tail if it is a table still growing: its complete rows in pieces of
        :data:`TABLE_PIECE`, each rendered once while the column widths hold, then the rows since
        the last piece. False if the tail is anything else."""
        parts = table_parts(block.source)
        if parts is None:
            self._table = None
            return False
        lead, head, rows, last = parts
        at = len(self.text) - len(block.source) + lead
        table = self._table
        if table is None or (table.at, table.head, table.width) != (at, head, self._width):
            table = self._table = TablePieces(at, head, self._width)
        block.strips = self._table_strips(table, rows, last)
        block.provisional = True  # (the carriers are found from the text: drawn whole once idle)
        return True

    def _table_strips(self, table: TablePieces, rows: list[str], last: str) -> list[Strip]:
        """The table: its head, its complete ``rows`` in pieces, the rows after the last piece
        (and ``last``, a row still arriving), its bottom edge."""
        carriers = table.carriers_for(rows, table.measured, last)
        table.measured = len(rows)
        if carriers != table.carriers or table.widths is None:
            table.carriers, table.widths = carriers, None  # new widths: every piece is drawn again
            table.pieces, table.done = [], 0
        while len(rows) - table.done >= TABLE_PIECE:
            table.pieces.append(self._table_rows(table, rows[table.done : table.done + TABLE_PIECE]))
            table.done += TABLE_PIECE
        body = self._table_rows(table, rows[table.done :] + ([last] if last.strip() else []))
        assert table.widths is not None and table.foot is not None
        return [*table.widths[0], *(strip for piece in table.pieces for strip in piece), *body, table.foot]

    def _close_table(self, block: Block, at: int) -> None:
        """``block`` (at ``at`` in the text) has settled: if it is the table that was being
        streamed, it keeps the pieces, and only its last rows are rendered."""
        table, self._table = self._table, None
        parts = table_parts(block.source)
        if parts is None or table is None or not table.pieces or table.width != self._width:
            return
        lead, head, rows, last = parts
        if (at + lead, head) != (table.at, table.head) or last:
            return
        block.strips = self._table_strips(table, rows, "")
        block.height = len(block.strips)
        block.provisional = True

    def _close_fence(self, block: Block, at: int) -> None:
        """``block`` (at ``at`` in the text) has settled: if it is the code block that was being
        streamed, it keeps the pieces, and only its last lines are rendered."""
        fence, self._fence = self._fence, None
        parts = fence_parts(block.source)
        if parts is None or fence is None or not fence.pieces or fence.width != self._width:
            return
        lead, lang, lines, _last, _ = parts
        if (at + lead, lang) != (fence.at, fence.lang) or len(lines) < fence.done:
            return
        block.strips = [strip for piece in fence.pieces for strip in piece] + self._fence_rest(
            fence, lines[fence.done :]
        )
        block.height = len(block.strips)
        block.provisional = True
