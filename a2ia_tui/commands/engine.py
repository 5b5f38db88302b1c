"""``a2ia-tui engine start|stop|status|logs|command|autotune [ENGINE] [--model M] [--port P]``,
``a2ia-tui engine pull [MODEL]`` (download a hub model into the cache: commands/pull.py).

ENGINE is a registered engine kind (:mod:`a2ia_tui.core.engines.kinds`: ``vllm``, ``local``).

``start`` returns once the engine is ready (exit 0) or failed (exit 1, cause and hint on stderr)
and leaves it running under its pid file; ``stop`` stops it from any later process; ``command``
prints the exact argv the app would run (``--print0`` for scripts: NUL-separated); ``autotune``
prints the vLLM estimate for this machine's GPUs (exit 1 when the model does not fit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    # The engine kinds come from the registry, read in run(): building the parser imports no engine.
    # `pull` takes a hub model id in ENGINE's place (commands/pull.py).
    p.add_argument("action", choices=["start", "stop", "status", "logs", "command", "autotune", "pull"])
    p.add_argument(
        "engine",
        nargs="?",
        default=None,
        metavar="ENGINE",
        help="an engine kind (default: vllm; see `engine status`); pull: the hub model id",
    )
    p.add_argument("--port", type=int, help="port to serve on")
    p.add_argument(
        "--engine-model",
        "-m",
        dest="engine_model",
        metavar="M",
        help="model to serve (vllm: a Hugging Face id or folder; local: a GGUF file)",
    )
    p.add_argument("--print0", action="store_true", help="command: NUL-separated argv for scripts")
    p.add_argument("--json", action="store_true", help="status/command: JSON")
    p.add_argument("--lines", "-n", type=int, default=50, help="logs: how many lines")
    p.add_argument("--follow", "-f", action="store_true", help="logs: keep printing new lines")


def _overrides(args: argparse.Namespace) -> dict:
    from ..core.engines.kinds import engine_kind

    out: dict = {}
    model = args.engine_model or getattr(args, "model", None)
    if args.port:
        out["port"] = args.port
    if model:
        out[engine_kind(args.engine).model_field] = model
    return out


def run(args: argparse.Namespace) -> int:
    from ..cliargs import load_or_exit
    from ..core.engines.kinds import engine_kinds
    from ..core.engines.manager import EngineManager
    from ..core.errors import EngineError
    from ..core.redact import mask_argv
    from ..core.textsafe import printable

    if args.action == "pull":
        from .pull import run_pull

        return run_pull(args, load_or_exit(args))
    kinds = engine_kinds()
    if args.engine is None:
        args.engine = next(iter(kinds))
    elif args.engine not in kinds:
        print(f"a2ia: no engine kind {printable(args.engine)!r} (have: {', '.join(kinds)})", file=sys.stderr)
        return 2
    loaded = load_or_exit(args)
    mgr = EngineManager(loaded.settings, loaded.paths)
    name = args.engine
    if args.action == "command":
        argv, notes = mgr.command(name, _overrides(args))
        if args.print0:  # for scripts that run it: the exact argv, secrets included
            sys.stdout.write("\0".join(argv) + "\0")
        elif args.json:
            print(json.dumps({"argv": mask_argv(argv), "notes": notes}))
        else:
            print(printable(shlex.join(mask_argv(argv))))
            for n in notes:
                print(f"# note: {n}", file=sys.stderr)
        return 0
    if args.action == "autotune":
        if not mgr.kind(name).autotune:
            tuned = ", ".join(n for n, k in mgr.engines().items() if mgr.kind(n).autotune)
            print(f"a2ia: autotune is for {tuned} ({name} has nothing to tune)", file=sys.stderr)
            return 2
        proposal = mgr.proposal(name, model=_overrides(args).get(mgr.kind(name).model_field))
        if args.json:
            print(json.dumps({**proposal.to_dict(), "overrides": proposal.overrides()}, indent=2))
        else:
            print(proposal.summary())
        return 0 if proposal.fits else 1
    if args.action == "status":
        from ..core.engines.status import read_engine_status

        status = read_engine_status(loaded.settings, loaded.paths)
        if args.json:
            print(json.dumps(status, indent=2))
        else:
            for n, s in status.items():
                extra = f" pid {s['pid']}" if s.get("pid") else ""
                print(f"{n:<6} {s.get('status', '?'):<10} {s.get('url', '')}  {s.get('model', '')}{extra}")
        return 0
    if args.action == "logs":
        path = mgr[name].log_path
        if not path.exists():
            print(f"a2ia: no log yet at {path}", file=sys.stderr)
            return 1
        # the log holds whatever the engine (and the model's tokenizer, the weights' README...)
        # printed: control sequences are shown, not obeyed
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
            sys.stdout.writelines(printable(line) for line in lines[-args.lines :])
            try:
                while args.follow:
                    line = fh.readline()
                    if line:
                        sys.stdout.write(printable(line))
                        sys.stdout.flush()
                    else:
                        time.sleep(0.2)
            except KeyboardInterrupt:
                pass
        return 0

    async def act() -> int:
        from ..core.textsafe import printable

        left = mgr.leftovers()
        for note in mgr.notes:
            print(f"a2ia: note: {printable(note)}", file=sys.stderr)
        if args.action == "start":
            if left.get(name):
                rec = left[name]
                from urllib.parse import urlsplit

                url = printable(str(rec.get("url", "?")))
                if args.port and urlsplit(url).port != args.port:
                    print(
                        f"a2ia: {name} already runs at {url} (pid {rec['pid']}), not on port {args.port}: "
                        f"stop it first (a2ia-tui engine stop {name}) to start it there",
                        file=sys.stderr,
                    )
                    return 1
                print(f"{name} is already running (pid {rec['pid']}) at {url}")
                return 0
            print(f"starting {name}… (log: {mgr[name].log_path})", file=sys.stderr)
            last = [""]

            def show(n: str, s) -> None:
                # a download prints a line per 10% (its detail carries the bytes), phases once each
                key = f"{s.phase}:{int(s.progress * 10)}" if s.phase == "downloading" else s.phase
                if n == name and s.phase and key != last[0]:
                    last[0] = key
                    print(
                        f"  {int(s.progress * 100):3d}%  {s.phase}" + (f" — {s.detail}" if s.detail else ""),
                        file=sys.stderr,
                    )

            mgr.add_listener(show)
            try:
                state = await mgr.start(name, _overrides(args))
            except EngineError as exc:
                print(f"a2ia: {exc}", file=sys.stderr)
                return 1
            mgr.detach()  # leave it running under its pid file
            print(f"{name} ready at {state.url} (pid {state.pid}, model {state.model})")
            return 0
        state = await mgr.stop_leftover(name)
        print(f"{name}: {state.status}")
        return 0

    return asyncio.run(act())
