"""The block cutter (a2ia_tui.tui.markdown.cutter): where an answer's text is cut into blocks,
and the estimated heights, tested on text alone."""

from __future__ import annotations

import pytest

from a2ia_tui.tui.markdown import cutter
from a2ia_tui.tui.markdown.cutter import (
    block_cuts,
    clean_cut,
    closes_fence,
    estimate_height,
    estimate_uncut,
    fence_opener,
    fence_parts,
    list_number,
    table_parts,
)
from tests.helpers.markdown_texts import long_doc


def split_settled(tail: str) -> int:
    """Where the settled part of ``tail`` ends (0: nothing settled yet)."""
    cuts, _ = block_cuts(tail)
    return cuts[-1] if cuts else 0


def test_split_respects_fences() -> None:
    assert split_settled("a\n\n```\ncode\n\nmore") == len("a\n\n")
    # a code block at column 0 ends at its closing line
    assert split_settled("```\ncode\n\nmore\n```\n\nafter\n") == len("```\ncode\n\nmore\n```\n\n")
    assert split_settled("```\ncode\n\nmore\n```\n\n- after") == len("```\ncode\n\nmore\n```\n")
    assert split_settled("no boundary yet") == 0


def test_a_cut_waits_for_the_next_line_and_indented_lines_continue_the_block() -> None:
    # undecided until the next line is complete, or begins with text (a letter: whatever it
    # becomes, a new block)
    assert split_settled("para\n\n") == 0
    assert split_settled("para\n\n-") == 0
    assert split_settled("para\n\nn") == len("para\n\n")
    assert split_settled("para\n\n- n\n") == len("para\n\n")
    # a list item's second paragraph (indented) belongs to the item
    item = "- one\n\n    still item one\n\n- two\n"
    assert block_cuts(item) == ([len("- one\n\n    still item one\n\n")], {len("- one\n\n    still item one\n\n")})
    assert split_settled("- one\n\n  more\n") == 0


def test_a_top_level_code_block_is_a_block_of_its_own() -> None:
    text = "Here it is:\n```python\nx = 1\n\ny = 2\n```\nDone.\n  - not a fence: ```\n"
    opener = len("Here it is:\n")
    closer = text.index("Done.")
    assert block_cuts(text) == ([opener, closer], set())
    # an indented fence (in a list item) is part of its item
    item = "- one\n  ```\n  - code\n  ```\n- two\n"
    two = item.index("- two")
    assert block_cuts(item) == ([two], {two})


def test_a_list_is_cut_between_its_items() -> None:
    text = "Steps:\n1. one\n2. two\n   more of two\n3. three\n\n4. four\nlazy text\n- other list\n"
    one, two, three, four, other = (text.index(x) for x in ("1.", "2.", "3.", "4.", "- other"))
    # a list after text is cut from it; its items are cut apart (joined: no blank line between);
    # a bullet list after the numbered one is another list
    assert block_cuts(text) == ([one, two, three, four, other], {two, three, four})
    # not cut: a number that cannot start a list after text, a list after a thematic break
    # (Rich draws one more blank line there); a quote ends the list: the next item starts another
    assert block_cuts("In\n2024. it rained\n") == ([], set())
    assert block_cuts("- a\n- - -\n- b\n") == ([], set())
    assert block_cuts("- a\n> quote\n- b\n") == ([len("- a\n> quote\n")], set())


def test_the_items_of_a_long_bullet_list_are_cut_without_regular_expressions(monkeypatch) -> None:
    """The next item of a bullet list, right after the last one, is most lines of a long list
    (and of a flood): it is cut on a character test, not by the general case's regular
    expressions. Items that need them (the first, one after a blank line, a thematic break
    that looks like an item, another marker) still get them, and the cuts are the same."""

    class Counting:
        def __init__(self, pattern) -> None:
            self.pattern, self.n = pattern, 0

        def match(self, *args):
            self.n += 1
            return self.pattern.match(*args)

    item, brk = Counting(cutter._ITEM), Counting(cutter._BREAK)
    monkeypatch.setattr(cutter, "_ITEM", item)
    monkeypatch.setattr(cutter, "_BREAK", brk)
    text = "Steps:\n" + "".join(f"- item {k} with a - dash\n" for k in range(100)) + "-   wide\n- - -\n"
    starts = [m for m in range(len(text)) if text.startswith("- item", m)] + [text.index("-   wide")]
    assert block_cuts(text) == (starts, set(starts[1:]))
    assert item.n <= 2 and brk.n <= 2  # the first item and the thematic break


def test_a_form_feed_or_line_separator_does_not_hold_back_later_cuts() -> None:
    # str.splitlines() also ends lines at these; an unfinished "line" there stopped every cut after it
    for odd in ("\x0c", "\u2028", "\x1c", "\r"):
        text = f"one{odd}two\n\nthree\n\nfour\n"
        assert block_cuts(text)[0] == [len(f"one{odd}two\n\n"), len(f"one{odd}two\n\nthree\n\n")]


def test_estimate_is_exact_for_short_prose_and_code() -> None:
    assert estimate_height("one line\n\n", 40) == 1
    assert estimate_height("x" * 85, 40) == 3
    assert estimate_height("```py\nx = 1\ny = 2\n```\n\n", 40) == 4  # padding line + 2 + padding line


def test_a_clean_cut_is_where_cutting_starts_afresh() -> None:
    """clean_cut(text, end) finds a place at or before ``end`` where block_cuts cuts the whole
    text and then goes on as it does from the start of a text: so the text before it and the
    text after it, cut on their own, give the whole text's cuts (on 4,000 random texts)."""
    import os
    import random

    rng = random.Random(int(os.environ.get("A2IA_TEST_SEED", 2026)))
    found = 0
    for _ in range(4000):
        text = long_doc(rng, html=rng.random() < 0.3)
        end = rng.randint(0, len(text))
        at = clean_cut(text, end)
        if not at:
            continue
        found += 1
        cuts, joins = block_cuts(text)
        assert at <= end and at in cuts and at not in joins, (text, at)
        assert block_cuts(text[:at])[0] == [c for c in cuts if c < at], (text, at)
        assert block_cuts(text[at:]) == ([c - at for c in cuts if c > at], {c - at for c in joins if c > at}), (
            text,
            at,
        )
    assert found > 200
    assert clean_cut("Some text.\n\n<div>\n\nMore text.\n\nThe end.\n", 40) == 0  # HTML: none
    assert clean_cut("```\ncode\n\nstill code\n```\n", 30) == 0  # inside a fence: none
    assert clean_cut("---\n\nafter a rule\n\ntext\n", 16) == 0  # after a thematic break: none


def test_the_estimate_of_uncut_text_is_the_estimate_of_its_lines() -> None:
    """estimate_uncut (regular expressions over the text, not a loop over its lines) gives what
    estimate_height gives, on 2,000 random texts."""
    import random

    rng = random.Random(2026)
    for _ in range(2000):
        text = "".join(rng.choice(["a" * rng.randint(0, 120), "\n", "\n\n", "b c ", "é "]) for _ in range(30))
        width = rng.randint(5, 80)
        assert estimate_uncut(text, width) == estimate_height(text, width), (text, width)


def test_the_cuts_do_not_depend_on_how_the_text_arrived() -> None:
    """The widget cuts the tail (the text from the last cut) again at every write: the cuts of
    any prefix are cuts of the whole text, and cutting again from the last of them gives the
    whole text's cuts and joins after it (on 300 random texts, every third prefix)."""
    import random

    rng = random.Random(2026)
    for _ in range(300):
        text = long_doc(rng, html=rng.random() < 0.3)
        cuts, joins = block_cuts(text)
        for k in range(0, len(text) + 1, 3):
            part_cuts, part_joins = block_cuts(text[:k])
            assert set(part_cuts) <= set(cuts) and part_joins <= joins, (text, k)
            if part_cuts:
                at = part_cuts[-1]
                rest_cuts, rest_joins = block_cuts(text[at:])
                assert [c + at for c in rest_cuts] == [c for c in cuts if c > at], (text, at)
                assert {c + at for c in rest_joins} == {c for c in joins if c > at}, (text, at)


def test_fences_open_and_close_as_commonmark_reads_them() -> None:
    assert fence_opener("```python") == ("`", 3)
    assert fence_opener("  ~~~~ text") == ("~", 4)
    assert fence_opener("``` `inline` ```") is None  # a backtick in a backtick fence's info: inline code
    assert fence_opener("``") is None
    assert closes_fence("````", ("`", 3)) and closes_fence("```  ", ("`", 3))
    assert not closes_fence("``", ("`", 3))  # shorter than the opener
    assert not closes_fence("~~~", ("`", 3))  # another character: code
    assert not closes_fence("``` python", ("`", 3))  # text after it: code


def test_the_parts_of_a_top_level_code_block() -> None:
    """fence_parts: (offset of the opening line, language, complete code lines, unfinished last
    line, closed); None where the block is not a fenced code block at column 0 on its own."""
    assert fence_parts("\n```python\nx = 1\ny = ") == (1, "python", ["x = 1"], "y = ", False)
    assert fence_parts("``` python extra\nx = 1\n```\n") == (0, "python", ["x = 1"], "", True)
    assert fence_parts("~~~\nplain\n~~~") == (0, "text", ["plain"], "", True)  # a closer still arriving
    assert fence_parts("```\ncode\n```\nafter") is None  # text after the closing fence
    assert fence_parts("``` `x` ```\n") is None  # inline code
    assert fence_parts("Here:\n```\ncode\n```\n") is None
    assert fence_parts("```python") is None  # the opening line is not complete yet


def test_the_parts_of_a_table() -> None:
    """table_parts: (offset of the header, header and delimiter lines, complete rows, unfinished
    last row); None for anything but a table whose every row starts with "|"."""
    head = "| a | b |\n|---|:-:|"
    assert table_parts(f"\n{head}\n| 1 | 2 |\n| 3") == (1, head, ["| 1 | 2 |"], "| 3")
    assert table_parts(f"{head}\n| 1 | 2 |\n\n\n") == (0, head, ["| 1 | 2 |"], "")
    assert table_parts(f"{head}\n") == (0, head, [], "")
    assert table_parts("| a | b |\n| not a delimiter |\n") is None
    assert table_parts(f"{head}\n| 1 | 2 |\ntext\n") is None
    assert table_parts("| a | b |") is None  # no delimiter row yet


@pytest.mark.parametrize(
    ("source", "number"),
    [("3. three", 3), ("\n\n12) twelve\n", 12), ("- bullet", None), ("2024 was a year", None), ("text", None)],
)
def test_the_number_a_numbered_item_opens_with(source: str, number: int | None) -> None:
    assert list_number(source) == number


def test_the_cutter_needs_neither_rich_nor_textual() -> None:
    """Loaded on its own in a fresh process, the cutter imports no Rich, Textual or Pygments."""
    import subprocess
    import sys

    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cutter', {cutter.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.block_cuts('a\\n\\nb')[0] == [3]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'textual', 'pygments')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
