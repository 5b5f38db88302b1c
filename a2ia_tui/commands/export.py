"""``a2ia-tui export ID``: write a saved conversation as Markdown (stdout or ``-o FILE``).

``ID`` may be any unique prefix of the id shown on the saved-chats screen; ``--list`` prints
the saved conversations (id, messages, title). Errors are one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cliargs import load_or_exit


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="conversation id (or a unique prefix of it)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--list", action="store_true", help="list the saved conversations and exit")


def run(args: argparse.Namespace) -> int:
    from ..core.errors import StoreError
    from ..core.store import HistoryStore, history_path, to_markdown
    from ..core.textsafe import printable

    loaded = load_or_exit(args)
    path = history_path(loaded)
    if not path.exists():
        print(f"a2ia-tui export: no history database at {path}", file=sys.stderr)
        return 1
    try:
        store = HistoryStore(path)
        if args.list:
            for info in store.list():
                print(printable(f"{info.id}  {info.messages:4d}  {info.title}"))
            return 0
        if not args.id:
            print("a2ia-tui export: give a conversation id (see --list)", file=sys.stderr)
            return 2
        conv = store.load(store.resolve(args.id))
        text = to_markdown(conv)
    except StoreError as exc:
        print(printable(f"a2ia-tui export: {exc}"), file=sys.stderr)
        return 1
    for note in conv.load_notes:  # corrupt rows: exported as repaired, or left out
        print(printable(f"a2ia-tui export: note: {note}"), file=sys.stderr)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"a2ia-tui export: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0
