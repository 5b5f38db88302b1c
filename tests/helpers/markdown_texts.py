"""Random Markdown texts shared by the cutter's and the widget's tests: lines that often trip a
block cutter."""

from __future__ import annotations

import random

CUT_VOCAB = [
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
    "````",
    "  ```",
    "# Heading",
    "> a quote",
    "---",
    "- - -",
    "***",
    "| a | b |",
    "|---|---|",
    "Title",
    "===",
    "<div>",
    "2024. a year",
    "  - nested item",
    "   3. nested number",
    "\t- tab item",
    "  ",
    "text",
]


def long_doc(rng: random.Random, html: bool) -> str:
    lines = [rng.choice(CUT_VOCAB) for _ in range(rng.randint(1, 80))]
    if not html:
        lines = [line for line in lines if not line.startswith("<")]
    return "\n".join(lines) + rng.choice(["", "\n"])
