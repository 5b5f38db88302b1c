"""Text from outside (model output, tool results, server answers, log files, the workspace) made
safe once, where it enters or where it is shown.

Two separate hazards:

* **Lone surrogates** (``"\\ud800"``): valid in a Python ``str`` but not encodable as UTF-8, so
  they break every later ``encode`` (SQLite, JSON for the MCP session, the terminal). They arrive
  through ``json.loads`` of ``"\\ud800"`` escapes. :func:`scrub` replaces each with U+FFFD.
* **Terminal control sequences** (ESC, C1, other C0 codes): written raw to a terminal they can
  clear the screen, move the cursor, or set the clipboard (OSC 52). :func:`printable` turns every
  control character except newline and tab into its visible Unicode "control picture" (ESC becomes
  ``␛``), so nothing is lost and nothing is interpreted.

Both are cheap when there is nothing to do (one regex search), so they can sit on hot paths.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile(r"[\ud800-\udfff]")

# C0 except \t and \n, DEL, C1. \r alone can overwrite a printed line, so it goes too
# (\r\n is first folded into \n).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_PICTURES = {i: chr(0x2400 + i) for i in range(0x20)}
_PICTURES[0x7F] = "\u2421"
_PICTURES.update({i: "\ufffd" for i in range(0x80, 0xA0)})
del _PICTURES[0x09], _PICTURES[0x0A]


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (identity when there is none)."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


def scrub_obj(value: object) -> object:
    """:func:`scrub` applied to every string inside a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_obj(k): scrub_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_obj(v) for v in value]
    return value


def has_controls(text: str) -> bool:
    return _CONTROL.search(text) is not None


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: control characters (but newline and tab) shown as
    control pictures, lone surrogates as U+FFFD."""
    text = scrub(text)
    if _CONTROL.search(text) is None:
        return text
    return text.replace("\r\n", "\n").translate(_PICTURES)
