"""Markdown that grows cheaply: settled blocks are rendered once, only the tail is redrawn.

Why not Textual's ``Markdown`` widget: it mounts one widget (often several) per Markdown block,
and each mount restyles and reflows the chat; measured here (tests/benchmarks/bench_tui.py) that
cost ~0.9 of a core at 150 tokens/s and made a 20k-token flood 60-70x slower than the bare
stream. This widget keeps the number of widgets per answer small:

* the text is split at the last *block boundary* (a blank line outside a code fence);
* everything before it that is new since the last frame becomes ONE frozen ``Static`` holding a
  Rich ``Markdown`` renderable (headings, lists, tables, code highlighted), rendered once;
* the unfinished tail (less than one block) lives in a single ``Static`` re-rendered per frame.

So a frame costs O(tail + new text), never O(answer), and at most one widget is mounted per
frame. :meth:`write` is called by the chat at most ~30 times a second with what arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown

CODE_THEME = "monokai"


def render(text: str) -> "RichMarkdown":
    from rich.markdown import Markdown as RichMarkdown  # lazily: not needed for the first frame

    return RichMarkdown(text, code_theme=CODE_THEME, hyperlinks=False)


def split_settled(tail: str, in_fence: bool) -> tuple[int, bool]:
    """``(n, fence)``: ``tail[:n]`` ends at the last blank line outside a code fence (0 = none
    yet), and ``fence`` is whether a fence is open at ``n``."""
    pos = 0
    cut, cut_fence = 0, in_fence
    fence = in_fence
    for line in tail.splitlines(keepends=True):
        pos += len(line)
        if not line.endswith("\n"):
            break  # an unfinished line never settles
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        elif not stripped and not fence:
            cut, cut_fence = pos, fence
    return cut, cut_fence


class StreamingMarkdown(Vertical):
    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; padding: 0 1; }
    StreamingMarkdown > Static { height: auto; }
    StreamingMarkdown > .block { margin: 0 0 1 0; }
    """

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text
        self._done = 0
        self._in_fence = False

    def compose(self) -> ComposeResult:
        if self.text:
            yield Static(render(self.text), classes="block")
            self._done = len(self.text)
        yield Static("", classes="tail")

    def write(self, chunk: str) -> None:
        """Append ``chunk`` (whatever arrived since the last frame)."""
        if not chunk:
            return
        self.text += chunk
        tail = self.text[self._done:]
        n, fence = split_settled(tail, self._in_fence)
        live = self.query_one(".tail", Static)
        if n:
            self.mount(Static(render(tail[:n]), classes="block"), before=live)
            self._done += n
            self._in_fence = fence
            tail = tail[n:]
        live.update(render(tail) if tail.strip() else "")
