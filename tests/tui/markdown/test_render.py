"""Rendering blocks with Rich (a2ia_tui.tui.markdown.render): the cheap ``Markdown`` draws what
Rich draws, and the warm-up loads what the first code block needs."""

from __future__ import annotations

import io

from a2ia_tui.tui.markdown.render import CODE_THEME, markdown_class, render

SAMPLES = [
    "A paragraph with *emphasis*, **strong**, `code`, ~~struck~~ and a [link](http://x.y).",
    "Autumn moonlight—\na worm digs silently\ninto the chestnut.",
    "# A heading\n\n- one\n- two\n  - nested\n\n1. first\n2. second",
    "```python\ndef f(x):\n    return {'a': [x, 2.5, None]}  # comment\n```",
    "```no-such-language\nplain text, not highlighted\n```",
    "```\nno language at all\n```",
    "    an indented code block",
    "> a quote\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |",
]


def test_the_cheap_markdown_draws_exactly_what_rich_draws() -> None:
    """:func:`markdown_class` shares one parser, lexers and themes between blocks; what it draws
    must be Rich's own, segment for segment (twice: the shared caches are warm the second
    time), and it must set every attribute Rich's ``Markdown`` sets (a new one in a later Rich
    fails here)."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(width=50, color_system="truecolor", force_terminal=True, file=io.StringIO())
    options = console.options.update(width=40)
    cheap = markdown_class()
    for _ in range(2):
        for source in SAMPLES:
            ours = cheap(source, code_theme=CODE_THEME, hyperlinks=False)
            rich = Markdown(source, code_theme=CODE_THEME, hyperlinks=False)
            # the one change: a single newline in a paragraph is a line break
            for token in rich.parsed:
                for child in token.children or ():
                    if child.type == "softbreak":
                        child.type = "hardbreak"
            assert set(vars(ours)) == set(vars(rich))
            assert {k: v for k, v in vars(ours).items() if k != "parsed"} == {
                k: v for k, v in vars(rich).items() if k != "parsed"
            }
            assert ours.parsed == rich.parsed
            assert list(console.render(ours, options)) == list(console.render(rich, options)), source


def test_a_single_newline_is_a_line_break() -> None:
    """A poem keeps its lines (CommonMark would join them into one paragraph); a blank line
    still starts a new paragraph."""
    from rich.console import Console

    console = Console(width=60, file=io.StringIO(), color_system=None)
    with console.capture() as cap:
        console.print(render("Autumn moonlight—\na worm digs silently\ninto the chestnut.\n\nBashō"))
    assert [line.rstrip() for line in cap.get().splitlines()] == [
        "Autumn moonlight—",
        "a worm digs silently",
        "into the chestnut.",
        "",
        "Bashō",
    ]


def test_warm_up_loads_what_the_first_code_block_needs():
    """In a fresh process: before the warm-up, Pygments' Python lexer is not loaded (so the first
    code block of an answer would load it mid-frame); after it, it is, and a block renders
    without importing anything."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from a2ia_tui.tui.markdown import render as m\n"
        "before = 'pygments.lexers.python' in sys.modules\n"
        "m.warm_up()\n"
        "after = set(sys.modules)\n"
        "import io\n"
        "from rich.console import Console\n"
        "Console(file=io.StringIO(), width=40).print(m.render('```python\\ny = 2\\n```\\n'))\n"
        "print(before, 'pygments.lexers.python' in after, sorted(set(sys.modules) - after))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False True []", out.stdout + out.stderr
