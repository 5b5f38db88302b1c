"""Rendering Markdown block by block with Rich, as Rich draws the whole text: a cheaper
``Markdown`` (one parser, one lexer per language, one theme), code blocks drawn straight from
Pygments' tokens, and the strips a widget draws.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from textual.strip import Strip

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown
    from textual.widget import Widget

CODE_THEME = "monokai"

_markdown_class: type[RichMarkdown] | None = None


def render(text: str, numbers: tuple[int, int] | None = None) -> RichMarkdown:
    """``text`` as Rich's ``Markdown``, built the cheap way (see :func:`markdown_class`).
    ``numbers``: ``text`` is one item of a longer numbered list, ``(its number, the number Rich
    pads the list's numbers for)``: drawn as in the whole list."""
    md = (_markdown_class or markdown_class())(text, code_theme=CODE_THEME, hyperlinks=False)
    if numbers is not None:
        md.numbers = numbers  # type: ignore[attr-defined]  # (read by the list elements of markdown_class)
    return md


def markdown_class() -> type[RichMarkdown]:
    """Rich's ``Markdown``, made cheaper to build and render block by block (this widget
    renders every block on its own, so per-instance set-up is paid per block):

    * one markdown-it parser for every block: Rich builds one per instance, which costs more
      than parsing a paragraph;
    * one Pygments lexer per language and one syntax theme: Rich looks the lexer up for every
      code block and builds a new theme, whose style cache then starts empty.

    What it draws is Rich's own (a test compares the two), except that a single newline inside a
    paragraph is kept as a line break, and the language of a code fence is read as CommonMark
    reads it (``"``` python"`` is Python: Rich drew it without colours). Built lazily: the first
    frame does not need Rich's Markdown or Pygments."""
    global _markdown_class
    if _markdown_class is not None:
        return _markdown_class
    from markdown_it import MarkdownIt
    from rich.markdown import CodeBlock, ListElement, Markdown

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
        @classmethod
        def create(cls, markdown, token):
            # The language is the info string's first word once the string is stripped
            # (CommonMark). markdown-it keeps the blank of "``` python", and Rich took the word
            # before it, "": no highlighting, though the block was highlighted while it streamed.
            return cls((token.info or "").strip().partition(" ")[0] or "text", markdown.code_theme)

        def __rich_console__(self, console, options):
            yield code_syntax(str(self.text).rstrip(), self.lexer_name, 1, theme_name=self.theme)

    class _List(ListElement):
        @classmethod
        def create(cls, markdown, token):
            element = super().create(markdown, token)
            element.numbers = None
            if token.level == 0 and markdown.numbers is not None:
                # the block's first list only: a list after it is another list
                element.numbers, markdown.numbers = markdown.numbers, None
            return element

        def __rich_console__(self, console, options):
            if self.numbers is None or self.list_type == "bullet_list_open":
                yield from super().__rich_console__(console, options)
                return
            number, last = self.numbers
            for index, item in enumerate(self.items):
                yield from item.render_number(console, options, number + index, last)

    class _Markdown(Markdown):
        elements = {
            **Markdown.elements,
            "fence": _CodeBlock,
            "code_block": _CodeBlock,
            "bullet_list_open": _List,
            "ordered_list_open": _List,
        }
        #: set by :func:`render` for one item of a longer numbered list; read by ``_List``
        numbers: tuple[int, int] | None = None

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


@lru_cache(maxsize=8)
def _code_styles(theme_name: str):
    """``(base, token style)`` for a theme: a code block's background style, and the theme's
    function from a Pygments token type to its style (cached by the theme)."""
    return code_syntax("", "text", 0, theme_name)._get_base_style(), _theme(theme_name).get_style_for_token


def fast_code_strips(
    widget: Widget, code: str, lang: str, padding: tuple[int, int, int, int], width: int
) -> list[Strip] | None:
    """A code block's strips as :func:`code_syntax` renders them in ``widget`` at ``width``
    (Rich's ``Syntax``), drawn straight from Pygments' tokens: the same segments and styles in
    about half the time (Pygments' own lexing is most of what is left). Rich builds a ``Text``
    of the block, splits it into lines, wraps and pads each line as text, then pads the block.
    None where that is not certain: a line wider than the block (Rich wraps it), a tab or a
    character that is not one cell wide, an unknown language; the caller then renders with Rich.
    A test compares the two on random blocks, segment for segment."""
    top, right, bottom, left = padding
    code_width = width - left - right
    lexer = _lexer(lang)
    if code_width <= 0 or isinstance(lexer, str) or code.endswith("\n"):
        return None
    lines = code.split("\n")
    for line in lines:
        # printable, one cell per character: no tab, control code, wide or zero-width character
        if len(line) > code_width or not line.isprintable() or (not line.isascii() and cell_len(line) != len(line)):
            return None
    base, token_style = _code_styles(CODE_THEME)
    outer = widget.rich_style
    edge = outer + base  # padding, and text the theme gives no style (Rich: no span)
    styles: dict = {}
    rows: list[list[Segment]] = []
    row: list[Segment] = []
    plain = ""  # unstyled text since the last styled token: one segment, with the line's padding
    used = 0
    for token_type, token in lexer.get_tokens(code + "\n"):
        style = styles.get(token_type)
        if style is None:
            theme_style = token_style(token_type)
            style = styles[token_type] = (outer + (base + theme_style)) if theme_style else None
        while token:
            piece, newline, token = token.partition("\n")
            if piece:
                used += len(piece)
                if style is None:
                    plain += piece
                else:
                    if plain:
                        row.append(Segment(plain, edge))
                        plain = ""
                    row.append(Segment(piece, style))
            if newline:
                plain += " " * (code_width - used)
                if plain:
                    row.append(Segment(plain, edge))
                rows.append(row)
                row, plain, used = [], "", 0
    if len(rows) != len(lines) or any(sum(len(seg.text) for seg in r) != code_width for r in rows):
        return None  # the lexer did not give the text back as it was
    blank = Strip([Segment(" " * width, edge)], width)
    side, end = Segment(" " * left, edge), Segment(" " * right, edge)
    middle = [Strip(([side] if left else []) + r + ([end] if right else []), width) for r in rows]
    return [blank] * top + middle + [blank] * bottom


#: Languages whose Pygments lexers :func:`warm_up` loads.
WARM_LANGUAGES = ("python", "bash", "json")


def warm_up() -> None:
    """Render a small answer with a code block in each of :data:`WARM_LANGUAGES` to a throwaway
    console: the parser and the syntax theme of :func:`markdown_class` are built, Pygments and
    those lexers imported. Done by the app once it is idle after start-up: the first code block
    of a session would otherwise wait for all that in the middle of its answer's first frame."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=60, force_terminal=True, color_system="truecolor")
    text = "A **warm** *up*:\n\n- one\n\n" + "".join(f"```{lang}\nx = 1\n```\n\n" for lang in WARM_LANGUAGES)
    console.print(render(text))


def strips_of(widget: Widget, renderable, width: int) -> list[Strip]:
    """``renderable`` rendered at ``width`` in ``widget``'s style, as strips."""
    app = widget.app
    options = app.console_options.update(highlight=False, width=width, height=None)
    lines = Segment.split_and_crop_lines(
        app.console.render(widget.post_render(renderable, widget.rich_style), options),
        width,
        include_new_lines=False,
        pad=False,
    )
    return [Strip(line) for line in lines]


def render_strips(widget: Widget, source: str, width: int, numbers: tuple[int, int] | None = None) -> list[Strip]:
    """``source`` rendered as Markdown at ``width`` in ``widget``'s style, as strips.
    ``numbers``: see :func:`render`."""
    source = source.strip("\n")
    strips = strips_of(widget, render(source, numbers), width)
    # Rich opens a list with an empty line (drawn as the gap before the block); a block that
    # opens with HTML (which Rich draws as nothing) keeps the line Rich draws after it
    while strips and not strips[0].cell_length and not source.startswith("<"):
        strips.pop(0)
    while strips and not strips[-1].cell_length:
        strips.pop()
    return strips


def safe_piece(lang: str, lines: list[str], start: int, shortest: int, longest: int) -> int:
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

    plain: set[int] = set()  # the lines whose line break is plain whitespace
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


def cell_sizes(row: str) -> list[tuple[int, int]]:
    """Each cell's width and its longest word, in terminal cells, from the row's text (what Rich
    lays a table's columns out from, near enough: inline markup is counted as text)."""
    cells = row.strip().strip("|").split("|")
    return [(cell_len(cell.strip()), max((cell_len(word) for word in cell.split()), default=0)) for cell in cells]
