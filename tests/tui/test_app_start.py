"""The start path's garbage-collector tuning (see a2ia_tui.tui.factory.tune_gc)."""

from __future__ import annotations

import gc

import pytest

from a2ia_tui.tui.factory import GC_THRESHOLDS, tune_gc


def test_tune_gc_freezes_what_is_loaded_and_raises_the_thresholds() -> None:
    old = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert GC_THRESHOLDS[0] > old[0]  # young collections rarer than Python's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)


async def test_the_start_screen_is_styled_once_whatever_the_terminal_size(tmp_path) -> None:
    """Every widget of the start screen is styled once, as it mounts:
    - the size classes (-medium, -narrow) are set before the first widget is mounted (set by the
      first Resize, they restyled the whole screen a second time: 162 style applications at
      120x40 against 110 on a wide terminal);
    - the screen's first resume, just after the widgets mounted, does not restyle them all again
      (Textual's default; 112 applications at 120x40, 60 with it skipped).
    The prompt (focused) and the screen itself may be styled twice."""
    from collections import Counter

    from textual.css.stylesheet import Stylesheet

    from tests.helpers.app import build_app

    async def applications(size: tuple[int, int]) -> tuple[Counter, set[str]]:
        app, _ = build_app(tmp_path=tmp_path)
        patch = pytest.MonkeyPatch()
        patch.setattr(app, "_startup", lambda: None)  # the screen alone: no probes, no engines
        counts: Counter = Counter()
        real_apply = Stylesheet.apply

        def apply(self, node, *args, **kwargs):
            if node.id:  # the named widgets (unnamed DOM nodes include component-class styling)
                counts[node.id] += 1
            return real_apply(self, node, *args, **kwargs)

        patch.setattr(Stylesheet, "apply", apply)
        try:
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                return counts, set(app.classes)
        finally:
            patch.undo()

    for size, size_class in (((160, 50), None), ((120, 40), "-medium"), ((80, 24), "-narrow")):
        counts, classes = await applications(size)
        assert {c for c in classes if c in ("-medium", "-narrow")} == ({size_class} - {None}), classes
        assert {"sidebar", "chat", "trace", "gpu", "status", "footer"} <= set(counts), counts
        twice = {name for name, n in counts.items() if n > 1}
        # Textual styles every Button three times on its own (its variant and compact classes
        # are reactives): the sidebar's one small "Manage models…" button, not the screen
        assert twice <= {"prompt", "_default", "manage-models"}, (size, counts)
        assert counts["manage-models"] <= 3, counts


def test_the_first_frame_loads_no_heavy_library(tmp_path) -> None:
    """The real ``a2ia-tui`` command, headless, up to its first frame: the settings, the screen
    and the start-up policy need neither pydantic (120-150 ms to import, which is why the
    settings are msgspec Structs), nor httpx, the mcp SDK or SQLite. They load after the first
    frame, with the start-up worker. Nor importlib.metadata (``textual.__version__`` reads the
    package metadata with it: ~40 ms). A config file, an mcpServers file and a flag are given, so
    validation runs on each layer."""
    import subprocess
    import sys

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        '[backends.lmstudio]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-x"\n'
        "[agent]\nmax_steps = 5\n",
        encoding="utf-8",
    )
    (tmp_path / "config" / "mcp.json").write_text(
        '{"mcpServers": {"time": {"command": "python3", "args": ["-m", "mcp_server_time"]}}}', encoding="utf-8"
    )
    code = (
        "import sys\n"
        "from textual.app import App\n"
        "real_run = App.run\n"
        "def first_frame(app):\n"
        "    heavy = ('pydantic', 'httpx', 'mcp', 'sqlite3', 'a2ia_tui.core.agent', 'importlib.metadata')\n"
        "    print(sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h + '.')}))\n"
        "    app.exit()\n"
        "def run(self, *args, **kwargs):\n"
        "    self._startup = lambda: first_frame(self)\n"
        "    return real_run(self, headless=True, size=(120, 40))\n"
        "App.run = run\n"
        "from a2ia_tui.entry import main\n"
        "main(['--backend', 'lmstudio'])\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("A2IA_")}
    env["A2IA_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[0] == "[]", proc.stdout


def test_collect_young_runs_the_young_collection_only_when_enough_waits() -> None:
    from a2ia_tui.tui.gctune import collect_young

    was = gc.isenabled()
    gc.disable()  # no automatic collection in between: the count is the test's
    try:
        gc.collect(0)
        kept: list[list[object]] = [[] for _ in range(300)]
        assert not collect_young(minimum=1000)
        assert gc.get_count()[0] >= 250  # (the count is net of what was freed meanwhile)
        kept += [[] for _ in range(1000)]
        assert collect_young(minimum=1000)
        assert gc.get_count()[0] < 100  # collected: the young generation is empty again
        assert len(kept) == 1300
    finally:
        if was:
            gc.enable()


async def test_the_app_collects_young_garbage_after_start_up_and_turns_never_during_one(monkeypatch) -> None:
    """Start-up's garbage (~9,500 objects) is collected when start-up is done, a turn's once it is
    drawn, and every IDLE_GC_S while idle: a question then starts with an almost empty young
    generation, and no collection (1.5-4 ms) falls in its frames. Never while a turn runs."""
    from a2ia_tui.core.llm.scripted import text_reply
    from a2ia_tui.tui import app as appmod
    from tests.helpers.app import build_app, idle, send, wait_for

    calls: list[bool] = []  # whether a turn was running at each collection
    monkeypatch.setattr(appmod, "TURN_GC_DELAY_S", 0.01)
    app, _ = build_app({"vllm": [text_reply("Hello.", delay_s=0.01)]})
    monkeypatch.setattr(appmod, "collect_young", lambda: calls.append(app.turn_running))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None)
        assert calls == [False]  # start-up done: collected
        app.turn_running = True
        app._idle_gc()  # the idle timer's look during a turn: nothing
        app.turn_running = False
        assert calls == [False]
        await send(pilot, "hi")
        await wait_for(pilot, lambda: idle(app) and len(calls) == 2)
        assert calls == [False, False]
        assert app._timers and any(t._callback == app._idle_gc for t in app._timers)  # the idle timer


@pytest.mark.reports_errors
async def test_an_unexpected_error_is_one_line_and_the_app_goes_on() -> None:
    """A bug below the app (here: a tool hub whose start raises a RuntimeError) is reported by
    the app's one boundary in one line, without a traceback, and the chat still works."""
    from a2ia_tui.core.llm.scripted import text_reply
    from a2ia_tui.tui.app import reported_errors
    from tests.helpers.app import MiniHub, build_app, idle, send, wait_for

    class BrokenHub(MiniHub):
        async def start(self, wait: bool = True) -> None:
            raise RuntimeError("the hub's bug\nsecond line")

    app, _ = build_app({"vllm": [text_reply("still here")]}, hub=BrokenHub())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(reported_errors))
        assert reported_errors == ["Internal error (hub): RuntimeError: the hub's bug"]
        await wait_for(pilot, lambda: idle(app))
        await send(pilot, "hello")
        await wait_for(pilot, lambda: idle(app) and len(app.conversation.entries) == 2)
        assert app.conversation.entries[-1].message.content == "still here"
        assert app.is_running
