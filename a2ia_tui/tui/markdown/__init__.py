"""An answer's Markdown, streamed: :mod:`.cutter` (where the text is cut into blocks: plain
string functions), :mod:`.render` (blocks drawn with Rich as Rich draws the whole text) and
:mod:`.widget` (:class:`StreamingMarkdown`, one line-API widget per answer)."""

from .render import warm_up
from .widget import StreamingMarkdown

__all__ = ["StreamingMarkdown", "warm_up"]
