"""The README's picture of the app, drawn by the real app: docs/img/app.svg.

The app runs under Pilot with every pane shown, its GPU pane fed by the fake NVML (two GPUs, the
tick frozen so the figures and the history do not move) and a scripted chat with a tool call.
The test compares the *text* of the screen with the text of the committed picture, not the
bytes (fonts, colours and Textual's SVG ids may change without a user noticing). When the text
differs, the picture is drawn again into docs/img/app.svg and the test fails: look at the new
picture and commit it.
"""

from __future__ import annotations

import html
import io
import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from a2ia_tui.core.llm.scripted import text_reply, tool_reply
from a2ia_tui.core.monitor.gpu import GPUSampler
from a2ia_tui.tui.widgets.gpu import GPUPane
from a2ia_tui.tui.widgets.status import StatusBar
from a2ia_tui.tui.widgets.trace import TraceItem
from tests.helpers.app import MiniHub, build_app, idle, send, wait_for

pytestmark = pytest.mark.timeout(180)

IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "app.svg"
SIZE = (140, 42)

QUESTION = "Read todo.md and tell me what is left"
ANSWER = """Two things are left in **todo.md**:

1. Ship the *release notes*.
2. Fix the flaky test in `test_sync.py`:

```python
def test_sync(tmp_path):
    assert sync(tmp_path) == "done"
```
"""

_TEXT = re.compile(r'<text[^>]*\bx="([\d.]+)"[^>]*\btextLength="([\d.]+)"[^>]*line-(\d+)\)"[^>]*>(.*?)</text>')


def screen_text(svg: str) -> list[str]:
    """The screen's text, a line per terminal row, from an SVG that Textual exported (Rich's
    ``export_svg``: a ``<text>`` per run of styled text, placed at its column)."""
    rows: dict[int, list[tuple[int, str]]] = {}
    width = 0.0
    for x, length, line, raw in _TEXT.findall(svg):
        text = html.unescape(raw).replace("\xa0", " ")
        if not width and text:
            width = float(length) / len(text)  # one cell's width in the picture
        rows.setdefault(int(line), []).append((round(float(x) / width), text))
    lines = []
    for y in range(max(rows, default=-1) + 1):
        out = ""
        for column, text in sorted(rows.get(y, [])):
            out += " " * max(0, column - cell_len(out)) + text
        lines.append(out.rstrip())
    return lines


async def _draw(monkeypatch) -> str:
    monkeypatch.setenv("A2IA_FAKE_GPU_TICK", "3")  # frozen: the same figures in every sample
    hub = MiniHub()
    app, _ = build_app(
        {"vllm": [tool_reply(("notes__read", {"path": "todo.md"})), text_reply(ANSWER, eval_count=60)]},
        hub=hub,
        flags={
            "monitor.fake_gpu": "two_gpus",
            "monitor.gpu_interval_s": 0.05,
            "monitor.process_interval_s": 0.05,
            "monitor.history_s": 1.0,
        },
    )
    monitor = app.services.loaded.settings.monitor
    # the managed engine's process: this one, so the fake GPU lists it under that name
    app.services.gpu_sampler_factory = lambda: GPUSampler(monitor, managed=lambda: {os.getpid(): "vLLM (managed)"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.orchestrator is not None, timeout=30)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: idle(app) and hub.called and bool(app.query("AssistantMessage")), timeout=60)
        for item in app.query(TraceItem):
            item._duration = 0.01  # the real duration varies
            item._set_state(item.state)
        app.query_one("#status", StatusBar).set(tps=48.2, ttft=0.21)  # fixed figures: the real ones vary
        # the GPU history full (a fixed length), so its sparkline no longer grows
        sampler = app.query_one(GPUPane).sampler
        full = max(2, int(monitor.history_s / monitor.gpu_interval_s))
        await wait_for(pilot, lambda: sampler is not None and len(sampler.vram_history(0)) >= full, timeout=30)
        for _ in range(3):
            await pilot.wait_for_scheduled_animations()
            await pilot.pause(0.2)
        return app.export_screenshot(title="a2ia-tui")


async def test_the_readme_picture_is_the_app_as_it_draws_now(monkeypatch) -> None:
    """docs/img/app.svg shows what the app draws now: same text, row for row."""
    svg = await _draw(monkeypatch)
    drawn = screen_text(svg)
    assert any(QUESTION in line for line in drawn) and any("notes__read" in line for line in drawn)
    committed = screen_text(IMAGE.read_text(encoding="utf-8")) if IMAGE.exists() else None
    if committed != drawn:
        IMAGE.parent.mkdir(parents=True, exist_ok=True)
        IMAGE.write_text(svg, encoding="utf-8")
        pytest.fail(f"{IMAGE} was stale and has been drawn again: look at it and commit it")


def test_screen_text_reads_rows_and_columns_back() -> None:
    """The reader of an exported SVG puts each run of text at its column, on its row."""
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=20, file=io.StringIO())
    console.print(Text("ab  ") + Text("cd", style="bold red") + Text("   é ✓"))
    console.print("")
    console.print("  x<&>")
    assert screen_text(console.export_svg()) == ["ab  cd   é ✓", "", "  x<&>"]
