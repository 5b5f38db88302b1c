"""TUI benchmarks against a loopback fake OpenAI-compatible server (a subprocess, so its CPU is
not counted): streaming CPU at 150 tok/s (Markdown; one long code block, list, table), drawing lag after the last token, flood time vs the
bare client stream, 40k vs 20k tokens, key latency during the flood, start-up to the first
full screen, opening a 1,000-message conversation. Every figure is printed with a ratio against a
baseline measured in the same run. The app runs headless (Textual's ``run_test``): layout and
rendering happen as in a terminal, only the bytes are not written to a tty.

These machines are noisy: the same run can take 1.5x as long a minute later, bare baseline
included. So the app and its baseline are measured in alternating pairs, and a ratio is given
as the median of the pairs' ratios (each pair ran at about the same moment), beside the ratio
of the best times.

    .venv/bin/python tests/benchmarks/bench_tui.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message


def markdown_words(n: int) -> str:
    """Markdown with headings, lists, prose and a code fence every 150 tokens."""
    out: list[str] = []
    i = 0
    while i < n:
        block = i // 150
        out.append(f"\n\n## Section {block}\n\n")
        out.append(" ".join(f"word{j}" for j in range(40)) + "\n\n")
        out.append("".join(f"- item {j} with some text\n" for j in range(10)))
        out.append("\n```python\n" + "".join(f"x{j} = compute({j})\n" for j in range(10)) + "```\n\n")
        out.append(" ".join(f"more{j}" for j in range(30)))
        i += 150
    text = "".join(out)
    words = text.split(" ")
    return " ".join(words[:n])


def _one_kind(n: int, head: str, line, tail: str) -> str:
    """``head``, then ``line(0)``, ``line(1)``, … up to ``n`` words, then ``tail``."""
    out, i, words = [head], 0, 0
    while words < n:
        text = line(i)
        out.append(text)
        words += len(text.split())
        i += 1
    return "".join(out) + tail


def code_words(n: int) -> str:
    """One long code block (~340 lines for 3,000 tokens), indented as a function body is: what a
    model answers when asked for a script."""
    return _one_kind(
        n,
        "Here is the module:\n\n```python\n",
        lambda i: f"    result_{i} = compute_value(items[{i}], factor={i % 7}) + offset  # step {i}\n",
        "```\n\nDone.",
    )


def list_words(n: int) -> str:
    """One long list (~230 items for 3,000 tokens), no blank line between items."""
    return _one_kind(
        n,
        "Steps:\n\n",
        lambda i: f"- Step {i}: configure the *service* number {i} and check `port {8000 + i}` works\n",
        "\nDone.",
    )


def table_words(n: int) -> str:
    """One long table (~230 rows for 3,000 tokens)."""
    return _one_kind(
        n,
        "| id | name | value | note |\n|---|---|---|---|\n",
        lambda i: f"| {i} | item {i} | {i * 3.5} | some note about {i} |\n",
        "\nDone.",
    )


class Server:
    def __init__(self, text: str, tokens_per_s: float | None) -> None:
        self.tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump([{"text": text, "tokens_per_s": tokens_per_s}], self.tmp)
        self.tmp.close()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/fakes/llm_server.py"),
                "--flavor",
                "openai",
                "--port",
                "0",
                "--replies",
                self.tmp.name,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        self.url = line[1]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        os.unlink(self.tmp.name)


async def bare_stream(url: str) -> tuple[float, float, int]:
    """(wall s, cpu s, chunks) for the client alone. Each chunk is time-stamped as the app's
    are (see :func:`app_turn`), so that both sides pay the same for being measured."""
    client = OpenAIClient(url, name="bench", model="fake-model")
    stamps: list[float] = []
    w0, c0 = time.perf_counter(), time.process_time()
    async for chunk in client.stream_chat([Message(role="user", content="go")]):
        if chunk.message.content:
            stamps.append(time.perf_counter())
    w, c = time.perf_counter() - w0, time.process_time() - c0
    await client.aclose()
    return w, c, len(stamps)


def make_app(url: str):
    from a2ia_tui.core.store import HistoryStore
    from a2ia_tui.tui.app import A2IAApp
    from a2ia_tui.tui.factory import tune_gc
    from a2ia_tui.tui.services import AppServices

    loaded = load_settings(
        None, flags={"tools.enabled": False, "backends.vllm.base_url": url, "backends.vllm.kind": "openai"}
    )
    store = HistoryStore(Path(tempfile.mkdtemp()) / "h.sqlite3")
    services = AppServices(
        loaded=loaded,
        make_client=lambda n, m: OpenAIClient(url, name=n, model="fake-model"),
        store=store,
        initial_backend="vllm",
        extras={"no_metrics": True},
    )
    tune_gc()  # as a2ia_tui.tui.factory.make_app, the real start path, does
    return A2IAApp(services)


async def app_turn(url: str, *, key_probe: bool = False, cpu_stamps: bool = False, size=(120, 40)) -> dict:
    """One turn in the headless app: wall, cpu (and per-third cpu with ``cpu_stamps``), drawing
    lag, key latency."""
    from a2ia_tui.tui.widgets.messages import AssistantMessage

    real_append = AssistantMessage.append
    patch = pytest.MonkeyPatch()
    try:
        return await _app_turn(make_app(url), real_append, patch, key_probe, cpu_stamps, size)
    finally:
        patch.undo()


async def _app_turn(app, real_append, patch: pytest.MonkeyPatch, key_probe: bool, cpu_stamps: bool, size) -> dict:
    from a2ia_tui.tui.widgets.messages import AssistantMessage

    result: dict = {}
    async with app.run_test(size=size) as pilot:
        while app.orchestrator is None:
            await pilot.pause(0.01)
        # Every piece of text is time-stamped where the app takes it in (AssistantMessage.append),
        # as bare_stream stamps its chunks; the CPU clock (a system call) is read too only where
        # the CPU per third of the answer is wanted.
        stamps: list = []

        def append_with_cpu(self, text, _real=real_append, _now=time.perf_counter, _cpu=time.process_time):
            stamps.append((_now(), _cpu()))
            _real(self, text)

        def append(self, text, _real=real_append, _now=time.perf_counter):
            stamps.append((_now(), 0.0))
            _real(self, text)

        patch.setattr(AssistantMessage, "append", append_with_cpu if cpu_stamps else append)
        prompt = app.query_one("#prompt")
        prompt.value = "go"
        await pilot.pause()  # typed before Enter is pressed: what typing costs is not the turn's
        # What Enter does, called directly: Pilot's press() waits for the app to go idle, which
        # during a flood can be most of the turn, so the clock would start late.
        w0, c0 = time.perf_counter(), time.process_time()
        await prompt.action_submit()
        # The turn is the app's "turn" worker (started when the app takes the message): its end is
        # awaited, so the clock stops when the turn does, not at the next look of a poll.
        while not (turn := next((wk for wk in app.workers if wk.group == "turn"), None)):
            await asyncio.sleep(0)
        latencies: list[float] = []

        async def probe() -> None:
            from textual import events

            while len(latencies) < 5:
                await asyncio.sleep(0.03)
                if not stamps:
                    continue
                before = prompt.value
                t = time.perf_counter()
                prompt.post_message(events.Key("x", "x"))
                while prompt.value == before:
                    await asyncio.sleep(0.0005)
                latencies.append(time.perf_counter() - t)

        prober = asyncio.ensure_future(probe()) if key_probe else None
        await turn.wait()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if prober is not None:
            prober.cancel()
        msg = app.query("AssistantMessage").last()
        drawn = getattr(msg, "finished_at", None)
        result.update(
            wall=w,
            cpu=c,
            tokens=len(stamps),
            text_len=len(msg.text),
            before_first=stamps[0][0] - w0 if stamps else None,
            after_last=(w0 + w - stamps[-1][0]) if stamps else None,
        )
        if stamps:
            result["draw_lag"] = (drawn - stamps[-1][0]) if drawn else None
        if stamps and cpu_stamps:
            first, last = stamps[0], stamps[-1]
            span = last[0] - first[0]
            thirds = []
            for k in range(3):
                a, b = stamps[len(stamps) * k // 3], stamps[min(len(stamps) - 1, len(stamps) * (k + 1) // 3)]
                thirds.append((b[1] - a[1]) / max(1e-9, b[0] - a[0]))
            result.update(stream_cpu=(last[1] - first[1]) / max(1e-9, span), thirds=thirds)
        result["key_latency"] = latencies
        # the view followed the answer to the end
        chat = app.query_one("#chat")
        result["followed"] = chat.scroll_y >= chat.max_scroll_y - 1
    return result


STARTUP = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    mode = sys.argv[1]
    if mode == "app":
        # What the `a2ia-tui` command does first: import the (light) entry module, and main()
        # raises the garbage collector's thresholds before any heavy import. Done here by hand
        # because Textual must be imported (to catch its frames) before main() runs.
        from a2ia_tui.entry import main
        from a2ia_tui.tui.gctune import raise_thresholds

        raise_thresholds()
    from textual.app import App

    # The first full screen is the first frame the app hands to the terminal that shows every
    # widget of the start screen (frames are caught where App._display receives them; headless,
    # the bytes are then not written); scrollbars aside, they come and go with the content.
    frames = []
    real_display = App._display

    def display(self, screen, renderable):
        if renderable is not None:
            visible = {id(w) for w in screen._compositor.visible_widgets if type(w).__name__ != "ScrollBar"}
            frames.append((time.perf_counter() - t0, visible))
        return real_display(self, screen, renderable)

    App._display = display

    def first_frame(app):
        # Called after the screen's first refresh, before any start-up work (probes, engines,
        # MCP servers) has begun: what is visible now is the start screen. The frames drawn just
        # after this are waited for too.
        final = {id(w) for w in app.screen._compositor.visible_widgets if type(w).__name__ != "ScrollBar"}

        def done():
            full = [t for t, visible in frames if visible >= final]
            print(full[0] if full else "nan", flush=True)
            app.exit()

        app.set_timer(0.2, done)

    if mode == "bare":
        from textual.widgets import Footer, Static

        class Bare(App):
            def compose(self):
                yield Static("hello")
                yield Footer()

            def on_mount(self):
                self.call_after_refresh(first_frame, self)

        app = Bare()
        app.run(headless=True, size=(120, 40))
    else:
        # The real command: `a2ia-tui` with no arguments (the entry point parses the command line,
        # loads the settings, checks the mcpServers file, builds the app and runs it), only
        # headless, and stopped after its first frames.
        real_run = App.run

        def run(self, *args, **kwargs):
            self._startup = lambda: first_frame(self)  # called right after the first refresh
            return real_run(self, headless=True, size=(120, 40))

        App.run = run
        main([])
    """
)


def startup(mode: str, home: str, stay_s: float = 0.2) -> float:
    """One fresh process to its first full screen, with ``home`` as A2IA_HOME, staying up
    ``stay_s`` after it."""
    env = dict(os.environ, A2IA_HOME=home)
    # As after any first launch: compiled modules are cached (this machine sets
    # PYTHONDONTWRITEBYTECODE, which would recompile a2ia_tui's ~200 KB of source every time).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = STARTUP.replace("app.set_timer(0.2, done)", f"app.set_timer({stay_s}, done)")
    out = subprocess.run(
        [sys.executable, "-c", code, mode], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    return float(out.stdout.strip().splitlines()[0])


async def open_big(n_messages: int) -> float:
    from a2ia_tui.core.agent.conversation import Conversation

    app = make_app("http://127.0.0.1:9/v1")
    conv = Conversation(title="big")
    for i in range(n_messages // 2):
        conv.add_user(f"question {i} with *some* markdown")
        conv.add(Message(role="assistant", content=f"## Answer {i}\n\n- a\n- b\n\n```py\nx = {i}\n```\n"))
    app.services.store.sync(conv)
    async with app.run_test(size=(120, 40)) as pilot:
        t = time.perf_counter()
        await app.open_conversation(conv.id)
        await pilot.pause()
        return time.perf_counter() - t


async def main(quick: bool) -> None:
    n_rate = 600 if quick else 3000
    n_flood = 4000 if quick else 20000
    os.environ.setdefault("A2IA_HOME", tempfile.mkdtemp())  # the in-process apps' files: not the user's
    print(f"# a2ia-tui TUI benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")

    srv = Server(markdown_words(n_rate), 150)
    try:
        bw, bc, _ = await bare_stream(srv.url)
        r = await app_turn(srv.url, cpu_stamps=True)
    finally:
        srv.close()
    print(f"\n## Streaming {n_rate} tokens at 150 tok/s")
    print(f"bare client CPU: {bc / bw:.3f} core over {bw:.1f} s")
    print(
        f"app CPU while streaming: {r['stream_cpu']:.3f} core  (x{r['stream_cpu'] / max(1e-9, bc / bw):.1f} the bare client)"
    )
    print("app CPU by thirds of the answer: " + ", ".join(f"{x:.3f}" for x in r["thirds"]))
    print(
        f"drawing finished {r['draw_lag'] * 1000:.0f} ms after the last token; view followed to the end: {r['followed']}"
    )

    for kind, words in (("code block", code_words), ("list", list_words), ("table", table_words)):
        text = words(n_rate)
        srv = Server(text, 150)
        try:
            r = await app_turn(srv.url, cpu_stamps=True)
        finally:
            srv.close()
        print(f"\n## Streaming one {kind} of {n_rate} tokens ({text.count(chr(10))} lines) at 150 tok/s")
        print(
            f"app CPU while streaming: {r['stream_cpu']:.3f} core  (x{r['stream_cpu'] / max(1e-9, bc / bw):.1f} the bare client above);"
            " by thirds: " + ", ".join(f"{x:.3f}" for x in r["thirds"])
        )
        print(
            f"drawing finished {r['draw_lag'] * 1000:.0f} ms after the last token; view followed to the end: {r['followed']}"
        )

    async def flood(n: int, key_probe: bool = False, runs: int = 7):
        """Best of ``runs`` alternating bare/app runs (this machine is noisy: a run can be 2x
        another); the app run with the best time is the one reported."""
        s = Server(markdown_words(n), None)
        try:
            await bare_stream(s.url)  # the server builds its events on the first request only
            bares, apps = [], []
            for _ in range(runs):
                bares.append((await bare_stream(s.url))[0])
                apps.append(await app_turn(s.url, key_probe=key_probe))
        finally:
            s.close()
        best = min(apps, key=lambda r: r["wall"])
        best["key_latency"] = [x for r in apps for x in r["key_latency"]]
        best["all_walls"] = [r["wall"] for r in apps]
        best["pair_ratio"] = statistics.median(r["wall"] / b for r, b in zip(apps, bares, strict=False))
        return min(bares), bares, best

    bw20, bares20, r20 = await flood(n_flood)
    bw40, bares40, r40 = await flood(2 * n_flood)
    # Key presses are measured in floods of their own: typing during a turn is work the turn's
    # time should not include.
    _, _, probed = await flood(n_flood, key_probe=True, runs=3)
    print(f"\n## Flood ({n_flood} and {2 * n_flood} tokens as fast as possible; best of 7 alternating runs)")
    for n, bw, bares, r in ((n_flood, bw20, bares20, r20), (2 * n_flood, bw40, bares40, r40)):
        print(
            f"bare stream {n}: best {bw:.2f} s; app turn: best {r['wall']:.2f} s  (x{r['wall'] / bw:.2f} the bare stream);"
            f" median of the pairs' ratios x{r['pair_ratio']:.2f}"
            f"   [pairs, bare/app: {', '.join(f'{b:.2f}/{a:.2f}' for b, a in zip(bares, r['all_walls'], strict=False))}]"
        )
    # best against best, and (steadier on a noisy machine, where one lucky run moves a best)
    # median against median
    med20, med40 = statistics.median(r20["all_walls"]), statistics.median(r40["all_walls"])
    print(
        f"app {2 * n_flood} / app {n_flood}: x{r40['wall'] / r20['wall']:.2f} (best against best);"
        f" x{med40 / med20:.2f} (median {med40:.2f} s against {med20:.2f} s)"
    )
    lat = probed["key_latency"]
    if lat:
        print(
            f"key press during a {n_flood}-token flood handled in: max {max(lat) * 1000:.0f} ms, mean {sum(lat) / len(lat) * 1000:.0f} ms ({len(lat)} presses)"
        )
    print(f"drawing finished {r20['draw_lag'] * 1000:.0f} ms after the last token of the flood")

    print("\n## Start-up to the first full screen (fresh process, imports included; 7 alternating pairs)")
    # One A2IA_HOME for every start, as on a user's machine, where an earlier session has run
    # (its first launch stays up until its idle warm-up is done). A first launch ever (a new
    # home) is measured on its own below.
    home = tempfile.mkdtemp()
    first_ever = startup("app", home, stay_s=2.5)
    pairs = [(startup("bare", home), startup("app", home)) for _ in range(7)]
    bare, app_t = min(b for b, _ in pairs), min(a for _, a in pairs)
    print(
        f"bare Textual app: best {bare:.3f} s; a2ia-tui: best {app_t:.3f} s, median {statistics.median(a for _, a in pairs):.3f} s"
        f"  (x{app_t / bare:.2f} the best bare; median of the pairs' ratios x{statistics.median(a / b for b, a in pairs):.2f})"
        f"   [pairs, bare/app: {', '.join(f'{b:.3f}/{a:.3f}' for b, a in pairs)}]"
    )
    firsts = [first_ever] + [startup("app", tempfile.mkdtemp()) for _ in range(2)]
    print(f"a first launch ever (a new A2IA_HOME): {', '.join(f'{t:.3f}' for t in firsts)} s")

    print("\n## Opening a saved conversation")
    await open_big(50)  # warm-up: first-use imports (rich markdown, pygments)
    small = await open_big(50)
    big = await open_big(1000)
    print(f"50 messages: {small:.3f} s; 1,000 messages: {big:.3f} s  (x{big / small:.2f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    asyncio.run(main(ap.parse_args().quick))
