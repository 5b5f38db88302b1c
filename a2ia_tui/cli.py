"""``a2ia-cli``: the agent in line mode, over the same core as the app.

One turn, for scripts::

    a2ia-cli -p "what is in README.md?"      # answer on stdout, tool calls/progress on stderr
    echo "question" | a2ia-cli -p -          # prompt from stdin

exits 0, or 1 with ONE line on stderr when the backend fails (2 for bad configuration).
Without ``-p``: an interactive session with readline editing and history, streaming answers,
y/n/a approvals (keys typed before a question appears are discarded, and "always" asks
again to confirm), Ctrl-C to cancel the answer (Ctrl-C again at the prompt exits) and the
commands ``/clear /tools /model NAME /backend NAME /quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import __version__
from .cliargs import add_agent_flags, add_connection_flags, chat_overrides, config_error_line, load_or_exit
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
from .core.config import LoadedSettings
from .core.errors import A2IAError, ConfigError
from .core.redact import mask_url, redact_text
from .core.session import Session
from .core.textsafe import printable

if TYPE_CHECKING:
    from .core.agent.orchestrator import Orchestrator
    from .core.protocols import ToolHub

HELP = "/clear  /tools  /model NAME  /backend NAME  /quit"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="a2ia-cli", description="a2ia's agent in line mode (same core as a2ia-tui).")
    p.add_argument("--version", action="version", version=f"a2ia-cli {__version__}")
    add_connection_flags(p)
    add_agent_flags(p)
    p.add_argument("-p", "--prompt", metavar="TEXT", help="one non-interactive turn ('-' reads stdin)")
    p.add_argument("--yes", action="store_true", help="approve tool calls that would ask (non-interactive use)")
    return p


class LineSession:
    """One CLI run: the shared session core (backend, engine, hub, orchestrator) and the
    conversation, printed as lines."""

    def __init__(self, loaded: LoadedSettings, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.loaded = loaded
        self.settings = loaded.settings
        self.args = args
        self.out, self.err = out, err
        self.conversation = Conversation()
        self.core = Session.from_loaded(
            loaded, note=lambda text, _level: self.note(text), overrides=chat_overrides(args)
        )

    @property
    def backend(self) -> str:
        return self.core.backend

    @property
    def orchestrator(self) -> Orchestrator | None:
        return self.core.orchestrator

    @property
    def hub(self) -> ToolHub | None:
        return self.core.hub

    def note(self, text: str) -> None:
        # tool names, results and server messages come from outside: no raw control sequences
        print(printable(text), file=self.err, flush=True)

    async def open(self) -> None:
        # nothing but the bundled engine could answer a "local" backend here: it must start
        orch = await self.core.open(require_engine=True, require_reachable=True)
        if self.settings.tools.enabled:
            from .core.tools.workspace import settings_root_warning

            warning = settings_root_warning(self.settings)
            if warning:
                self.note(f"a2ia-cli: warning: {warning}")
            await self.core.start_hub()  # a server that is not ready, or has a note: a note from the session
        if self.args.debug:
            self.note(f"[debug] backend {self.backend} at {mask_url(orch.client.base_url)}, model {orch.client.model}")

    async def close(self) -> None:
        await self.core.aclose()

    async def turn(self, text: str, ask) -> bool:
        """Run one turn; returns False when it failed."""
        assert self.orchestrator is not None
        self.conversation.add_user(text)
        ok = True
        wrote = False
        async for ev in self.orchestrator.run_turn(self.conversation):
            if isinstance(ev, TextDelta):
                self.out.write(printable(ev.text))  # OSC 52, screen clears... shown, not obeyed
                self.out.flush()
                wrote = True
            elif isinstance(ev, ThinkingDelta):
                if self.args.debug:
                    self.err.write(printable(ev.text))
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
                self.note(redact_text(f"a2ia-cli: {ev.message or ev.error}"))
                ok = False
            elif isinstance(ev, TurnFinished) and ev.reason == "length":
                self.note("[warning] the answer was cut at the model's length limit")
        if wrote:
            self.out.write("\n")
            self.out.flush()
        return ok


async def _ask_noninteractive(session: LineSession, ev: ApprovalNeeded) -> Approval:
    verdict = Approval.ALLOW if session.args.yes else Approval.DENY
    session.note(
        f"[approval] {ev.call.name}: {'approved (--yes)' if session.args.yes else 'declined (no terminal; use --yes)'}"
    )
    return verdict


async def _ask_terminal(reader: LineReader, ev: ApprovalNeeded) -> Approval:
    """One deliberate answer: keys typed before the question appeared (a sentence meant for the
    next prompt, typed while the answer streamed) are discarded, not read as the answer; and
    "always" is confirmed by a second question."""
    args = json.dumps(ev.call.arguments, ensure_ascii=False, indent=2)
    name = printable(ev.call.name)
    print(f"\nThe model wants to run {name} ({ev.reason}):\n{printable(args)}", file=sys.stderr, flush=True)
    while True:
        answer = await _ask_line(reader, "Allow? [y]es / [n]o / [a]lways for this tool: ")
        if answer is None:
            return Approval.DENY
        if answer in ("y", "yes"):
            return Approval.ALLOW
        if answer in ("n", "no", ""):
            return Approval.DENY
        if answer in ("a", "always"):
            sure = await _ask_line(reader, f"Run {name} without asking again in this session? [y/N]: ")
            if sure is None:
                return Approval.DENY
            if sure in ("y", "yes"):
                return Approval.ALWAYS
            print("Not always: answer for this call.", file=sys.stderr, flush=True)


async def _ask_line(reader: LineReader, prompt: str) -> str | None:
    """The answer typed after ``prompt`` appeared (lower case, stripped); None at end of input."""
    if _discard_type_ahead():
        print("(discarded what was typed before this question)", file=sys.stderr, flush=True)
    try:
        return (await reader.read(prompt)).strip().lower()
    except EOFError:
        return None


def _discard_type_ahead() -> bool:
    """Throw away the terminal's unread input (``tcflush(TCIFLUSH)``); True if whole lines were
    waiting. Not a terminal (or no termios): nothing to do."""
    try:
        import fcntl
        import struct
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return False
        # FIONREAD on a terminal in canonical mode counts complete lines only: a half-typed line
        # is flushed all the same, without a note
        waiting = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0)))[0]
        termios.tcflush(fd, termios.TCIFLUSH)
        return waiting > 0
    except (ImportError, OSError, ValueError):
        return False


class LineReader:
    """``input()`` (with readline editing) on a daemon thread, awaited from the event loop.

    Why: Ctrl-C must work the same everywhere — while an answer streams, at an approval question
    and at the prompt. A SIGINT handler installed on the loop (``add_signal_handler``) is woken
    through the loop's wakeup fd from whichever thread the kernel picks; a main thread blocked
    in readline's ``select()`` is not reliably interrupted. So the loop always runs in the main
    thread and reading a line is a future. A read abandoned by Ctrl-C stays pending: the next
    :meth:`read` waits for that same line instead of starting a second ``input()``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: asyncio.Future[str] | None = None

    def _start(self, prompt: str) -> asyncio.Future[str]:
        import threading

        fut: asyncio.Future[str] = self.loop.create_future()

        def work() -> None:
            try:
                line: str | BaseException = input(prompt)
            except BaseException as exc:  # noqa: BLE001 - EOFError, mostly; handed to the loop
                line = exc

            def deliver() -> None:
                if fut.done():
                    return
                if isinstance(line, BaseException):
                    fut.set_exception(line)
                else:
                    fut.set_result(line)

            with contextlib.suppress(RuntimeError):  # the loop is closed: we are exiting
                self.loop.call_soon_threadsafe(deliver)

        threading.Thread(target=work, name="a2ia-cli-input", daemon=True).start()
        return fut

    async def read(self, prompt: str) -> str:
        if self.pending is None or self.pending.done():
            self.pending = self._start(prompt)
        else:
            print(prompt, end="", file=sys.stdout, flush=True)  # the abandoned read goes on
        line = await asyncio.shield(self.pending)
        self.pending = None
        return line


def run_prompt(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not text.strip():
        print("a2ia-cli: empty prompt", file=sys.stderr)
        return 2

    async def main() -> int:
        session = LineSession(loaded, args, sys.stdout, sys.stderr)
        try:
            await session.open()
            assert session.orchestrator is not None
            session.orchestrator.interactive = False
            session.orchestrator.auto_approve = args.yes

            async def ask(ev: ApprovalNeeded) -> Approval:
                return await _ask_noninteractive(session, ev)

            return 0 if await session.turn(text, ask) else 1
        except ConfigError as exc:  # the mcpServers file, read when the session opens
            print(config_error_line(exc), file=sys.stderr)
            return 2
        except A2IAError as exc:
            print(printable(redact_text(f"a2ia-cli: {exc}")), file=sys.stderr)
            return 1
        finally:
            await session.close()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130


def run_interactive(loaded: LoadedSettings, args: argparse.Namespace) -> int:
    try:
        import readline  # line editing and history for input()

        from .core.paths import private_dir, private_file

        hist = loaded.paths.state_dir / "cli_history"
        private_dir(hist.parent)
        private_file(hist)  # the prompts typed are the user's alone
        if hist.exists():
            readline.read_history_file(hist)
    except (ImportError, OSError):
        hist = None
    tty_state = _save_tty()
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_interactive(loaded, args, loop))
    finally:
        if hist is not None:
            with contextlib.suppress(OSError, ImportError):
                import readline

                readline.write_history_file(hist)
        loop.close()
        _restore_tty(tty_state)  # an input() abandoned at exit must not leave the terminal raw


async def _interactive(loaded: LoadedSettings, args: argparse.Namespace, loop: asyncio.AbstractEventLoop) -> int:
    session = LineSession(loaded, args, sys.stdout, sys.stderr)
    reader = LineReader(loop)
    turn: list[asyncio.Task] = []
    prompt_wait: list[asyncio.Task] = []
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        if turn:  # an answer streams, a tool runs or an approval is asked: cancel the turn
            turn[0].cancel()
            return
        interrupts += 1
        if interrupts >= 2:
            for t in prompt_wait:
                t.cancel()
        else:
            print("\n(Ctrl-C again to quit)", file=sys.stderr, flush=True)
            for t in prompt_wait:
                t.cancel()  # re-prompt

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        try:
            await session.open()
        except ConfigError as exc:
            print(config_error_line(exc), file=sys.stderr)
            return 2
        except A2IAError as exc:
            print(printable(redact_text(f"a2ia-cli: {exc}")), file=sys.stderr)
            return 1
        print(f"a2ia-cli {__version__} · backend {session.backend} · {HELP}", file=sys.stderr, flush=True)

        async def ask(ev: ApprovalNeeded) -> Approval:
            return await _ask_terminal(reader, ev)

        while True:
            task = asyncio.ensure_future(reader.read(f"{session.backend}> "))
            prompt_wait[:] = [task]
            try:
                line = await task
            except EOFError:
                break
            except asyncio.CancelledError:
                if interrupts >= 2:
                    break
                continue
            finally:
                prompt_wait.clear()
            interrupts = 0
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not await _command(session, line):
                    break
                continue
            turn[:] = [asyncio.ensure_future(session.turn(line, ask))]
            try:
                await turn[0]
            except asyncio.CancelledError:
                print("\n[cancelled]", file=sys.stderr, flush=True)
            finally:
                turn.clear()
        return 0
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await session.close()


def _save_tty() -> Any:
    try:
        import termios

        return termios.tcgetattr(sys.stdin.fileno())
    except (ImportError, OSError, ValueError):
        return None


def _restore_tty(state: Any) -> None:
    if state is None:
        return
    with contextlib.suppress(ImportError, OSError, ValueError):
        import termios

        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, state)


async def _command(session: LineSession, line: str) -> bool:
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
        await session.core.use(session.backend, session.core.make_client(session.backend, arg), adopt_model=False)
        session.note(f"model: {arg}")
    elif cmd == "/backend" and arg:
        if arg not in session.settings.backends:
            session.note(f"no backend named {arg!r} (have: {', '.join(session.settings.backends)})")
            return True
        client, ok, why = await session.core.check(arg, timeout_s=None)
        if not ok:
            session.note(f"{arg} is offline: {why}")
            await client.aclose()
            return True
        await session.core.use(arg, client)
        session.note(f"backend: {arg} ({why}); the conversation carries over")
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
