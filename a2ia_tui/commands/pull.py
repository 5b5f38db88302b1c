"""``a2ia-tui engine pull [MODEL]``: download a Hugging Face hub model into the local cache.

With no MODEL it pulls the vLLM engine's configured model (``engines.vllm.model``). A progress
bar on stderr (a line per 10% when stderr is not a terminal); exit 0 with the snapshot folder on
stdout, 1 with one line saying why (gated, not found, disk full, hub unreachable), 130 on ctrl+c
(the download stops; the next pull resumes it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def run_pull(args: argparse.Namespace, loaded: Any) -> int:
    from ..core.childenv import user_env
    from ..core.errors import ModelError
    from ..core.models import hfcache
    from ..core.textsafe import printable

    given = args.engine if args.engine not in (None, "vllm", "local") else None
    model = given or args.engine_model or loaded.settings.engines.vllm.model
    if not hfcache.looks_like_hub_id(model):
        print(printable(f"a2ia: {model!r} is not a hub model id (org/name)"), file=sys.stderr)
        return 2
    env = user_env(loaded.settings)
    cache = hfcache.hub_cache_dir(env)
    if not hfcache.hub_offline(env) and hfcache.is_complete(model, cache_dir=cache):
        print(f"{model} is already in the hub cache", file=sys.stderr)
        print(hfcache.repo_folder(model, cache))
        return 0
    bar = _Bar(model, sys.stderr.isatty())
    try:
        path = asyncio.run(hfcache.pull(model, cache_dir=cache, env=env, on_progress=bar.update))
    except ModelError as exc:
        bar.close()
        print(printable(f"a2ia: {exc}" + (f" (hint: {exc.hint})" if exc.hint else "")), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("a2ia: pull interrupted (run it again to resume)", file=sys.stderr)
        return 130
    bar.close(done=True)
    print(path)
    return 0


class _Bar:
    """Rich's progress bar on a terminal; a plain line per 10% otherwise (logs, CI)."""

    def __init__(self, model: str, tty: bool) -> None:
        self.model = model
        self._last_decile = -1
        self._progress: Any = None
        self._task: Any = None
        if tty:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(f"pulling {model}", total=None)
        else:
            print(f"pulling {model}…", file=sys.stderr)

    def update(self, p: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=p.done, total=p.total)
            return
        if p.fraction is not None:
            decile = int(p.fraction * 10)
            if decile > self._last_decile:
                self._last_decile = decile
                print(f"  {p.text}", file=sys.stderr, flush=True)

    def close(self, done: bool = False) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif done and self._last_decile < 10:
            print("  done", file=sys.stderr)
