"""The block cutter: where an answer's Markdown text is cut into blocks that can be drawn one by
one, and cheap guesses at their heights. Plain string functions: no Rich, no Textual (a test
checks the import), so they are tested directly on text.

A cut is made only where Rich draws the two sides as it draws them together (the widget's tests
render both ways); what is before the last cut is settled and never changes.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_FENCE_LINE = ("```", "~~~")
_OPENER = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")


def fence_opener(line: str) -> tuple[str, int] | None:
    """``(character, length)`` if ``line`` opens a code fence (three or more backticks or tildes;
    a backtick fence's info string has no backtick, or it is inline code)."""
    m = _OPENER.match(line)
    if m is None or (m.group(1)[0] == "`" and "`" in m.group(2)):
        return None
    return m.group(1)[0], len(m.group(1))


def closes_fence(line: str, fence: tuple[str, int]) -> bool:
    """``line`` closes a fence opened with ``fence``: the same character, at least as many, and
    nothing after them (a ``~~~`` line inside a backtick fence is code)."""
    stripped = line.strip()
    return stripped.startswith(fence[0] * fence[1]) and not stripped.strip(fence[0])


#: A list item's first line (at column 0): a bullet, or a number with "." or ")", then a blank.
_ITEM = re.compile(r"([-*+]|(\d{1,9})[.)])([ \t]+)")
#: ...and one that is indented.
_INDENTED_ITEM = re.compile(r"([ \t]+)(?:[-*+]|\d{1,9}[.)])[ \t]")
#: A thematic break ("---", "* * *"): not a list item, though it may start like one.
_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
#: Lines at column 0 that may end a list (a quote, a heading, HTML): after one, the items that
#: follow are left in the block, as they may or may not belong to the same list.
_LIST_ENDERS = ">#<"
#: The first characters of the lines block_cuts looks at closely; any other starts text.
_SPECIAL = frozenset(" \t`~-*+_<>#0123456789")


def block_cuts(tail: str) -> tuple[list[int], set[int]]:
    """``(cuts, joins)``: where ``tail`` is cut into blocks, and which of those cuts are between
    two items of one list (no blank line between the two blocks: Rich draws none between the
    items of a list, even of a loose one). A block is drawn on its own, so a cut is made only
    where Rich draws the two sides as it draws them together (a test renders both ways). A cut:

    * after blank lines outside a code fence, unless the next line is indented (a list item's
      next paragraph, an indented code block continue the block before);
    * before a code fence at column 0 that follows text ("Here it is:" then the fence, as models
      write it), and after the closing line of such a fence: a top-level code block is a block
      of its own, so the one being streamed is the whole tail, which :class:`StreamingMarkdown`
      renders piece by piece;
    * before a list item at column 0 that follows text: the next item of the block's list, or a
      bullet list (or one numbered from 1) after other text. So a long list is streamed item by
      item, not rendered whole at every frame.

    Only complete lines are looked at (a cut depends on the line after it), but for text after
    blank lines, a new block whatever it becomes, cut as soon as its first character is in (so
    a paragraph after a long table does not keep the table in the tail). The cuts depend on the
    text alone, never on how it was chunked. Lines end at ``"\n"`` only (a form feed or
    U+2028 in a model's text is not a line end: ``str.splitlines`` made it the end of an
    unfinished line, which held back every cut after it)."""
    cuts: list[int] = []
    joins: set[int] = set()
    fence: tuple[str, int] | None = None  # the open code fence (its character and length)
    top = False  # ...opened at column 0
    pending = -1  # after blank lines: a cut here, unless the next line is indented
    fresh = True  # the block has no line yet
    kind: str | None = None  # the list the block's items belong to: its marker ("-", "*", "+", ".", ")")
    open_list = False  # ...and nothing since its last item may have ended it
    html = False  # in what may be an HTML block (up to a blank line): no fence, no item there,
    after_html = False  # and no cut just after it (Rich draws nothing for it, but a blank line)
    rule = False  # the last line was a thematic break: Rich draws one more blank line after it
    # before a list, a quote or a table than before other blocks, so there is no cut after it
    indent = 0  # where the text of the block's list's last item starts
    murky = False  # an indented item that may be the list's or another: no cut at an item then
    pos = 0
    lines = tail.split("\n")
    unfinished = lines.pop()
    for line in lines:
        start, pos = pos, pos + len(line) + 1
        stripped = line.strip()
        if fence:
            if stripped[:1] == fence[0] and closes_fence(line, fence):
                fence = None
                if top and line[0] in "`~":
                    cuts.append(pos)  # after a top-level code block
                    fresh, kind, open_list, murky = True, None, False, False
            continue
        if not stripped:
            if html:
                html, after_html = False, True  # the HTML block ends, and the block goes on
            elif not after_html:
                pending = pos
            continue
        if line[0] not in _SPECIAL and not html:
            # text (most lines): it ends a run of blank lines, or opens a block, or goes on one
            if pending >= 0:
                if not (rule or after_html):
                    cuts.append(pending)
                    fresh = True
                    murky = False
                pending = -1
            if fresh:
                fresh, kind, open_list = False, None, False
            rule = after_html = False
            continue
        first = line[0]
        if (
            first == kind
            and line[1:2] in (" ", "\t")
            and open_list
            and pending < 0
            and not (fresh or html or murky or rule or after_html)
            and stripped.count(first) < 3
        ):
            # the next item of a bullet list, right after the last one (most lines of a long
            # list): what the general case below does with it, without its regular expressions
            cuts.append(start)
            joins.add(start)
            gap = len(line) - 1 - len(line[1:].lstrip(" \t"))
            indent = 1 + (gap if gap <= 4 else 1)
            continue
        # (most lines are text: the regular expressions are tried only where they may match)
        html = html or first == "<"
        opener = fence_opener(line) if stripped[0] in "`~" and not html else None
        brk = stripped[0] in "-*_" and stripped.count(stripped[0]) >= 3 and _BREAK.match(line) is not None
        item = _ITEM.match(line) if first in "-*+0123456789" and not (opener or html or brk) else None
        mark = item.group(1)[-1] if item else None
        role = None  # for an item line: "next" (of the open list) or "start" (of a list)
        nested = _INDENTED_ITEM.match(line) if first in " \t" and not html else None
        if nested is not None:
            lead = nested.group(1)
            murky = murky or "\t" in lead or not open_list or len(lead) < indent
        if item is not None and murky and not fresh:
            pending = -1  # where its list is unknown, a cut before it could be wrong
        elif item is not None:
            if pending >= 0 or fresh:
                role = "next" if open_list and mark == kind else "start"
            elif open_list and mark == kind:
                role = "next"
            elif mark in ("-", "*", "+") or item.group(2) == "1":
                role = "start"  # (a list that can interrupt a paragraph)
            else:  # "2024. was a year": a paragraph's text, or a new list, depending on what is above
                murky = True
        cut = -1
        if pending >= 0:
            if line[0] not in " \t":
                cut = pending
            elif open_list and (len(line) - len(line.lstrip(" ")) < indent or line[0] == "\t"):
                open_list = False  # an indented block after the list, not in its last item
            pending = -1
        elif not fresh and (role is not None or (opener is not None and line[0] in "`~")):
            cut = start
        if cut >= 0 and (rule or after_html or html):
            cut = -1
            if role is not None:
                role, murky = "inside", True  # a list in the block, not at its start: not followed
        if cut >= 0:
            cuts.append(cut)
            if role == "next":
                joins.add(cut)
            fresh = True
            murky = nested is not None  # (this line, the block's first, is an indented item)
        if fresh:
            fresh, kind, open_list = False, mark, role is not None
        if role in ("start", "next"):
            assert item is not None  # (a role is given to item lines only)
            gap = item.end() - item.end(1)
            indent = item.end(1) + (gap if gap <= 4 else 1)
        elif role == "inside" or (role is None and (first in _LIST_ENDERS or brk)):
            open_list = False
        rule = brk
        after_html = False
        if opener is not None:
            fence, top = opener, line[0] in "`~"
    if pending >= 0 and unfinished[:1] and unfinished[0] not in _SPECIAL and not (rule or after_html or fence):
        cuts.append(pending)  # text begins after blank lines: whatever the line becomes, a new block
    return cuts, joins


def estimate_height(source: str, width: int) -> int:
    """A cheap guess at the rendered height of one block: its source lines, wrapped at ``width``
    (fence lines stand for the code block's padding). Exact for prose and code that fits."""
    w = max(1, width)
    source = source.strip("\n")
    if "\n" not in source:  # (most blocks: a paragraph, a heading, a list item)
        return max(1, -(-len(source) // w))
    h = 0
    for line in source.split("\n"):
        n = len(line)
        h += 1 if n <= w else -(-n // w)
    return max(1, h)


_LONG_LINES: dict[int, re.Pattern] = {}


def estimate_uncut(source: str, width: int) -> int:
    """:func:`estimate_height` of text not cut into blocks yet (its blank lines stand for the
    gaps between them), without a Python loop over its lines: only the lines longer than
    ``width`` are looked at one by one."""
    w = max(1, width)
    long = _LONG_LINES.get(w)
    if long is None:
        # (after a line break: the expression is tried only where a line starts)
        long = _LONG_LINES[w] = re.compile("\n([^\n]{%d,})" % (w + 1))  # noqa: UP031 - an f-string would need {{{ }}} here
    source = source.strip("\n")
    return max(1, source.count("\n") + 1 + sum(-(-len(m) // w) - 1 for m in long.findall("\n" + source)))


#: Lines that may open or close a code fence (what block_cuts looks at inside one), each after
#: the line break before it (searched for in "\n" + text: tried only where a line starts).
_FENCE_LIKE = re.compile(r"\n([^\S\n]*(?:`{3,}|~{3,})[^\n]*)")


def clean_cut(text: str, end: int) -> int:
    """The last position at or before ``end`` where :func:`block_cuts` cuts ``text`` and then
    goes on from the state it starts in (0: none found). So ``text[:p]`` may be cut into blocks
    on its own, later, and ``text[p:]`` now, the same blocks as cutting the whole text gives: a
    line of text (its first character not one that may open anything) after a blank line,
    outside a code fence, not after a thematic break. Text with a line that opens with ``<`` (an
    HTML block may hide a fence) has none."""
    head = text[: text.rfind("\n", 0, max(0, end)) + 1]  # complete lines only
    if head.startswith("<") or "\n<" in head:  # a line that may open an HTML block
        return 0
    inside: list[tuple[int, int]] = []  # the code fences, (opening line's start, closing line's end)
    fence: tuple[str, int] | None = None
    opened = 0
    for m in _FENCE_LIKE.finditer("\n" + head):
        line = m.group(1)
        if fence is None:
            fence = fence_opener(line)
            opened = m.start(1) - 1
        elif line.strip()[:1] == fence[0] and closes_fence(line, fence):
            inside.append((opened, m.end(1) - 1))
            fence = None
    if fence is not None:
        inside.append((opened, len(text)))
    p = head.rfind("\n\n")
    while p > 0:
        at = p + 2  # the start of the line after a blank line...
        first = text[at : at + 1]
        if first and not first.isspace() and first not in _SPECIAL:  # ...a line of text
            e = p  # the end of the last line before the blank ones
            while e > 0 and head[e - 1].isspace():
                e -= 1
            line = head[head.rfind("\n", 0, e) + 1 : e]
            rule = line.lstrip()[:1] in ("-", "*", "_") and _BREAK.match(line) is not None
            k = bisect_right(inside, (at, len(text) + 1)) - 1
            if not rule and (k < 0 or inside[k][1] <= at):
                return at
        p = head.rfind("\n\n", 0, p)
    return 0


def fence_parts(source: str) -> tuple[int, str, list[str], str, bool] | None:
    """A block that is a top-level fenced code block (the fence at column 0), open or closed:
    ``(offset of the opening line, language, the complete code lines, the unfinished last line,
    closed)``; None for any other block. A closing fence still arriving (its line unfinished)
    counts as closed: it is not code."""
    lead = len(source) - len(source.lstrip("\n"))
    opener_end = source.find("\n", lead)
    if opener_end < 0 or not source.startswith(_FENCE_LINE, lead):
        return None
    opener = fence_opener(source[lead:opener_end])
    if opener is None:
        return None  # not a fence (CommonMark): inline code
    info = source[lead:opener_end].lstrip(source[lead]).strip()
    lines = source[opener_end + 1 :].split("\n")
    last = lines.pop()
    closed = closes_fence(last, opener)
    for i, line in enumerate(lines):
        if closes_fence(line, opener):
            if i != len(lines) - 1 or last.strip():
                return None  # text after the closing fence: not a block of its own
            lines.pop()
            closed = True
            break
    return lead, info.partition(" ")[0] or "text", lines, "" if closed else last, closed


#: A table's delimiter row ("|---|:--:|").
_DELIMITER_ROW = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def table_parts(source: str) -> tuple[int, str, list[str], str] | None:
    """A block that is a table whose every row starts with "|" (as models write them):
    ``(offset of the header line, the header and delimiter lines, the complete rows, the
    unfinished last line)``; None for any other block."""
    lead = len(source) - len(source.lstrip("\n"))
    text = source[lead:]
    lines = (text.rstrip("\n") + "\n" if text.endswith("\n") else text).split(
        "\n"
    )  # (a settled table ends with blank lines)
    last = lines.pop()
    if len(lines) < 2 or not lines[0].startswith("|") or not _DELIMITER_ROW.match(lines[1]):
        return None
    rows = lines[2:]
    if any(not row.startswith("|") for row in rows) or (last and not last.startswith("|")):
        return None
    return lead, lines[0] + "\n" + lines[1], rows, last


def list_number(source: str) -> int | None:
    """The number of the numbered list item a block opens with (``"3. three"``: 3); None for any
    other block."""
    source = source.lstrip("\n")
    item = _ITEM.match(source) if source[:1].isdigit() else None
    return int(item.group(2)) if item is not None else None
