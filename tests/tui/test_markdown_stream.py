"""StreamingMarkdown: block splitting (fences respected) and incremental writes."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from textual.app import App, ComposeResult

from a2ia_tui.tui.widgets.markdown_stream import StreamingMarkdown, split_settled

DOC = "# T\n\npara one\n\n```py\nx = 1\n\ny = 2\n```\n\n- a\n- b\n\ntail"


def test_split_respects_fences() -> None:
    n, fence = split_settled("a\n\n```\ncode\n\nmore", False)
    assert n == len("a\n\n") and fence is False
    n, fence = split_settled("```\ncode\n\nmore\n```\n\nafter", False)
    assert n == len("```\ncode\n\nmore\n```\n\n") and fence is False
    assert split_settled("no boundary yet", False) == (0, False)
    assert split_settled("inside\n\n", True) == (0, True)


class Host(App):
    def compose(self) -> ComposeResult:
        yield StreamingMarkdown()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_blocks(sizes) -> None:
    import asyncio

    async def run() -> list[str]:
        app = Host()
        async with app.run_test() as pilot:
            md = app.query_one(StreamingMarkdown)
            pos = 0
            for size in sizes * 20:
                if pos >= len(DOC):
                    break
                md.write(DOC[pos:pos + size])
                pos += size
                await pilot.pause()
            md.write(DOC[pos:])
            await pilot.pause()
            assert md.text == DOC
            # the fenced code with a blank line inside stays in one block
            return [str(b.render()) for b in md.query(".block")]

    blocks = asyncio.run(run())
    assert not any("x = 1" in b and "y = 2" not in b for b in blocks)
