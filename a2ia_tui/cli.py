"""``a2ia-cli``: the agent in line mode, over the same core as the app.

One turn, for scripts::

    a2ia-cli -p "what is in README.md?"      # answer on stdout, tool calls/progress on stderr
    echo "question" | a2ia-cli -p -          # prompt from stdin

exits 0, or 1 with ONE line on stderr when the backend fails (2 for bad configuration).
Without ``-p``: an interactive session with readline editing and history, streaming answers,
y/n/a approvals, Ctrl-C to cancel the answer (Ctrl-C again at the prompt exits) and the
commands ``/clear /tools /model NAME /backend NAME /quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from . import __version__
from .cliargs import add_agent_flags, add_connection_flags, load_or_exit
from .core.agent.conversation import Conversation
from .core.agent.events import (
    Approval,
    ApprovalNeeded,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallRequested,
    TurnFailed,
    TurnFinished,
    Usage,
)
from .core.config import LoadedSettings, load_mcp_servers
from .core.errors import A2IAError

HELP = "/clear  /tools  /model NAME  /backend NAME  /quit"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="a2ia-cli", description="a2ia's agent in line mode (same core as a2ia-tui).")
    p.add_argument("--version", action="version", version=f"a2ia-cli {__version__}")
    add_connection_flags(p)
    add_agent_flags(p)
    p.add_argument("-p", "--prompt", metavar="TEXT", help="one non-interactive turn ('-' reads stdin)")
    p.add_argument("--yes", action="store_true", help="approve tool calls that would ask (non-interactive use)")
    return p


class Session:
    """Backend, hub, orchestrator and conversation for one CLI run."""

    def __init__(self, loaded: LoadedSettings, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.loaded = loaded
        self.settings = loaded.settings
        self.args = args
        self.out, self.err = out, err
        self.conversation = Conversation()
        self.hub = None
        self.orchestrator = None
        self.backend = ""
        self.engines = None

    def note(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    async def open(self) -> None:
        from .core.agent.orchestrator import Orchestrator
        from .core.llm.registry import make_client, resolve_default_backend

        self.backend = await resolve_default_backend(self.settings)
        if self.settings.backends[self.backend].kind == "local":
            await self._ensure_local()
        client = make_client(self.settings, self.backend)
        if self.settings.tools.enabled:
            from .core.tools.hub import MCPHub

            servers = load_mcp_servers(self.loaded.mcp_config)
            self.hub = MCPHub(servers, self.settings)
            await self.hub.start()
            for name, st in self.hub.states().items():
                if st.status != "ready":
                    self.note(f"[mcp] {name}: {st.status}: {st.reason}")
        self.orchestrator = Orchestrator(client, self.hub, self.settings)
        if self.args.debug:
            self.note(f"[debug] backend {self.backend} at {client.base_url}, model {client.model}")

    async def _ensure_local(self) -> None:
        """The bundled engine backs the ``local`` backend: start it unless it already answers."""
        from .core.llm.registry import probe

        ok, _ = await probe(self.settings, self.backend)
        if ok:
            return
        try:
            from .core.engines.manager import EngineManager  # type: ignore[import-not-found]
        except ImportError:
            raise A2IAError("no backend is reachable and the local engine is not available in this build") from None
        self.note("[engine] nothing reachable: starting the bundled local engine (first start loads the model)…")
        self.engines = EngineManager(self.settings, self.loaded.paths)
        await self.engines.start("local")

    async def close(self) -> None:
        if self.orchestrator is not None:
            await self.orchestrator.client.aclose()
        if self.hub is not None:
            await self.hub.aclose()
        if self.engines is not None:
            await self.engines.aclose()

    async def turn(self, text: str, ask) -> bool:
        """Run one turn; returns False when it failed."""
        assert self.orchestrator is not None
        self.conversation.add_user(text)
        ok = True
        wrote = False
        async for ev in self.orchestrator.run_turn(self.conversation):
            if isinstance(ev, TextDelta):
                self.out.write(ev.text)
                self.out.flush()
                wrote = True
            elif isinstance(ev, ThinkingDelta):
                if self.args.debug:
                    self.err.write(ev.text)
            elif isinstance(ev, ToolCallRequested):
                self.note(f"\n→ {ev.name} {json.dumps(ev.arguments, ensure_ascii=False)[:300]}")
            elif isinstance(ev, ApprovalNeeded):
                ev.future.set_result(await ask(ev))
            elif isinstance(ev, ToolCallFinished):
                mark = "✗" if ev.is_error else "✓"
                preview = " ".join(ev.result.split())[:160]
                self.note(f"{mark} {ev.name} ({ev.duration_s:.2f}s): {preview}")
            elif isinstance(ev, Notice):
                self.note(f"[{ev.level}] {ev.text}")
            elif isinstance(ev, Usage):
                if self.args.debug:
                    tps = f"{ev.tokens_per_s:.1f} tok/s" if ev.tokens_per_s else "-"
                    self.note(f"[debug] tokens in {ev.prompt_tokens} out {ev.completion_tokens} · {tps}")
            elif isinstance(ev, TurnFailed):
                self.note(f"a2ia-cli: {ev.message or ev.error}")
                ok = False
            elif isinstance(ev, TurnFinished) and ev.reason == "length":
                self.note("[warning] the answer was cut at the model's length limit")
        if wrote:
            self.out.write("\n")
            self.out.flush()
        return ok


async def _ask_noninteractive(session: Session, ev: ApprovalNeeded) -> Approval:
    verdict = Approval.ALLOW if session.args.yes else Approval.DENY
    session.note(f"[approval] {ev.call.name}: {'approved (--yes)' if session.args.yes else 'declined (no terminal; use --yes)'}")
    return verdict


def _ask_terminal(ev: ApprovalNeeded) -> Approval:
    args = json.dumps(ev.call.arguments, ensure_ascii=False, indent=2)
    print(f"\nThe model wants to run {ev.call.name} ({ev.reason}):\n{args}", file=sys.stderr)
    while True:
        try:
            answer = input("Allow? [y]es / [n]o / [a]lways for this tool: ").strip().lower()
        except EOFError:
            return Approval.DENY
        if answer in ("y", "yes"):
            return Approval.ALLOW
        if answer in ("n", "no", ""):
            return Approval.DENY
        if answer in ("a", "always"):
            return Approval.ALWAYS


def run_prompt(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not text.strip():
        print("a2ia-cli: empty prompt", file=sys.stderr)
        return 2

    async def main() -> int:
        session = Session(loaded, args, sys.stdout, sys.stderr)
        try:
            await session.open()
            assert session.orchestrator is not None
            session.orchestrator.interactive = False
            session.orchestrator.auto_approve = args.yes

            async def ask(ev: ApprovalNeeded) -> Approval:
                return await _ask_noninteractive(session, ev)

            return 0 if await session.turn(text, ask) else 1
        except A2IAError as exc:
            print(f"a2ia-cli: {exc}", file=sys.stderr)
            return 1
        finally:
            await session.close()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130


def run_interactive(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    try:
        import readline  # noqa: F401 - line editing and history for input()

        hist = loaded.paths.state_dir / "cli_history"
        hist.parent.mkdir(parents=True, exist_ok=True)
        if hist.exists():
            readline.read_history_file(hist)
    except (ImportError, OSError):
        hist = None
    loop = asyncio.new_event_loop()
    session = Session(loaded, args, sys.stdout, sys.stderr)
    try:
        loop.run_until_complete(session.open())
    except A2IAError as exc:
        print(f"a2ia-cli: {exc}", file=sys.stderr)
        loop.run_until_complete(session.close())
        return 1
    print(f"a2ia-cli {__version__} · backend {session.backend} · {HELP}", file=sys.stderr)

    async def ask(ev: ApprovalNeeded) -> Approval:
        return _ask_terminal(ev)

    interrupts = 0
    try:
        while True:
            try:
                line = input(f"{session.backend}> ")
                interrupts = 0
            except EOFError:
                break
            except KeyboardInterrupt:
                interrupts += 1
                print("\n(Ctrl-C again to quit)" if interrupts == 1 else "", file=sys.stderr)
                if interrupts >= 2:
                    break
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not loop.run_until_complete(_command(session, line)):
                    break
                continue
            task = loop.create_task(session.turn(line, ask))
            try:
                loop.run_until_complete(task)
            except KeyboardInterrupt:
                task.cancel()
                try:
                    loop.run_until_complete(task)
                except (asyncio.CancelledError, KeyboardInterrupt):
                    pass
                print("\n[cancelled]", file=sys.stderr)
    finally:
        if hist is not None:
            try:
                import readline

                readline.write_history_file(hist)
            except OSError:
                pass
        loop.run_until_complete(session.close())
        loop.close()
    return 0


async def _command(session: Session, line: str) -> bool:
    from .core.llm.registry import make_client

    cmd, _, arg = line.partition(" ")
    arg = arg.strip()
    orch = session.orchestrator
    assert orch is not None
    if cmd in ("/quit", "/exit", "/q"):
        return False
    if cmd == "/clear":
        session.conversation = Conversation()
        session.note("conversation cleared")
    elif cmd == "/tools":
        tools = session.hub.tools() if session.hub else []
        for t in tools:
            flag = " (asks first)" if t.destructive else ""
            session.note(f"  {t.name:<24} [{t.server}]{flag} {t.description.splitlines()[0] if t.description else ''}")
        if not tools:
            session.note("no tools")
    elif cmd == "/model" and arg:
        client = make_client(session.settings, session.backend, model=arg)
        await orch.client.aclose()
        orch.set_client(client)
        session.note(f"model: {arg}")
    elif cmd == "/backend" and arg:
        if arg not in session.settings.backends:
            session.note(f"no backend named {arg!r} (have: {', '.join(session.settings.backends)})")
            return True
        client = make_client(session.settings, arg)
        health = await client.health()
        if not health.ok:
            session.note(f"{arg} is offline: {health.detail}")
            await client.aclose()
            return True
        await orch.client.aclose()
        orch.set_client(client)
        session.backend = arg
        session.note(f"backend: {arg} ({health.detail}); the conversation carries over")
    else:
        session.note(HELP)
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    loaded = load_or_exit(args)
    if args.prompt is not None:
        return run_prompt(loaded, args)
    if not sys.stdin.isatty():
        print("a2ia-cli: no terminal; use -p TEXT (or -p - to read the prompt from stdin)", file=sys.stderr)
        return 2
    return run_interactive(loaded, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

