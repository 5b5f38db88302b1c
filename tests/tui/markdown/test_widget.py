"""StreamingMarkdown: incremental writes, rendering only what is on screen, pieces of a streamed
code block or table drawn as the whole, settling while idle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll

from a2ia_tui.tui.appstate import AppState
from a2ia_tui.tui.markdown import widget as ms
from a2ia_tui.tui.markdown.pieces import FENCE_PIECE
from a2ia_tui.tui.markdown.render import code_syntax, fast_code_strips, render_strips, strips_of
from a2ia_tui.tui.markdown.widget import StreamingMarkdown
from tests.helpers.markdown_texts import long_doc

DOC = "# T\n\npara one\n\n```py\nx = 1\n\ny = 2\n```\n\n- a\n- b\n\ntail"


class Host(App):
    def compose(self) -> ComposeResult:
        yield StreamingMarkdown()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_blocks(sizes) -> None:
    import asyncio

    async def run() -> list[str]:
        app = Host()
        async with app.run_test() as pilot:
            md = app.query_one(StreamingMarkdown)
            pos = 0
            for size in sizes * 20:
                if pos >= len(DOC):
                    break
                md.write(DOC[pos : pos + size])
                pos += size
                await pilot.pause()
            md.write(DOC[pos:])
            await pilot.pause()
            assert md.text == DOC
            # the fenced code with a blank line inside stays in one block
            return md.blocks

    blocks = asyncio.run(run())
    assert not any("x = 1" in b and "y = 2" not in b for b in blocks)


class Scroller(AppState):  # (its turn_running: the widget's settling pass waits while a turn runs)
    CSS = "VerticalScroll { height: 1fr; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown()


def _doc(n: int) -> str:
    return "".join(
        f"## Part {i}\n\nword{i} " + "lorem ipsum " * 12 + f"\n\n```python\nx{i} = {i}\n```\n\n" for i in range(n)
    )


async def test_a_flood_renders_only_the_bottom_then_settles_exactly() -> None:
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        view = app.query_one(VerticalScroll)
        view.anchor()
        md.write(_doc(60))
        await pilot.pause()
        rendered = [b.strips is not None for b in md._blocks]
        # the top of a 60-part answer was never on screen: estimated, not rendered
        assert not all(rendered) and rendered[-1] and not rendered[0]
        assert not md.settled
        # the bottom is on screen, exactly rendered
        assert "x59 = 59" in "\n".join(md.render_line(y).text for y in range(md._content - 8, md._content))
        md.seal()
        await wait_until(pilot, lambda: md.settled)
        # every height is now exact: the sum of the rendered blocks and the gaps
        exact = sum(len(render_strips(md, b.source, md._width)) for b in md._blocks) + len(md._blocks) - 1
        await pilot.pause()
        assert md.size.height == exact == md._height
        # the view followed to the end
        assert view.scroll_y >= view.max_scroll_y - 1


async def test_settling_waits_while_the_app_runs_a_turn() -> None:
    """Settling is idle work: while the app streams an answer (``turn_running``), no block of an
    earlier answer is rendered; it goes on once the turn is over."""
    app = Scroller()
    app.turn_running = True
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        app.query_one(VerticalScroll).anchor()
        md.write(_doc(60))
        await pilot.pause()
        md.seal()
        await pilot.pause()  # the sealed tail is drawn (on screen: rendered on demand)
        before = sum(b.strips is not None for b in md._blocks)
        await pilot.pause(0.4)  # several settling slices' worth (one each 0.05 s when idle)
        assert sum(b.strips is not None for b in md._blocks) == before and not md.settled
        app.turn_running = False
        await wait_until(pilot, lambda: md.settled)


class ShortView(App):
    """As in the app: the chat (scrolls), an answer (a Vertical), its Markdown."""

    CSS = "VerticalScroll { height: 10; } Vertical { height: auto; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll(), Vertical():
            yield StreamingMarkdown()


async def test_the_bottom_is_rendered_over_the_chats_height_not_the_terminals() -> None:
    app = ShortView()
    async with app.run_test(size=(80, 40)) as pilot:
        md = app.query_one(StreamingMarkdown)
        app.query_one(VerticalScroll).anchor()
        md.write(_doc(60))
        await pilot.pause()
        parts = md._parts()  # the settled blocks, then the tail
        covered, tallest, n = 0, 0, 0
        for block in reversed(parts):
            if block.strips is None:
                break
            covered += block.height + 1
            tallest = max(tallest, block.height + 1)
            n += 1
        # enough for the 10 rows on screen, and not the 40 of the terminal
        assert 10 <= covered < 10 + tallest < 40
        assert all(b.strips is None for b in parts[:-n])


async def test_a_block_scrolled_into_view_is_rendered_on_demand() -> None:
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        view = app.query_one(VerticalScroll)
        view.anchor()  # following the bottom, the top is never drawn
        md.write(_doc(40))
        await pilot.pause()
        assert md._blocks[0].strips is None
        view.release_anchor()
        view.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        assert md._blocks[0].strips is not None
        lines = [md.render_line(y).text for y in range(md._blocks[0].height)]
        assert "Part 0" in "\n".join(lines)


async def test_a_new_width_renders_again() -> None:
    app = Scroller()
    async with app.run_test(size=(100, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        md.write("word " * 60 + "\n\nend")
        md.seal()
        await wait_until(pilot, lambda: md.settled)
        wide = md._blocks[0].height
        await pilot.resize_terminal(50, 24)
        await wait_until(pilot, lambda: md.settled and md._width < 50)
        assert md._blocks[0].height > wide


async def wait_until(pilot, cond, timeout: float = 5.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await pilot.pause(0.02)


async def test_room_is_reserved_while_streaming_and_dropped_when_sealed() -> None:
    from a2ia_tui.tui.markdown.widget import RESERVE_MAX, RESERVE_MIN

    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        await pilot.pause()
        # text that outgrows the room: the widget grows past it, with fresh room below
        md.write("".join(f"line {i}\n\n" for i in range(10)) + "tail")
        await pilot.pause()
        assert RESERVE_MIN <= md.size.height - md._content <= RESERVE_MAX
        # a word more fits in the room: the height stays, the changed row shows it
        before = md.size.height
        md.write(" word")
        await pilot.pause()
        assert md.size.height == before
        assert "tail word" in "\n".join(md.render_line(y).text for y in range(md._content))
        md.seal()
        await pilot.pause()
        assert md.size.height == md._content == 21  # 11 blocks and 10 gaps, nothing reserved


CODE = [
    "def f{i}(x):",
    "    return x + {i}  # one",
    "",
    "class C{i}:",
    "\tvalue = [1, 2, 3]",
    "result_{i} = compute(" + ", ".join(f"arg{k}" for k in range(14)) + ")",  # wraps at 80 columns
    '    """A docstring',
    "of three lines (a piece never ends inside it)",
    '"""',
    "x{i} = {{'a': 1}}",
]


def _code_lines(n: int) -> list[str]:
    return [CODE[k % len(CODE)].format(i=k) for k in range(n)]


def _cells(strips) -> list[list[tuple[str, object]]]:
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


async def _stream_code(pilot, md, text: str, step: int, check=None) -> None:
    for pos in range(0, len(text), step):
        md.write(text[pos : pos + step])
        if check is not None:
            check()
        await pilot.pause()


async def test_a_streamed_code_block_is_drawn_in_pieces_exactly_as_whole(monkeypatch) -> None:
    """While a long code block streams, each frame renders only the lines since the last piece,
    and what it draws is what rendering the whole block draws (the pieces end where Pygments
    is at the code's top level, never inside the docstring)."""
    rendered: list[int] = []
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        real = md._code_strips

        def counting(code, lang, top, bottom):
            rendered.append(code.count("\n") + 1)
            return real(code, lang, top, bottom)

        monkeypatch.setattr(md, "_code_strips", counting)
        text = "Here it is:\n```python\n" + "\n".join(_code_lines(160)) + "\n"
        checked, whole = [], []

        def check() -> None:
            tail = md._tail
            whole.append(tail.source.count("\n"))  # what rendering the whole block each time renders
            if md._fence is not None and md._fence.pieces and tail.strips is not None:
                assert _cells(tail.strips) == _cells(render_strips(md, tail.source, md._width)), tail.source[-200:]
                checked.append(len(md._fence.pieces))

        await _stream_code(pilot, md, text, 37, check)
        assert checked and max(checked) >= 4  # the block was drawn from several pieces
        # no frame rendered more than a piece and the lines since the last one
        assert max(rendered) <= 2 * FENCE_PIECE + len(CODE)
        # in all, a fraction of rendering the whole block at every write
        assert sum(rendered) < sum(whole) / 4


async def test_a_closed_code_block_keeps_its_pieces_then_is_drawn_exactly_when_idle() -> None:
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        app.query_one(VerticalScroll).anchor()
        # a string that spans many lines: pieces cut inside it (past FENCE_PIECE_MAX) are
        # highlighted as code until the block is drawn again, whole
        from a2ia_tui.tui.markdown.pieces import FENCE_PIECE_MAX

        lines = ["s = '''"] + [f"line {k}" for k in range(FENCE_PIECE_MAX + 20)] + ["'''"] + _code_lines(20)
        text = "```python\n" + "\n".join(lines) + "\n```\nAfter the code.\n\nMore"
        await _stream_code(pilot, md, text, 50)
        block = next(b for b in md._blocks if b.source.startswith("```python"))
        assert block.provisional and block.strips is not None
        exact = render_strips(md, block.source, md._width)
        assert len(block.strips) == len(exact)
        assert _cells(block.strips) != _cells(exact)  # the string's end, read from a piece's start
        md.seal()
        await wait_until(pilot, lambda: md.settled)
        assert _cells(block.strips) == _cells(exact) and not block.provisional


async def test_a_code_block_the_answer_ends_in_keeps_its_pieces() -> None:
    """The stream often ends on the closing fence with no line break after it: the block is
    sealed as it was drawn, and drawn exactly once idle."""
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        text = "```python\n" + "\n".join(_code_lines(60)) + "\n```"
        await _stream_code(pilot, md, text, 41)
        assert md._fence is not None and md._fence.pieces
        md.seal()
        block = md._blocks[-1]
        assert block.provisional and md._fence is None
        await wait_until(pilot, lambda: md.settled)
        assert _cells(block.strips) == _cells(render_strips(md, block.source, md._width))


WHOLE_DOCS = [
    "Here it is:\n```python\nx = 1\n```\nAnd after it.",
    "# Title\n\nSome *text*.\n\n- one\n- two\n```bash\nls -l\n```\n\n1. first\n2. second\n\n~~~\nplain\n~~~\n\nEnd.",
    'Code:\n```\nno language\n\n\n```\n```json\n{"a": 1}\n```\n\n> quoted',
    "- item\n  ```python\n  nested = True\n  ```\n- next",
]


async def test_the_answer_is_drawn_as_rich_draws_the_whole_text() -> None:
    """Blocks drawn one by one, a blank line between two, make what Rich draws of the whole
    text, cell for cell (a code block cut from the text before and after it included). (Not
    so for a loose list, its items a blank line apart: the widget keeps that blank line.)"""
    for doc in WHOLE_DOCS:
        app = Scroller()
        async with app.run_test(size=(80, 24)) as pilot:
            md = app.query_one(StreamingMarkdown)
            md.write(doc)
            md.seal()
            await wait_until(pilot, lambda: md.settled)
            width = md._width
            ours = [md.render_line(y).extend_cell_length(width, md.rich_style) for y in range(md._content)]
            whole = [s.extend_cell_length(width, md.rich_style) for s in render_strips(md, doc, width)]
            assert _cells(ours) == _cells(whole), doc


async def settle(pilot, md) -> None:
    """Until the widget is settled and stays so: exact heights can hide the scrollbar, and the
    new width then draws every block again."""
    for _ in range(20):
        await wait_until(pilot, lambda: md.settled)
        width = md._width
        await pilot.pause(0.05)
        if md.settled and md._width == width:
            return
    raise AssertionError("the widget did not settle")


def _random_doc(rng) -> str:
    """Markdown as models write it, made of lines that often trip a block splitter."""
    vocab = [
        "Some text.",
        "More *words* and `code`.",
        "",
        "",
        "",
        "- item",
        "- another item",
        "* star item",
        "+ plus item",
        "1. one",
        "2. two",
        "3) paren",
        "  indented continuation",
        "    indented code",
        "```python",
        "x = 1",
        "```",
        "~~~",
        "# Heading",
        "> a quote",
        "---",
        "- - -",
        "| a | b |",
        "|---|---|",
        "Title",
        "===",
        "<div>",
        "2024. a year",
        "  - nested item",
        "   3. nested number",
    ]
    lines: list[str] = []
    for _ in range(rng.randint(1, 14)):
        if rng.random() < 0.12:  # a numbered list long enough to need wider numbers
            start = rng.choice([1, 1, 7, 98])
            lines += [f"{start + k}. item {k}" for k in range(rng.randint(2, 12))]
        else:
            lines.append(rng.choice(vocab))
    return "\n".join(lines) + rng.choice(["", "\n"])


async def test_blocks_drawn_one_by_one_make_what_rich_draws_of_the_whole_text() -> None:
    """The property every cut in block_cuts must keep, on 150 random texts, written at once or in
    small chunks: the widget's lines, once it has settled, are what Rich draws of the whole text,
    cell for cell."""
    import os
    import random

    rng = random.Random(int(os.environ.get("A2IA_TEST_SEED", 2026)))
    app = Scroller()
    async with app.run_test(size=(70, 24)) as pilot:
        view = app.query_one("VerticalScroll")
        for case in range(int(os.environ.get("A2IA_TEST_CASES", 150))):
            doc = _random_doc(rng)
            await view.remove_children()
            md = StreamingMarkdown()
            await view.mount(md)
            await pilot.pause()
            if case % 2:
                pos = 0
                while pos < len(doc):
                    step = rng.randint(1, 25)
                    md.write(doc[pos : pos + step])
                    pos += step
            else:
                md.write(doc)
            md.seal()
            await settle(pilot, md)
            width = md._width
            ours = [md.render_line(y).extend_cell_length(width, md.rich_style) for y in range(md._content)]
            whole = [s.extend_cell_length(width, md.rich_style) for s in render_strips(md, doc, width)]
            assert [s.text for s in ours] == [s.text for s in whole], (case, doc)
            assert _cells(ours) == _cells(whole), (case, doc)


async def test_a_streamed_table_is_drawn_in_pieces_as_the_whole_table(monkeypatch) -> None:
    """While a long table streams, its rows are rendered in pieces after the rows that hold each
    column's widest cell (Rich lays the columns out from every cell): each frame draws what
    rendering the whole table draws, cell for cell, also when a late row widens a column."""
    rendered: list[int] = []
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        real = md._table_rows

        def counting(table, rows):
            rendered.append(len(rows) + len(table.carriers))
            return real(table, rows)

        monkeypatch.setattr(md, "_table_rows", counting)
        rows = [f"| {k} | item {k} | {k * 3.5} | note {k} |" for k in range(60)]
        rows[41] = "| 41 | a much wider item than the others | 1 | a note that is longer than all the others |"
        text = "A table:\n\n| id | name | value | note |\n|---|:-:|--:|---|\n" + "\n".join(rows) + "\n\nAfter."
        checked, whole = [], []

        def check() -> None:
            tail = md._tail
            whole.append(tail.source.count("\n"))
            if md._table is not None and md._table.pieces and tail.strips is not None:
                assert _cells(tail.strips) == _cells(render_strips(md, tail.source, md._width)), tail.source[-120:]
                checked.append(len(md._table.pieces))

        await _stream_code(pilot, md, text, 23, check)
        assert checked and max(checked) >= 8
        assert sum(rendered) < sum(whole) / 2  # a fraction of rendering the whole table each time
        md.seal()
        await settle(pilot, md)
        block = next(b for b in md._blocks if b.source.lstrip("\n").startswith("| id"))
        assert _cells(block.strips) == _cells(render_strips(md, block.source, md._width))


async def test_a_streamed_table_of_wide_characters_keeps_its_widths() -> None:
    """Carriers are measured in terminal cells: a later row with more (narrow) characters than
    an earlier row of wide ones does not take over its column, which Rich draws as wide as the
    wide row."""
    app = Scroller()
    async with app.run_test(size=(80, 24)) as pilot:
        md = app.query_one(StreamingMarkdown)
        rows = ["| 1 | ＡＢＣＤＥ |"] + [f"| {k} | abcdefgh |" for k in range(2, 30)]
        text = "| n | name |\n|---|---|\n" + "\n".join(rows) + "\n"
        frames = 0
        for pos in range(0, len(text), 19):
            md.write(text[pos : pos + 19])
            tail = md._tail
            if md._table is not None and md._table.pieces and tail.strips is not None:
                assert _cells(tail.strips) == _cells(render_strips(md, tail.source, md._width))
                frames += 1
            await pilot.pause()
        assert frames


_CODE_CHARS = "abcdefxyz_ ()[]{}:;,.=+-*/<>'\"#\\@$%!?|&^~`0123456789"


_CODE_LANGS = ["python", "bash", "json", "javascript", "rust", "c", "yaml", "diff", "text", "no-such-language"]


def _random_code(rng) -> str:
    lines = []
    for _ in range(rng.randint(0, 10)):
        line = "".join(rng.choice(_CODE_CHARS) for _ in range(rng.choice([rng.randint(0, 8), rng.randint(0, 40)])))
        if rng.random() < 0.05:
            line += rng.choice(["é→", "\t", "中", "\x07"])  # one cell; then what the fast path leaves to Rich
        lines.append(line + (" " * rng.randint(1, 3) if rng.random() < 0.1 else ""))
    if rng.random() < 0.2:
        lines.append('"""a docstring\nover two lines"""')
    return "\n".join(lines)


async def test_code_blocks_are_drawn_from_pygments_tokens_as_rich_draws_them() -> None:
    """fast_code_strips draws a code block (or a piece of one) from Pygments' tokens: on 600
    random blocks it gives Rich's ``Syntax`` segments, segment for segment, or None where it
    cannot be sure (a line wider than the block, a tab, a wide or control character, an unknown
    language), and most blocks take it."""
    import os
    import random

    rng = random.Random(int(os.environ.get("A2IA_TEST_SEED", 2026)))
    app = Scroller()
    async with app.run_test(size=(100, 24)):
        md = app.query_one(StreamingMarkdown)
        drawn = 0
        for _ in range(600):
            code, lang, width = _random_code(rng), rng.choice(_CODE_LANGS), rng.randint(8, 90)
            padding = rng.choice([(1, 1, 1, 1), (0, 1, 0, 1), (1, 1, 0, 1), (0, 1, 1, 1)])
            fast = fast_code_strips(md, code, lang, padding, width)
            if fast is None:
                continue
            drawn += 1
            rich = strips_of(md, code_syntax(code, lang, padding), width)
            assert [list(s) for s in fast] == [list(s) for s in rich], (code, lang, width, padding)
        assert drawn > 300
        for code, lang in (
            ("a\tb", "python"),
            ("x = '中'", "python"),
            ("x" * 60, "python"),
            ("x = 1", "no-such-language"),
        ):
            assert fast_code_strips(md, code, lang, (1, 1, 1, 1), 40) is None, (code, lang)


def _random_fence(rng) -> str:
    fence = rng.choice(["```", "```", "````", "~~~"])
    info = rng.choice(
        ["python", "py", "bash", "json", "", "text", "no-such", "python title=x", "c++", "py\\thon", "&amp;"]
    )
    lines = [line + (" " + fence if rng.random() < 0.05 else "") for line in _random_code(rng).split("\n")]
    closer = rng.choice([fence, fence, fence + fence[0], "  " + fence, "    " + fence, fence + "  "])
    source = fence + rng.choice(["", " "]) + info + "\n" + "".join(line + "\n" for line in lines) + closer
    return rng.choice(["", "\n"]) + source + rng.choice(["", "\n"])


async def test_a_settled_code_block_is_drawn_from_pygments_tokens_as_rich_draws_it() -> None:
    """A settled block that is a whole top-level code block is drawn without Rich's Markdown:
    on 600 random fenced blocks, cell for cell what rendering the block as Markdown draws,
    or None (then Markdown draws it) where the two may differ: an indented closing fence (four
    blanks make it code), an escape or an entity in the info string."""
    import os
    import random

    rng = random.Random(int(os.environ.get("A2IA_TEST_SEED", 2026)))
    app = Scroller()
    async with app.run_test(size=(100, 24)):
        md = app.query_one(StreamingMarkdown)
        drawn = 0
        for _ in range(600):
            source = _random_fence(rng)
            md._width = rng.randint(10, 90)
            fast = md._fence_strips(source)
            if fast is None:
                continue
            drawn += 1
            assert _cells(fast) == _cells(render_strips(md, source, md._width)), (source, md._width)
        assert drawn > 150
        for source in ("```python\nx = 1\n    ```", "```py\\thon\nx = 1\n```", "Text\n```python\nx = 1\n```"):
            assert md._fence_strips(source) is None, source


async def test_a_code_block_keeps_its_colours_when_its_fence_has_a_blank_before_the_language() -> None:
    """ "``` python" names the language as "```python" does (CommonMark strips the info string).
    Rich took the first word of markdown-it's unstripped info, "": the block was highlighted
    while it streamed (in pieces), then drawn without colours once settled."""
    app = Scroller()
    async with app.run_test(size=(80, 24)):
        md = app.query_one(StreamingMarkdown)
        md._width = 40
        spaced = render_strips(md, "``` python\nx = compute(1)\n```", 40)
        assert _cells(spaced) == _cells(render_strips(md, "```python\nx = compute(1)\n```", 40))
        assert _cells(spaced) != _cells(render_strips(md, "```\nx = compute(1)\n```", 40))


def test_a_long_write_leaves_the_text_above_its_last_screens_uncut_and_cuts_it_as_the_whole(monkeypatch) -> None:
    """A write of UNCUT_MIN characters or more (a flood's last write, a restored answer) is cut
    into blocks over its last UNCUT_KEEP characters only; the rest is one uncut block, cut when
    needed, all at once or from its end. Either way the blocks are those cutting the text at
    once gives: their sources, gaps, and numbered lists (on 300 random texts)."""
    import os
    import random

    def blocks(md) -> list[tuple]:
        return [(b.source, b.gap, b.number, b.run and (b.run.first, b.run.count)) for b in md._blocks] + [
            md._tail.source
        ]

    rng = random.Random(int(os.environ.get("A2IA_TEST_SEED", 2026)))
    uncut = 0
    for case in range(300):
        doc = "".join(long_doc(rng, html=False) + "\n\n" for _ in range(rng.randint(1, 6)))
        monkeypatch.setattr(ms, "UNCUT_MIN", 10**9)
        whole = StreamingMarkdown()
        whole.write("Before.\n\n")
        whole.write(doc)
        monkeypatch.setattr(ms, "UNCUT_MIN", 200)
        monkeypatch.setattr(ms, "UNCUT_KEEP", 60)
        md = StreamingMarkdown()
        md.write("Before.\n\n")
        md.write(doc)
        if any(b.uncut for b in md._blocks):
            uncut += 1
            assert len(md._blocks) <= len(whole._blocks)  # (an uncut block stands for one or more)
            if case % 2:  # from the end, as the settling pass does
                while (i := next((k for k, b in enumerate(md._blocks) if b.uncut), -1)) >= 0:
                    md._expand(i, ms.UNCUT_KEEP)
        assert md.blocks == whole.blocks
        assert blocks(md) == blocks(whole), doc
    assert uncut > 100


async def test_an_uncut_flood_is_cut_when_scrolled_into_view_or_when_idle(monkeypatch) -> None:
    """A long write leaves the text above its last screens uncut (its height estimated): scrolled
    into view before the idle pass got there, it is cut and drawn at once; otherwise the idle
    pass cuts it from its end, slice by slice, until every block is drawn exactly, the same
    blocks as a write that was cut whole."""
    whole = [b.source for b in StreamingMarkdown(_doc(60), sealed=True)._blocks]  # cut whole
    monkeypatch.setattr(ms, "UNCUT_MIN", 2000)
    monkeypatch.setattr(ms, "UNCUT_KEEP", 1500)
    for scroll in (True, False):
        app = Scroller()
        async with app.run_test(size=(80, 24)) as pilot:
            md = app.query_one(StreamingMarkdown)
            view = app.query_one(VerticalScroll)
            view.anchor()
            md.write(_doc(60))
            await pilot.pause()
            assert md._blocks[0].uncut and md._blocks[0].strips is None
            assert "x59 = 59" in "\n".join(md.render_line(y).text for y in range(md._content - 8, md._content))
            md.seal()
            if scroll:
                view.release_anchor()
                view.scroll_home(animate=False)
                await pilot.pause()
                await pilot.pause()
                assert not md._blocks[0].uncut and md._blocks[0].strips is not None
                assert "Part 0" in "\n".join(md.render_line(y).text for y in range(md._blocks[0].height))
            await wait_until(pilot, lambda: md.settled)
            assert not any(b.uncut for b in md._blocks)
            assert [b.source for b in md._blocks] == whole
            exact = sum(len(render_strips(md, b.source, md._width)) for b in md._blocks) + len(md._blocks) - 1
            await pilot.pause()
            assert md.size.height == exact == md._height
            if not scroll:
                assert view.scroll_y >= view.max_scroll_y - 1  # the view followed to the end
