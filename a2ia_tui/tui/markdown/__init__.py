"""An answer's Markdown, streamed: :mod:`.cutter` (where the text is cut into blocks: plain
string functions), :mod:`.render` (blocks drawn with Rich as Rich draws the whole text),
:mod:`.blocks` (an answer's blocks), :mod:`.pieces` (a code block or a table being streamed,
rendered in pieces) and :mod:`.widget` (:class:`StreamingMarkdown`, one line-API widget per
answer)."""

from .render import warm_up
from .widget import StreamingMarkdown

__all__ = ["StreamingMarkdown", "warm_up"]
