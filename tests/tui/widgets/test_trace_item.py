"""A trace item's first line: ``✓ server · tool`` and the call's duration, on one line."""

from __future__ import annotations

from textual.app import App, ComposeResult

from a2ia_tui.core.agent.events import ToolCallFinished, ToolCallRequested
from a2ia_tui.tui.widgets.trace import TracePane


class _Trace(App):
    def compose(self) -> ComposeResult:
        yield TracePane(animate=False, id="trace")


async def test_a_long_tool_name_is_cut_and_the_duration_stays_on_the_title_line() -> None:
    app = _Trace()
    async with app.run_test(size=(34, 20)) as pilot:
        pane = app.query_one(TracePane)
        call = ToolCallRequested("c1", "list_directory_recursively_with_sizes", {"path": "."}, server="a2ia")
        item = await pane.add_call(call)
        pane.finish(ToolCallFinished("c1", "a.txt", False, 0.0312))
        await pilot.pause()
        await pilot.pause()
        title = item.query_one(".title")
        assert title.region.height == 1
        line = title.render_line(0).text.rstrip()
        assert line.startswith("✓ a2ia · list_dir") and "…" in line
        assert line.endswith("0.03 s")
        # the pane says what it is
        assert pane.border_title is not None and "Tool calls" in pane.border_title


async def test_a_trace_item_can_be_animated_like_any_widget() -> None:
    """Its spinner switch is its own attribute: under Textual's name for a widget's animator,
    ``animate()`` called a bool."""
    app = _Trace()
    async with app.run_test(size=(34, 20)) as pilot:
        pane = app.query_one(TracePane)
        item = await pane.add_call(ToolCallRequested("c1", "read_file", {}, server="a2ia"))
        item.level = 0.0  # type: ignore[attr-defined]
        item.animate("level", 1.0, duration=0.01)
        for _ in range(5):
            await pilot.pause(0.02)
        assert item.level == 1.0  # type: ignore[attr-defined]
