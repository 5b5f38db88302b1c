"""Textual's parsed CSS, kept between runs.

Textual parses the CSS of every widget class on the screen (its ``DEFAULT_CSS``, and the app's
``a2ia.tcss``) at every start: ~85 rules, 20-25 ms of the ~0.4 s before the first frame on a
2-core machine. The result depends only on the CSS text, where it came from, and the theme's
variables (substituted while parsing), so it is saved here after a run and loaded at the next
start, which then only unpickles it (~2 ms).

- The files live in ``<state dir>/textual-css/``, one per theme (named by a hash of the
  Textual build and the Python version, this format and the theme's variables, which the file also
  holds and which must match); a file that cannot be read is ignored (the CSS is parsed as
  usual) and replaced at the next save.
- A CSS text that is not in the file (a widget seen for the first time, an upgrade) is parsed
  as usual; the file is written again when a run has parsed something new.
- It is a pickle: it is read from the user's own state directory, which only the user can write,
  like the config and mcpServers files that already decide what a2ia-tui runs.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

#: Bumped when what is stored changes.
FORMAT = 1
#: Parsed CSS texts the stylesheet keeps (Textual's default, 64, is fewer than a session that
#: opens the palette, the dialogs and the engine screens parses: the start screen's would be
#: evicted, and never saved again).
KEEP = 256


def _textual_build() -> tuple:
    """Which Textual is installed, cheaply: the path, size and time of the modules that define the
    parsed rules (``textual.__version__`` reads the package metadata: ~40 ms). An upgrade or a
    reinstall rewrites them."""
    from textual.css import model, styles

    out = []
    for module in (model, styles):
        st = os.stat(module.__file__)
        out.append((module.__file__, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _identity(stylesheet: Any) -> tuple:
    return (FORMAT, _textual_build(), sys.version_info[:2], sorted(stylesheet._variables.items()))


def cache_file(stylesheet: Any, state_dir: Path) -> Path:
    """The file for this Textual version and these theme variables (one per theme used)."""
    import hashlib

    digest = hashlib.sha256(repr(_identity(stylesheet)).encode()).hexdigest()[:16]
    return Path(state_dir) / "textual-css" / f"{digest}.pickle"


def load(stylesheet: Any, state_dir: Path) -> int:
    """Fill ``stylesheet``'s parse cache from the file for its variables; returns how many CSS
    texts it held (0: none used)."""
    stylesheet._parse_cache.grow(KEEP)
    try:
        data = pickle.loads(cache_file(stylesheet, state_dir).read_bytes())
        if data.get("identity") != _identity(stylesheet):
            return 0
        rules = data["rules"]
    except Exception:  # noqa: BLE001 - missing, unreadable, another version: parse as usual
        return 0
    cache = stylesheet._parse_cache  # Textual's LRUCache: no update()
    for key, value in rules.items():
        cache[key] = value
    return len(rules)


def save(stylesheet: Any, state_dir: Path, known: int) -> bool:
    """Write ``stylesheet``'s parse cache when it holds more than the ``known`` entries loaded
    at start. Atomic (a temporary file, then a rename); never raises."""
    rules = {key: stylesheet._parse_cache[key] for key in stylesheet._parse_cache.keys()}
    if len(rules) <= known:
        return False
    try:
        data = pickle.dumps({"identity": _identity(stylesheet), "rules": rules}, protocol=pickle.HIGHEST_PROTOCOL)
        path = cache_file(stylesheet, state_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - a cache: never fails the app
        return False
    return True
