"""Markdown that grows cheaply: one widget per answer, settled blocks rendered once, and only
what is on screen rendered at all.

Why not Textual's ``Markdown`` widget (and its ``get_stream()``): it mounts one widget (often
several) per Markdown block, and each mount restyles and reflows the chat. Measured here
(tests/benchmarks/bench_tui.py) that cost ~0.9 of a core at 150 tokens/s and made a 20k-token
flood 60-70x slower than the bare stream. An earlier version of this widget mounted one ``Static``
per settled block; a flood was still 10x the bare stream, because every ``Static`` is measured by
rendering it, so every character was rendered with Rich (and Pygments) during the flood even
though almost none of it was ever on screen.

So an answer is ONE widget using Textual's line API (``render_line``), whatever its length:

* the text is split at the last *block boundary* (a blank line outside a code fence); what is
  before it is *settled* and never changes, what is after it is the *tail* (less than a block);
* a settled block is rendered with Rich's ``Markdown`` (headings, lists, tables, highlighted code)
  at most once per width, and kept as strips;
* a block that is not on screen need not be rendered: its height is *estimated* from its source
  (wrapped source lines; code fences stand for the code block's padding). The bottom of a
  streaming answer (one screen) is always rendered exactly, a block scrolled into view is rendered when
  Textual asks for its lines, and once the answer is finished the remaining blocks are rendered in
  small slices while the app is idle (:meth:`_settle`; paused while an answer streams), so every
  height becomes exact;
* the tail is re-rendered when it changes, at most once a frame (the chat calls
  :meth:`StreamingMarkdown.write` ~10 times a second with what arrived), and only the lines from
  the old tail down are marked for repainting: Textual's line cache keeps every other line;
* while streaming, the widget keeps blank lines below the text, room for about
  :data:`RESERVE_S` of it at the rate lines have been arriving, and grows by that much when the
  text reaches them. A frame that changes the widget's height re-lays out the
  whole screen and repaints every container around it (the costly part of a frame); with the
  reserve, most frames only repaint the few lines that changed. Sealing drops the reserve.

A frame costs O(tail + what is on screen), never O(answer), and no widget is ever mounted while
streaming.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from .one_layout import OneLayout

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown
    from textual.geometry import Size

CODE_THEME = "monokai"
GAP = 1  # blank lines between two blocks
FENCE_PIECE = 4  # a code block being streamed is rendered in pieces of at least this many lines...
FENCE_PIECE_MAX = 96  # ...cut here where no better place is found (inside a long string)
SETTLE_S = 0.05  # pause between two slices of the idle settling pass
SETTLE_BUDGET_S = 0.008  # rendering time per slice
SETTLE_PAUSED_S = 0.5  # while the app runs a turn, the settling pass looks again this often
RESERVE_S = 0.5  # while streaming, keep room below the text for this much more of it...
RESERVE_MIN, RESERVE_MAX = 4, 16  # ...in lines, within these bounds


_markdown_class: type[RichMarkdown] | None = None


def render(text: str) -> RichMarkdown:
    """``text`` as Rich's ``Markdown``, built the cheap way (see :func:`markdown_class`)."""
    return (_markdown_class or markdown_class())(text, code_theme=CODE_THEME, hyperlinks=False)


def markdown_class() -> type[RichMarkdown]:
    """Rich's ``Markdown``, made cheaper to build and render block by block (this widget
    renders every block on its own, so per-instance set-up is paid per block):

    * one markdown-it parser for every block: Rich builds one per instance (~0.55 ms here, more
      than parsing a paragraph);
    * one Pygments lexer per language and one syntax theme: Rich looks the lexer up for every
      code block and builds a new theme, whose style cache then starts empty.

    What it draws is Rich's own (a test compares the two), except that a single newline inside a
    paragraph is kept as a line break. Built lazily: the first frame does not need Rich's
    Markdown or Pygments."""
    global _markdown_class
    if _markdown_class is not None:
        return _markdown_class
    from markdown_it import MarkdownIt
    from rich.markdown import CodeBlock, Markdown

    parser = MarkdownIt().enable("strikethrough").enable("table")  # what Rich's __init__ builds

    def parse(markup: str):
        # One change to what Rich draws: a single newline in a paragraph is a line break, not a
        # space. Models write for chat windows that keep their line breaks (a poem, an address,
        # "Q: …" / "A: …" lines); CommonMark runs those lines together into one paragraph.
        tokens = parser.parse(markup)
        for token in tokens:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"
        return tokens

    class _CodeBlock(CodeBlock):
        def __rich_console__(self, console, options):
            yield code_syntax(str(self.text).rstrip(), self.lexer_name, 1, theme_name=self.theme)

    class _Markdown(Markdown):
        elements = {**Markdown.elements, "fence": _CodeBlock, "code_block": _CodeBlock}

        def __init__(self, markup: str, code_theme: str = CODE_THEME, hyperlinks: bool = True) -> None:
            # the attributes Rich's __init__ sets, with its defaults
            self.markup = markup
            self.parsed = parse(markup)
            self.code_theme = code_theme
            self.justify = None
            self.style = "none"
            self.hyperlinks = hyperlinks
            self.inline_code_lexer = None
            self.inline_code_theme = code_theme

    _markdown_class = _Markdown
    return _Markdown


@lru_cache(maxsize=64)
def _lexer(name: str):
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:  # the options Syntax uses when it looks a lexer up by name
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return name  # Syntax falls back to plain text, as with Rich's own code blocks


@lru_cache(maxsize=8)
def _theme(name: str):
    from rich.syntax import Syntax

    return Syntax.get_theme(name)


def code_syntax(code: str, lang: str, padding: int | tuple[int, int, int, int], theme_name: str = CODE_THEME):
    """A code block's ``Syntax`` as Rich's Markdown builds it (its ``CodeBlock``), with the
    lexer and theme shared between blocks. ``padding`` other than 1: a piece of a block."""
    from rich.syntax import Syntax

    return Syntax(code, _lexer(lang), theme=_theme(theme_name), word_wrap=True, padding=padding)


#: Languages whose Pygments lexers :func:`warm_up` loads.
WARM_LANGUAGES = ("python", "bash", "json")


def warm_up() -> None:
    """Render a small answer with a code block in each of :data:`WARM_LANGUAGES` to a throwaway
    console: the parser and the syntax theme of :func:`markdown_class` are built, Pygments and
    those lexers imported. Done by the app once it is idle after start-up: the first code block
    of a session otherwise waited for all that (50–60 ms here, ~100 ms in a slow minute) in the
    middle of its answer's first frame."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=60, force_terminal=True, color_system="truecolor")
    text = "A **warm** *up*:\n\n- one\n\n" + "".join(f"```{lang}\nx = 1\n```\n\n" for lang in WARM_LANGUAGES)
    console.print(render(text))


#: A complete line that matters to :func:`block_cuts`: a blank one, or a code fence (group 1).
_MARK = re.compile(r"^[^\S\n]*(?:(```|~~~)[^\n]*)?\n", re.M)


def block_cuts(tail: str, in_fence: bool) -> tuple[list[int], bool]:
    """``(cuts, fence)``: block boundaries in ``tail``, and whether a fence is open at the last
    cut. A boundary is:

    * the offset just after a blank line outside a code fence, decided only when the next line
      has begun: a line indented by a space or a tab continues the block before it (a list
      item's next paragraph, an indented code block), so there is no boundary there;
    * the start of a code fence's opening line at column 0 that follows text ("Here it is:"
      then the fence, as models write it), and the end of the closing line of such a fence:
      a top-level fenced code block is always a block of its own (Rich draws it exactly as
      when it is part of a larger text), so the code block being streamed is the whole tail,
      which :class:`StreamingMarkdown` renders piece by piece.

    The decision depends on the text alone, never on how it was chunked. Lines end at ``"\n"``
    only (a form feed or U+2028 in a model's text is not a line end: ``str.splitlines`` made it
    the end of an unfinished line, which held back every boundary after it, so every frame
    re-rendered the rest of the answer). Only blank lines and fences are looked at; one regular
    expression finds them."""
    cuts: list[int] = []
    cut_fence = fence = in_fence
    top = False  # the open fence was opened at column 0
    pending = -1  # after a run of blank lines: a boundary, unless the next line is indented
    for m in _MARK.finditer(tail):
        start = m.start()
        is_fence = m.group(1) is not None
        if pending >= 0 and (is_fence or start > pending):
            # the line at ``pending`` is not blank (this fence, or an ordinary line before it)
            if tail[pending] not in " \t":
                cuts.append(pending)
                cut_fence = fence
            pending = -1
        if is_fence and not fence and tail[start] in "`~" and start and (not cuts or cuts[-1] != start):
            cuts.append(start)  # a fence right after text
            cut_fence = fence
        if is_fence:
            fence = not fence
            if fence:
                top = tail[start] in "`~"
            elif top and tail[start] in "`~":
                cuts.append(m.end())  # the end of a top-level code block
                cut_fence = fence
        elif not fence:
            pending = m.end()
    if 0 <= pending < len(tail):  # the line begun after the last blank run
        end = tail.find("\n", pending)
        if tail[pending:end if end >= 0 else len(tail)].strip() and tail[pending] not in " \t":
            cuts.append(pending)
            cut_fence = fence
    return cuts, cut_fence


def estimate_height(source: str, width: int) -> int:
    """A cheap guess at the rendered height of one block: its source lines, wrapped at ``width``
    (fence lines stand for the code block's padding). Exact for prose and code that fits."""
    w = max(1, width)
    h = 0
    for line in source.strip("\n").split("\n"):
        n = len(line)
        h += 1 if n <= w else -(-n // w)
    return max(1, h)


class _Block:
    __slots__ = ("estimated", "height", "provisional", "source", "strips")

    def __init__(self, source: str) -> None:
        self.source = source
        self.strips: list[Strip] | None = None  # None: not rendered at the current width
        self.height = 0
        self.estimated = 0  # the width the height was estimated at (0: not estimated)
        self.provisional = False  # drawn from pieces rendered while streaming (see _Fence)


def _strips(widget: Widget, renderable, width: int) -> list[Strip]:
    """``renderable`` rendered at ``width`` in ``widget``'s style, as strips."""
    app = widget.app
    options = app.console_options.update(highlight=False, width=width, height=None)
    lines = Segment.split_and_crop_lines(app.console.render(widget.post_render(renderable, widget.rich_style), options),
                                         width, include_new_lines=False, pad=False)
    return [Strip(line) for line in lines]


def render_strips(widget: Widget, source: str, width: int) -> list[Strip]:
    """``source`` rendered as Markdown at ``width`` in ``widget``'s style, as strips."""
    strips = _strips(widget, render(source.strip("\n")), width)
    while strips and not strips[0].cell_length:  # Rich opens a list with an empty line
        strips.pop(0)
    while strips and not strips[-1].cell_length:
        strips.pop()
    return strips


_FENCE_LINE = ("```", "~~~")


def fence_parts(source: str) -> tuple[int, str, list[str], str, bool] | None:
    """A block that is a top-level fenced code block (the fence at column 0), open or closed:
    ``(offset of the opening line, language, the complete code lines, the unfinished last line,
    closed)``; None for any other block. A closing fence still arriving (its line unfinished)
    counts as closed: it is not code."""
    lead = len(source) - len(source.lstrip("\n"))
    opener_end = source.find("\n", lead)
    if opener_end < 0 or not source.startswith(_FENCE_LINE, lead):
        return None
    info = source[lead:opener_end].lstrip(source[lead]).strip()
    if source[lead] == "`" and "`" in info:
        return None  # not a fence (CommonMark): inline code
    lines = source[opener_end + 1:].split("\n")
    last = lines.pop()
    closed = last.strip().startswith(_FENCE_LINE)
    for i, line in enumerate(lines):
        if line.strip().startswith(_FENCE_LINE):
            if i != len(lines) - 1 or last.strip():
                return None  # text after the closing fence: not a block of its own
            lines.pop()
            closed = True
            break
    return lead, info.partition(" ")[0] or "text", lines, "" if closed else last, closed


def _safe_piece(lang: str, lines: list[str], start: int, shortest: int, longest: int) -> int:
    """How many of ``lines[start:]`` make the next piece of a code block being streamed: at least
    ``shortest``, ending on a line that is not blank and whose line break Pygments reads as plain
    whitespace (not inside a string or a comment), so that the next piece, read from its start,
    is highlighted as in the whole block. 0: no such place yet; ``longest`` where none is found
    within it (a long string: the pieces are then drawn again, whole, once the answer is
    complete; so is a block of a language whose lexer has other states across lines)."""
    end = min(len(lines), start + longest)
    candidates = [n for n in range(shortest, end - start + 1) if lines[start + n - 1].strip()]
    if not candidates:
        return longest if end - start >= longest else 0
    lexer = _lexer(lang)
    if isinstance(lexer, str):
        return candidates[0]  # plain text: any line break will do
    from pygments.token import Text

    plain = set()  # the lines whose line break is plain whitespace
    line = 0
    for ttype, value in lexer.get_tokens("\n".join(lines[start:end]) + "\n"):
        breaks = value.count("\n")
        if breaks:
            if ttype in Text and not value.strip():
                plain.update(range(line, line + breaks))
            line += breaks
    for n in candidates:
        if n - 1 in plain:
            return n
    return longest if end - start >= longest else 0


class _Fence:
    """The top-level code block being streamed (the tail): its complete lines rendered in
    pieces, each once, so a frame renders only the lines since the last piece (a 300-line block
    re-rendered whole at every frame took the app to 0.5-0.7 of a core at 150 tokens/s)."""

    __slots__ = ("at", "done", "foot", "lang", "pieces", "width")

    def __init__(self, at: int, lang: str, width: int) -> None:
        self.at = at  # where the opening line is in the answer's text
        self.lang = lang
        self.width = width
        self.done = 0  # code lines in pieces
        self.pieces: list[list[Strip]] = []
        self.foot: Strip | None = None  # the block's bottom padding line


class StreamingMarkdown(OneLayout, Widget):
    """An answer's Markdown; :meth:`write` appends, :meth:`seal` says the answer is complete."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; padding: 0 1; }
    """

    def __init__(self, text: str = "", *, sealed: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self._blocks: list[_Block] = []
        self._tail = _Block("")
        self._in_fence = False
        self._sealed = False
        self._width = 0
        self._screen_lines = 40  # exact rendering covers this much of the bottom (the chat's height once laid out)
        self._offsets: list[int] = []  # first line of each part (blocks, then the tail)
        self._content = 0  # lines the text takes
        self._height = 0  # lines given to the layout: the text, plus the reserve while streaming
        self._settle_timer = None
        self._blank_strip: Strip | None = None
        self._grow_mark: tuple[float, int] | None = None  # (when, lines) at the last growth
        self._fence: _Fence | None = None  # the code block being streamed, in pieces
        self._split(text)
        if sealed:
            self._seal()

    # -- the text ------------------------------------------------------------------------------

    @property
    def blocks(self) -> list[str]:
        """The sources of the settled blocks (then the tail, if any), in order."""
        return [b.source for b in self._blocks] + ([self._tail.source] if self._tail.source else [])

    def _parts(self) -> list[_Block]:
        return self._blocks + [self._tail] if self._tail.source.strip() else self._blocks

    def _split(self, chunk: str) -> None:
        """Append ``chunk``: settle the blocks it completes, keep the rest as the tail."""
        if not chunk:
            return
        self.text += chunk
        tail = self._tail.source + chunk
        base = len(self.text) - len(tail)  # where the tail starts in the text
        cuts, fence = block_cuts(tail, self._in_fence)
        start = 0
        for cut in cuts:
            if tail[start:cut].strip():  # runs of blank lines make no block
                block = _Block(tail[start:cut])
                if self._fence is not None:
                    self._close_fence(block, base + start)
                self._blocks.append(block)
            start = cut
        if cuts:
            self._in_fence = fence
        self._tail = _Block(tail[start:])

    def _seal(self) -> None:
        if self._tail.source.strip():
            self._blocks.append(self._tail)  # an open code block keeps the strips of its pieces
        self._tail = _Block("")
        self._fence = None
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
        if self._height != old:
            self.refresh(layout=True)
            return
        # Same height: repaint only the rows that differ (usually the last line or two).
        after = self._rows(start, self._content)
        same = 0
        for a, b in zip(before, after):
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
        return self._offsets[-1] + (last.height + GAP if last else 0)

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

    def _render_block(self, block: _Block) -> bool:
        """Render ``block`` at the current width; True if its height changed."""
        if block is self._tail and not self._sealed and self._render_fence(block):
            pass
        else:
            block.strips = render_strips(self, block.source, self._width) if block.source.strip() else []
            block.provisional = False
        old, block.height = block.height, len(block.strips)
        return old != block.height

    # -- a code block being streamed: rendered in pieces -----------------------------------------

    def _code_strips(self, code: str, lang: str, top: bool, bottom: bool) -> list[Strip]:
        return _strips(self, code_syntax(code, lang, (int(top), 1, int(bottom), 1)), self._width)

    def _foot(self, fence: _Fence) -> Strip:
        """A code block's bottom padding line (what ends it when its last lines are blank)."""
        if fence.foot is None:
            fence.foot = self._code_strips("x", fence.lang, False, True)[-1]
        return fence.foot

    def _render_fence(self, block: _Block) -> bool:
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
            fence = self._fence = _Fence(at, lang, self._width)
        while len(lines) - fence.done > FENCE_PIECE:
            n = _safe_piece(lang, lines, fence.done, FENCE_PIECE, FENCE_PIECE_MAX)
            if not n:
                break
            piece = "\n".join(lines[fence.done:fence.done + n])
            fence.pieces.append(self._code_strips(piece, lang, not fence.pieces, False))
            fence.done += n
        block.strips = [strip for piece in fence.pieces for strip in piece]
        block.strips += self._fence_rest(fence, lines[fence.done:] + [last])
        block.provisional = bool(fence.pieces)
        return True

    def _fence_rest(self, fence: _Fence, lines: list[str]) -> list[Strip]:
        """The lines after the last piece, as the end of the block (as Rich draws a code block:
        its last lines' trailing blanks dropped)."""
        code = "\n".join(lines).rstrip()
        if not code and fence.pieces:
            return [self._foot(fence)]
        return self._code_strips(code, fence.lang, not fence.pieces, True)

    def _close_fence(self, block: _Block, at: int) -> None:
        """``block`` (at ``at`` in the text) has settled: if it is the code block that was being
        streamed, it keeps the pieces, and only its last lines are rendered."""
        fence, self._fence = self._fence, None
        parts = fence_parts(block.source)
        if parts is None or fence is None or not fence.pieces or fence.width != self._width:
            return
        lead, lang, lines, last, _ = parts
        if (at + lead, lang) != (fence.at, fence.lang) or len(lines) < fence.done:
            return
        block.strips = [strip for piece in fence.pieces for strip in piece] + self._fence_rest(fence, lines[fence.done:])
        block.height = len(block.strips)
        block.provisional = True

    def _measure(self) -> int:
        """Heights for every part (estimated where not rendered, exact for the bottom screen)
        and the offsets; returns the lines the text takes."""
        width = self._width
        if not width:
            return 0
        parts = self._parts()
        for block in parts:
            if block.strips is None and block.estimated != width:
                block.height = estimate_height(block.source, width)
                block.estimated = width
        covered = 0 if not self._sealed else self._screen_lines
        for block in reversed(parts):  # the bottom of a streaming answer is what a follower sees
            if covered >= self._screen_lines:
                break
            if block.strips is None:
                self._render_block(block)
            covered += block.height + GAP
        offsets, y = [], 0
        for block in parts:
            offsets.append(y)
            y += block.height + GAP
        self._offsets = offsets
        self._content = max(0, y - GAP)
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
                block.provisional = False
            self._tail.strips = None
            self._fence = None
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
                # widget's region, which in the middle of a layout computed a full map of the
                # screen (~2 ms a layout)
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
        self._fence = None
        if self._width:
            self._measure()
        self._schedule_settle()

    # -- drawing -------------------------------------------------------------------------------

    def _part(self, i: int) -> _Block | None:
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
            # scrolled into view before the settling pass reached it: render it now
            if block.strips is None and self._render_block(block):
                self.call_after_refresh(self._relayout)
            row = y - self._offsets[i]
            if row < len(block.strips):
                return block.strips[row]
        return self._blank()

    def _blank(self) -> Strip:
        # the widget's rich_style walks its ancestors: one blank strip per width and theme
        if self._blank_strip is None or self._blank_strip.cell_length != self._width:
            self._blank_strip = Strip.blank(self._width, self.rich_style)
        return self._blank_strip

    def _relayout(self) -> None:
        self._measure()
        self.refresh(layout=True)

    # -- settling: render what is still estimated, while the app is idle -----------------------

    def _schedule_settle(self) -> None:
        if self._settle_timer is None and self.is_mounted and any(b.strips is None or b.provisional for b in self._blocks):
            self._settle_timer = self.set_timer(SETTLE_S, self._settle)

    def on_mount(self) -> None:
        if self._sealed:
            self._schedule_settle()

    def _settle(self) -> None:
        import time

        self._settle_timer = None
        if not self._width:
            return
        if getattr(self.app, "turn_running", False):
            # idle work: not while an answer streams (a 20,000-token answer takes ~1.7 s of CPU
            # to settle, spread over ~8 s; the next answer's stream should not share it)
            self._settle_timer = self.set_timer(SETTLE_PAUSED_S, self._settle)
            return
        deadline = time.perf_counter() + SETTLE_BUDGET_S
        changed = redrawn = False
        for block in [b for b in reversed(self._blocks) if b.strips is None or b.provisional]:
            redrawn |= block.provisional  # drawn already: its colours may change, not its height
            changed |= self._render_block(block)
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
        return bool(self._width) and all(b.strips is not None and not b.provisional for b in self._blocks)
