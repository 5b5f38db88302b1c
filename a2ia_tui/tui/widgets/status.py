"""The status bar: backend:model, tokens/s (live while streaming, the last turn's after), time to
first token, tokens in/out, context used vs the model's maximum, and for vLLM the KV-cache usage
and requests running/waiting. The app sets fields with :meth:`StatusBar.set`; the bar redraws
at most once every :data:`MIN_REDRAW_S` (1 s) for live figures while streaming (each redraw re-lays the screen), so live figures cost nothing per token.
"""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Static

from ...core.textsafe import printable

MIN_REDRAW_S = 1.0


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.fields: dict[str, Any] = {
            "backend": None,
            "model": None,
            "mode": None,
            "streaming": False,
            "tps": None,
            "ttft": None,
            "tokens_in": None,
            "tokens_out": None,
            "context_max": None,
            "kv": None,
            "running": None,
            "waiting": None,
            "note": None,
        }
        self._last = 0.0
        self._shown = ""
        self._pending = False

    def set(self, force: bool = True, **changes: Any) -> None:
        self.fields.update(changes)
        now = time.monotonic()
        if force or now - self._last >= MIN_REDRAW_S:
            self._last = now
            if not self._pending:
                self._pending = True
                # Drawn after the screen's next refresh, not with it: the bar spans the screen's
                # width, and Textual redraws every widget inside the box around all that changed
                # in one refresh, so a bar drawn with a chat frame redrew the sidebar and the
                # right pane too.
                self.call_after_refresh(self._show)

    def _show(self) -> None:
        self._pending = False
        text = self.render_text()
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # one line, full width: its size never changes

    def render_text(self) -> str:
        f = self.fields
        parts = [":".join(x for x in (f["backend"], f["model"]) if x) or "no backend"]
        if f["mode"]:
            parts.append(f["mode"])
        if f["tps"] is not None:
            parts.append(f"{f['tps']:.1f} tok/s" + (" ▶" if f["streaming"] else ""))
        if f["ttft"] is not None:
            parts.append(f"ttft {f['ttft']:.2f} s")
        # "?": the server did not say (llama-cpp-python's streams carry no usage), rather than 0
        tokens_in = "?" if f["tokens_in"] is None else f["tokens_in"]
        if f["tokens_in"] is not None or f["tokens_out"] is not None:
            parts.append(f"in {tokens_in} / out {f['tokens_out'] or 0}")
        if f["context_max"]:
            answered = f["tokens_out"] is not None
            used = "?" if answered and f["tokens_in"] is None else (f["tokens_in"] or 0) + (f["tokens_out"] or 0)
            parts.append(f"ctx {used}/{f['context_max']}")
        if f["kv"] is not None:
            parts.append(f"KV {f['kv'] * 100:.0f}%")
        if f["running"] is not None:
            parts.append(f"req {f['running']}▶ {f['waiting'] or 0}⏸")
        if f["note"]:
            parts.append(f["note"])
        # the model's name and the note come from servers: no control sequence reaches the terminal
        return printable("  │  ".join(parts))
