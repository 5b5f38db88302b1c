"""Markdown that grows cheaply: one widget per answer, settled blocks rendered once, and only
what is on screen rendered at all.

Why not Textual's ``Markdown`` widget (and its ``get_stream()``): it mounts a widget or more per
Markdown block, and each mount restyles and reflows the chat; a widget per block is also measured
by rendering it, so every character would be rendered even though almost none is ever on screen
(tests/benchmarks/bench_tui.py compares them).

So an answer is ONE widget using Textual's line API (``render_line``), whatever its length:

* the text is cut into *blocks* (:mod:`.cutter`, :mod:`.blocks`) wherever Rich draws the
  blocks one by one as it draws the whole text; what is before the last cut is *settled* and
  never changes, what is after it is the *tail*;
* a settled block is rendered with Rich (:mod:`.render`) at most once per width, and kept as
  strips (a numbered list's items with the numbers and the number width of the whole list);
* a block that is not on screen need not be rendered: its height is *estimated* from its source.
  The bottom of a streaming answer (one screen) is always rendered exactly, a block scrolled into
  view is rendered when Textual asks for its lines, and once the answer is finished the remaining
  blocks are rendered in small slices while the app is idle (:meth:`_settle`; paused while an
  answer streams), so every height becomes exact;
* a write of :data:`UNCUT_MIN` characters or more (a flood, whose frames are held back while it
  pours in, ends in one such write; a long restored answer) is cut into blocks over its last
  :data:`UNCUT_KEEP` characters only: the text above is one *uncut* block, its height estimated,
  cut when it is scrolled into view or by the idle pass (:func:`.cutter.clean_cut` finds where
  cutting starts afresh, so the blocks are those cutting the whole text gives);
* the tail is re-rendered when it changes, at most once a frame (the chat calls
  :meth:`StreamingMarkdown.write` ~10 times a second with what arrived), and only the lines from
  the old tail down are marked for repainting: Textual's line cache keeps every other line. A
  code block or a table being streamed is the whole tail, and is rendered in pieces
  (:mod:`.pieces`);
* while streaming, the widget keeps blank lines below the text, room for about
  :data:`RESERVE_S` of it at the rate lines have been arriving, and grows by that much when the
  text reaches them. A frame that changes the widget's height re-lays out the whole screen and
  repaints every container around it (the costly part of a frame); with the reserve, most frames
  only repaint the few lines that changed. Sealing drops the reserve.

A frame costs O(tail + what is on screen), never O(answer), and no widget is ever mounted while
streaming.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ..appstate import AppState
from ..patches import OneLayout, forget_painted
from .blocks import GAP, Block, Run, unsettled
from .cutter import block_cuts, clean_cut, estimate_height, estimate_uncut, list_number
from .pieces import FencePieces, StreamedPieces, TablePieces
from .render import render_strips

if TYPE_CHECKING:
    from textual.geometry import Size
    from textual.timer import Timer

SETTLE_S = 0.05  # pause between two slices of the idle settling pass
SETTLE_BUDGET_S = 0.008  # rendering time per slice
SETTLE_PAUSED_S = 0.5  # while the app runs a turn, the settling pass looks again this often
RESERVE_S = 0.5  # while streaming, keep room below the text for this much more of it...
RESERVE_MIN, RESERVE_MAX = 4, 16  # ...in lines, within these bounds
UNCUT_MIN = 65_536  # a write of this many characters or more (a flood, a restored answer)...
UNCUT_KEEP = 16_384  # ...is cut into blocks over its last this many only: the rest waits (Block.uncut)


class StreamingMarkdown(OneLayout, StreamedPieces, Widget):
    """An answer's Markdown; :meth:`write` appends, :meth:`seal` says the answer is complete."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; padding: 0 1; }
    """

    def __init__(self, text: str = "", *, sealed: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self._blocks: list[Block] = []
        self._tail = Block("")
        self._tail_joined = False  # the tail is the next item of the last block's list
        self._renumbered = False  # items above the tail are to be drawn again (see _number_tail)
        self._relayout_due = False  # a block drawn on demand changed its height: measured after the frame
        self._sealed = False
        self._width = 0
        self._screen_lines = 40  # exact rendering covers this much of the bottom (the chat's height once laid out)
        self._offsets: list[int] = []  # first line of each part (blocks, then the tail)
        self._content = 0  # lines the text takes
        self._height = 0  # lines given to the layout: the text, plus the reserve while streaming
        self._settle_timer: Timer | None = None
        self._blank_strip: Strip | None = None
        self._grow_mark: tuple[float, int] | None = None  # (when, lines) at the last growth
        self._fence: FencePieces | None = None  # the code block being streamed, in pieces
        self._table: TablePieces | None = None  # the table being streamed, in pieces
        #: far from the view (set by the chat, see :meth:`release`): rendered lines are not kept
        self.far = False
        self._split(text)
        if sealed:
            self._seal()

    # -- the text ------------------------------------------------------------------------------

    @property
    def blocks(self) -> list[str]:
        """The sources of the settled blocks (then the tail, if any), in order (text not cut
        yet is cut first)."""
        if any(b.uncut for b in self._blocks):
            while (i := next((k for k, b in enumerate(self._blocks) if b.uncut), -1)) >= 0:
                self._expand(i)
            if self._width:
                self._relayout()
        return [b.source for b in self._blocks] + ([self._tail.source] if self._tail.source else [])

    def _parts(self) -> list[Block]:
        return [*self._blocks, self._tail] if self._tail.source.strip() else self._blocks

    def _split(self, chunk: str) -> None:
        """Append ``chunk``: settle the blocks it completes, keep the rest as the tail."""
        if not chunk:
            return
        self.text += chunk
        tail = self._tail.source + chunk
        if len(tail) >= UNCUT_MIN and not self._tail_joined and self._fence is None and self._table is None:
            # A flood's last write, a long restored answer: what is above its last screens is
            # cut into blocks only when it is scrolled into view or the app is idle. (Not where
            # the tail carries state of its own: the next item of a list, a code block or a
            # table drawn in pieces while streaming.)
            at = clean_cut(tail, len(tail) - UNCUT_KEEP)
            if at >= UNCUT_KEEP:
                uncut = Block(tail[:at])
                uncut.uncut = True
                if self._blocks:
                    self._blocks[-1].gap = GAP
                self._blocks.append(uncut)
                tail = tail[at:]
        self._cut(tail)

    def _expand(self, i: int, most: int | None = None) -> None:
        """Cut the uncut block ``i`` into blocks: all of it, or with ``most``, about its last
        ``most`` characters (the rest stays uncut). The blocks are those cutting the whole text
        gives, as the uncut text ends where :func:`clean_cut` found the cutting starts afresh."""
        block = self._blocks[i]
        source = block.source
        at = clean_cut(source, len(source) - most) if most is not None and len(source) > 2 * most else 0
        saved = self._blocks, self._tail, self._tail_joined, self._fence, self._table
        self._blocks, self._tail_joined, self._fence, self._table = [], False, None, None
        try:
            cuts, joins = block_cuts(source[at:])
            self._settle_pieces(source[at:], [*cuts, len(source) - at], joins, 0)
            new = self._blocks
        finally:
            self._blocks, self._tail, self._tail_joined, self._fence, self._table = saved
        if new:
            new[-1].gap = block.gap
        if at:
            block.source, block.estimated = source[:at], 0
            self._blocks[i + 1 : i + 1] = new
        else:
            self._blocks[i : i + 1] = new

    def _cut(self, tail: str, final: bool = False) -> None:
        """Cut ``tail`` (the end of the text) into settled blocks and a new tail. ``final``: the
        text is complete, so its last line is too (as if a line break followed it)."""
        base = len(self.text) - len(tail)  # where the tail starts in the text
        cuts, joins = block_cuts(tail + "\n" if final else tail)
        if final and not cuts:
            return  # the tail as it is (and as it was drawn)
        start = self._settle_pieces(tail, cuts, joins, base, final)
        self._tail = Block(tail[start:])
        self._number_tail()

    def _settle_pieces(self, tail: str, cuts: list[int], joins: set[int], base: int, final: bool = False) -> int:
        """The blocks of ``tail`` up to its last cut, settled; returns where the rest starts."""
        start = 0
        first_new = len(self._blocks)
        for cut in cuts:
            if final:
                cut = min(cut, len(tail))
            piece = tail[start:cut]
            if piece and not piece.isspace():  # runs of blank lines make no block
                last = self._blocks[-1] if len(self._blocks) > first_new else None
                if last is not None and self._tail_joined:
                    # the next item of a list that arrived whole with it (a flood, a restored
                    # answer): one block for both, as item blocks help only while streaming
                    last.source += piece
                    last.estimated = 0
                    if last.run is not None:
                        last.run.count += 1
                    self._tail_joined = False
                else:
                    block = Block(piece)
                    if self._fence is not None:
                        self._close_fence(block, base + start)
                    if self._table is not None:
                        self._close_table(block, base + start)
                    self._add_block(block)
            self._tail_joined = cut in joins
            start = cut
        return start

    def _add_block(self, block: Block) -> None:
        """Settle ``block`` (the tail's text up to a cut): the one before it is followed by no
        blank line if ``block`` is the next item of its list, and a numbered item joins its run."""
        last = self._blocks[-1] if self._blocks else None
        joined, self._tail_joined = self._tail_joined and last is not None, False
        if last is not None:
            last.gap = 0 if joined else GAP
        run = last.run if joined and last is not None else None
        if run is None:
            number = list_number(block.source)
            if number is not None:
                run = Run(number)
        if run is not None:
            block.run, block.number = run, run.first + run.count
            run.blocks.append(block)
            run.count += 1
        self._blocks.append(block)

    def _number_tail(self) -> None:
        """The tail as the next item of the last block's numbered list, if it is one; the run's
        items drawn for a narrower or wider number are drawn again (a 10th item, a 100th)."""
        last = self._blocks[-1] if self._blocks else None
        if last is not None:
            last.gap = 0 if self._tail_joined and self._tail.source.strip() else GAP
        run = last.run if last is not None and self._tail_joined and self._tail.source.strip() else None
        self._tail.run = run
        if run is not None:
            self._tail.number = run.first + run.count
        for r in {id(b.run): b.run for b in (last, self._tail) if b is not None and b.run is not None}.values():
            digits = len(str(self._run_last(r)))
            if r.digits and digits != r.digits:
                for block in r.blocks:
                    block.strips = None
                    block.provisional = block.exact = False
                self._renumbered = True
            r.digits = digits

    def _run_last(self, run: Run) -> int:
        """The number Rich pads a run's numbers for: its first, plus its count of items."""
        return run.first + run.count + (self._tail.run is run)

    def _seal(self) -> None:
        if self._tail.source.strip() and not self._tail.source.endswith("\n"):
            self._cut(self._tail.source, final=True)
        if self._tail.source.strip():
            # (an open code block keeps the strips of its pieces)
            tail, self._tail = self._tail, Block("")
            self._add_block(tail)
        else:
            self._tail = Block("")
        self._fence = self._table = None
        self._sealed = True

    @property
    def lines(self) -> int:
        """The height given to the layout (the text, plus the reserve while streaming)."""
        return self._height

    def write(self, chunk: str) -> None:
        """Append ``chunk`` (whatever arrived since the last frame) and redraw what changed."""
        if not chunk:
            return
        start = self._tail_offset()
        before = self._rows(start, self._content)
        self._split(chunk)
        if not self._width or not self.is_mounted:
            self.refresh(layout=True)
            return
        old = self._height
        self._measure()
        self._height = self._target_height()
        if self._height != old or self._renumbered:
            self._renumbered = False
            self.refresh(layout=True)
            return
        # Same height: repaint only the rows that differ (usually the last line or two).
        after = self._rows(start, self._content)
        same = 0
        for a, b in zip(before, after, strict=False):  # the two can differ in length
            if a is not b and a != b:
                break
            same += 1
        end = start + max(len(before), len(after))
        if start + same < end:
            self.refresh(Region(0, start + same, self._width, end - start - same))

    def seal(self) -> None:
        """The answer is complete: the tail becomes a block, the reserve goes; render the rest
        while idle."""
        self._seal()
        self.refresh(layout=True)
        self._schedule_settle()

    # -- measuring -----------------------------------------------------------------------------

    def _tail_offset(self) -> int:
        """The first line of the tail (where a write starts changing lines)."""
        if not self._offsets:
            return 0
        if len(self._offsets) > len(self._blocks):  # the tail is measured: its offset
            return self._offsets[len(self._blocks)]
        last = self._blocks[-1] if self._blocks else None
        return self._offsets[-1] + (last.lines if last else 0)

    def _rows(self, y0: int, y1: int) -> list[Strip | None]:
        """The rows ``y0``..``y1`` as drawn now (None where not rendered), without rendering."""
        out: list[Strip | None] = []
        for y in range(y0, y1):
            i = bisect_right(self._offsets, y) - 1
            part = self._part(i) if i < len(self._offsets) else None
            if part is not None:
                strips = part.strips
                row = y - self._offsets[i]
                out.append(None if strips is None else strips[row] if row < len(strips) else self._blank())
            else:
                out.append(self._blank())
        return out

    def _render_block(self, block: Block) -> bool:
        """Render ``block`` at the current width; True if its height changed."""
        streamed = block is self._tail and not self._sealed
        if not (streamed and (self._render_fence(block) or self._render_table(block))):
            hint = (block.number, self._run_last(block.run)) if block.run is not None else None
            strips: list[Strip] = []
            if block.source.strip():
                fast = self._fence_strips(block.source) if block.source.lstrip("\n")[:1] in ("`", "~") else None
                strips = fast if fast is not None else render_strips(self, block.source, self._width, hint)
            block.strips = strips
            block.provisional = False
        block.exact = False
        old, block.height = block.height, len(block.strips or ())
        return old != block.height

    def _measure(self) -> int:
        """Heights for every part (estimated where not rendered, exact for the bottom screen)
        and the offsets; returns the lines the text takes."""
        width = self._width
        if not width:
            return 0
        parts = self._parts()
        for block in parts:
            if block.strips is None and block.estimated != width:
                block.height = (estimate_uncut if block.uncut else estimate_height)(block.source, width)
                block.estimated = width
        covered = 0 if not self._sealed else self._screen_lines
        for block in reversed(parts):  # the bottom of a streaming answer is what a follower sees
            if covered >= self._screen_lines:
                break
            if block.uncut:  # (the text below it does not fill the screen)
                self._expand(self._blocks.index(block))
                return self._measure()
            if block.strips is None:
                self._render_block(block)
            covered += block.lines
        offsets, y, gap = [], 0, 0
        for block in parts:
            offsets.append(y)
            y += block.lines
            if block.height:
                gap = block.gap
        self._offsets = offsets
        self._content = max(0, y - gap)
        return self._content

    def _target_height(self) -> int:
        if self._sealed:
            return self._content
        if self._content > self._height or not self._height:
            return self._content + self._reserve()
        return self._height

    def _reserve(self) -> int:
        """Room for :data:`RESERVE_S` more of the answer, at the rate its lines have arrived."""
        import time

        now = time.monotonic()
        if self._grow_mark is None:
            self._grow_mark = (now, self._content)
            return RESERVE_MIN
        t0, lines0 = self._grow_mark
        self._grow_mark = (now, self._content)
        rate = (self._content - lines0) / max(1e-3, now - t0)
        return max(RESERVE_MIN, min(RESERVE_MAX, round(rate * RESERVE_S)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self._width:
            self._width = width
            for block in self._blocks:
                block.strips = None
                block.provisional = block.exact = False
            self._tail.strips = None
            self._fence = self._table = None
            self._height = 0
            if self._sealed:
                self._schedule_settle()
        self._screen_lines = self._view_height(viewport.height)
        self._measure()
        self._height = self._target_height()
        return self._height

    def _view_height(self, default: int) -> int:
        """The rows of the scrolling container that shows this answer (the chat): the bottom
        of a streaming answer is rendered exactly over that much, not the whole terminal's."""
        for node in self.ancestors:
            # a container that scrolls (Textual's ``is_scrollable`` is true of any container
            # with children: the answer's own Vertical, as tall as the answer)
            if isinstance(node, Widget) and node.styles.overflow_y in ("auto", "scroll"):
                # its size from the last layout, less its border and padding (the scrollbar is
                # at the side): ``scrollable_content_region`` asked the compositor for the
                # widget's region, which in the middle of a layout computes a full map of the
                # screen
                return node.container_size.height or default
        return default

    def notify_style_update(self) -> None:
        """A new theme: cached strips have the old colours."""
        super().notify_style_update()
        self._blank_strip = None
        for block in self._blocks:
            block.strips = None
            block.provisional = False
        self._tail.strips = None
        self._fence = self._table = None
        if self._width:
            self._measure()
        self._schedule_settle()

    # -- drawing -------------------------------------------------------------------------------

    def _part(self, i: int) -> Block | None:
        """Part ``i`` of what :meth:`_parts` lists (the blocks, then a non-blank tail)."""
        if 0 <= i < len(self._blocks):
            return self._blocks[i]
        if i == len(self._blocks) and self._tail.source.strip():
            return self._tail
        return None

    def render_line(self, y: int) -> Strip:
        i = bisect_right(self._offsets, y) - 1
        block = self._part(i) if i < len(self._offsets) else None
        if block is not None:
            if block.uncut:  # scrolled into view before the settling pass cut it: cut it now
                self._expand(i)
                self._measure()
                if not self._relayout_due:
                    self._relayout_due = True
                    self.call_after_refresh(self._relayout)
                return self.render_line(y)
            # scrolled into view before the settling pass reached it (or let go): render it now
            if block.strips is None:
                self.far = False  # (drawn: near the view)
            if block.strips is None and self._render_block(block) and not self._relayout_due:
                self._relayout_due = True
                self.call_after_refresh(self._relayout)
            row = y - self._offsets[i]
            if block.strips is not None and row < len(block.strips):
                return block.strips[row]
        return self._blank()

    def _blank(self) -> Strip:
        # the widget's rich_style walks its ancestors: one blank strip per width and theme
        if self._blank_strip is None or self._blank_strip.cell_length != self._width:
            self._blank_strip = Strip.blank(self._width, self.rich_style)
        return self._blank_strip

    def _relayout(self) -> None:
        self._relayout_due = False
        self._measure()
        self.refresh(layout=True)

    # -- settling: render what is still estimated, while the app is idle -----------------------

    def _schedule_settle(self, mounting: bool = False) -> None:
        if self._settle_timer is None and (self.is_mounted or mounting) and any(unsettled(b) for b in self._blocks):
            self._settle_timer = self.set_timer(SETTLE_S, self._settle)

    def on_mount(self) -> None:
        if self._sealed:
            # (Textual says a widget is mounted only once on_mount has returned: asked here
            # without ``mounting``, nothing was scheduled, and an answer first laid out before
            # this, a page of a restored chat, kept estimated heights and never settled)
            self._schedule_settle(mounting=True)

    def _settle(self) -> None:
        import time

        self._settle_timer = None
        if not self._width:
            return
        app = self.app
        if isinstance(app, AppState) and app.turn_running:
            # idle work: not while an answer streams (settling a long answer takes seconds of
            # CPU; the next answer's stream should not share it)
            self._settle_timer = self.set_timer(SETTLE_PAUSED_S, self._settle)
            return
        deadline = time.perf_counter() + SETTLE_BUDGET_S
        changed = redrawn = False
        for block in [b for b in reversed(self._blocks) if unsettled(b)]:
            if block.uncut:  # its last part cut into blocks, rendered in the next slices
                self._expand(self._blocks.index(block), UNCUT_KEEP)
                changed = True
                break
            redrawn |= block.provisional  # drawn already: its colours may change, not its height
            changed |= self._render_block(block)
            if self.far:  # rendered for its height only (after a resize): not kept
                block.strips, block.exact = None, True
            if time.perf_counter() > deadline:
                break
        if changed:
            self._relayout()
        elif redrawn:
            self.refresh()
        self._schedule_settle()

    @property
    def settled(self) -> bool:
        """Every block is rendered at the current width, exactly (every height exact)."""
        return bool(self._width) and not self._relayout_due and not any(unsettled(b) for b in self._blocks)

    # -- far from the view: rendered lines let go ----------------------------------------------

    @property
    def rendered_lines(self) -> int:
        """The rendered lines (strips) this answer holds: a count for tests and benchmarks."""
        held = sum(len(b.strips) for b in self._parts() if b.strips is not None)
        for pieces in (self._fence and self._fence.pieces, self._table and self._table.pieces):
            held += sum(map(len, pieces or ()))
        return held

    def release(self) -> None:
        """The chat says this answer is far from the view: let its rendered lines go (and
        Textual's cache of the lines it painted), keeping every height, so the layout does not
        move; a block is rendered again when it is drawn. Its text stays. Until it is drawn
        again (:attr:`far` is then false), the settling pass keeps nothing it renders either.
        Every strip carries segments and Textual's caches: otherwise a long chat would keep
        every answer it ever showed."""
        if not self._sealed:
            return  # (the chat never asks this of an answer still streaming)
        self.far = True
        dropped = False
        for block in self._blocks:
            if block.strips is not None and not block.provisional:
                block.strips, block.exact = None, True
                dropped = True
        if dropped:
            forget_painted(self)  # (not refresh(): it marks every line to paint again)
