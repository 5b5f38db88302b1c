"""Textual's parsed CSS kept between runs (a2ia_tui.tui.css_cache): a second start parses no
CSS and draws the same first screen; a file for other theme variables, or a broken one, is not
used."""

from __future__ import annotations

import pytest
import textual.css.stylesheet as stylesheet_module
from textual.css.stylesheet import Stylesheet

from a2ia_tui.tui import css_cache

from .app_helpers import build_app

CSS = "Foo { color: $accent; padding: 1 2; }\nFoo > .bar { text-style: bold; }"


def parse_counter(monkeypatch) -> list[int]:
    calls = [0]
    real = stylesheet_module.parse

    def parse(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(stylesheet_module, "parse", parse)
    return calls


def sheet(variables: dict[str, str]) -> Stylesheet:
    s = Stylesheet(variables=variables)
    s.add_source(CSS, read_from=("x.py", "Foo.DEFAULT_CSS"), is_default_css=True, scope="Foo")
    return s


def test_saved_rules_are_used_by_the_next_stylesheet_with_the_same_variables(tmp_path, monkeypatch):
    calls = parse_counter(monkeypatch)
    first = sheet({"accent": "#ff0000"})
    rules = first.rules
    assert calls[0] == 1
    assert not css_cache.save(first, tmp_path, known=1)  # nothing new since it was loaded
    assert css_cache.save(first, tmp_path, known=0)

    second = sheet({"accent": "#ff0000"})
    assert css_cache.load(second, tmp_path) == 1
    assert second.rules == rules and calls[0] == 1  # not parsed again

    other = sheet({"accent": "#00ff00"})  # another theme: another file, none yet
    assert css_cache.load(other, tmp_path) == 0
    assert other.rules != rules and calls[0] == 2
    assert css_cache.cache_file(other, tmp_path) != css_cache.cache_file(first, tmp_path)


def test_a_broken_or_foreign_file_is_ignored(tmp_path):
    s = sheet({"accent": "#ff0000"})
    path = css_cache.cache_file(s, tmp_path)
    path.parent.mkdir(parents=True)
    for content in (b"not a pickle", b"\x80\x04K\x01.", __import__("pickle").dumps({"identity": "x", "rules": {}})):
        path.write_bytes(content)
        assert css_cache.load(s, tmp_path) == 0
    assert len(s.rules) == 2  # parsed as usual
    assert css_cache.save(s, tmp_path, known=0)  # and the file replaced
    assert css_cache.load(sheet({"accent": "#ff0000"}), tmp_path) == 1


async def test_a_second_start_parses_no_css_and_draws_the_same_screen(tmp_path):
    async def first_screen() -> tuple[str, int, int]:
        app, _ = build_app(tmp_path=tmp_path)
        app._startup = lambda: None
        with pytest.MonkeyPatch.context() as mp:
            calls = parse_counter(mp)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                shot, parsed, known = app.export_screenshot(), calls[0], app._css_known
                await app.shutdown()  # as ctrl+q: saves what this run parsed
        return shot, parsed, known

    shot1, parsed1, known1 = await first_screen()
    shot2, parsed2, known2 = await first_screen()
    assert known1 == 0 and parsed1 > 10
    assert known2 >= parsed1 and parsed2 == 0
    assert shot2 == shot1


async def test_a_theme_chosen_at_run_time_restyles_the_screen_and_gets_its_own_file(tmp_path):
    """The first resume skips Textual's restyle (see MainScreen) and the parsed CSS is cached
    per theme: neither may keep the old colours after a theme change, or a dialog closed."""
    from a2ia_tui.tui.app import MainScreen

    first, _ = build_app(tmp_path=tmp_path)
    first._startup = lambda: None
    async with first.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await first.shutdown()  # the dark theme's file
    app, _ = build_app(tmp_path=tmp_path)
    app._startup = lambda: None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and app._css_known > 10  # loaded for dark
        dark = app.screen.styles.background
        prompt_dark = app.query_one("#prompt").styles.background
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        assert app.screen.styles.background != dark
        assert app.query_one("#prompt").styles.background != prompt_dark
        light = app.screen.styles.background
        await pilot.press("ctrl+o")  # the saved chats: a screen over the main one, then back
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and app.screen.styles.background == light
        await app.shutdown()  # saves what was parsed for the light theme, in that theme's file
        light_file = css_cache.cache_file(app.stylesheet, app.services.loaded.paths.state_dir)
        assert light_file.exists()
        assert css_cache.load(Stylesheet(variables=app.stylesheet._variables), app.services.loaded.paths.state_dir) > 10


def test_a_long_sessions_css_is_kept_whole(tmp_path):
    """Textual keeps 64 parsed CSS texts; a session that opens the palette, the dialogs and the
    engine screens parses more, and the start screen's would be evicted and never saved again."""
    s = sheet({"accent": "#ff0000"})
    css_cache.load(s, tmp_path)  # nothing saved yet: it still makes room
    for i in range(100):
        s.add_source(f"Foo{i} {{ padding: {i % 3}; }}", read_from=(f"w{i}.py", "DEFAULT_CSS"), scope=f"Foo{i}")
    assert len(s.rules) == 102
    assert css_cache.save(s, tmp_path, known=0)
    fresh = sheet({"accent": "#ff0000"})
    assert css_cache.load(fresh, tmp_path) == 101
