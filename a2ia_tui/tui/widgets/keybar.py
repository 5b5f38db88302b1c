"""The footer: the keys that work now, in ONE widget.

Textual's ``Footer`` is a container of one ``FooterKey`` widget per key: eleven widgets here, each
styled, composed and laid out on its own: a visible part of the start-up
(tests/benchmarks/bench_tui.py), and every layout of the screen arranges the eleven again. :class:`KeyBar` draws the same keys as one line of text:

* the keys of the focused chain (``screen.active_bindings``) that are shown: the screen's own
  first (a log viewer's or a dialog's), then the app's in the order of its ``BINDINGS``, then
  the focused widget's; a disabled key is dimmed;
* the command palette's key at the right edge, always visible; keys that do not fit before it
  are left out (every key is also a command in the palette);
* clicking a key presses it (``app.simulate_key``), as Textual's footer does; a disabled key rings;
* it is redrawn only when the keys it shows change (focus moves often, the keys rarely).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen


class Key(NamedTuple):
    key: str
    display: str
    description: str
    action: str
    enabled: bool


def _ranks(node: DOMNode) -> dict[str, int]:
    """Action → its place in ``node``'s ``BINDINGS`` (Binding objects or (key, action, ...) tuples)."""
    out: dict[str, int] = {}
    for i, b in enumerate(node.BINDINGS):
        action = b.action if isinstance(b, Binding) else b[1] if len(b) > 1 else None
        if action is not None:
            out.setdefault(action, i)
    return out


class KeyBar(Widget):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        link-style: none;
        link-color: $footer-key-foreground;
        link-background: $footer-background;
        link-style-hover: none;
        link-color-hover: $footer-key-foreground;
        link-background-hover: $block-hover-background;
        .keybar--key { color: $footer-key-foreground; text-style: bold; }
        .keybar--description { color: $footer-description-foreground; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._keys: tuple[Key, ...] = ()
        self._palette: Key | None = None

    def on_mount(self) -> None:
        self._update(self.screen)
        self.screen.bindings_updated_signal.subscribe(self, self._update)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    @property
    def keys(self) -> list[Key]:
        """Every key shown when the width allows, in order (the palette's last)."""
        return list(self._keys) + ([self._palette] if self._palette else [])

    def _update(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        ranked: list[tuple[tuple[int, int], Key]] = []
        palette: Key | None = None
        seen: set[str] = set()
        app_rank, screen_rank = _ranks(app), _ranks(screen)
        for key, (node, binding, enabled, _tooltip) in screen.active_bindings.items():
            entry = Key(key, app.get_key_display(binding), binding.description, binding.action, enabled)
            if key == palette_key:
                palette = entry
            elif binding.show and binding.action not in seen:  # one entry per action
                seen.add(binding.action)
                # the screen's own keys first (how to leave a log viewer or a dialog must not be
                # the key that does not fit), then the app's in one order, then the focused
                # widget's, in the order of the binding chain
                group = 0 if node is screen else 1 if node is app else 2
                rank = screen_rank if group == 0 else app_rank if group == 1 else {}
                ranked.append(((group, rank.get(binding.action, len(rank) + len(ranked))), entry))
        keys = [entry for _, entry in sorted(ranked, key=lambda r: r[0])]
        if (tuple(keys), palette) != (self._keys, self._palette):
            self._keys, self._palette = tuple(keys), palette
            self.refresh()

    def _item(self, key: Key) -> Text:
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        description_style = self.get_component_rich_style("keybar--description", partial=True)
        action = f"app.simulate_key({key.key!r})" if key.enabled else "app.bell"
        click = Style.from_meta({"@click": action})
        item = Text.assemble((key.display, key_style + click), (f" {key.description}", description_style + click))
        if not key.enabled:
            item.stylize(Style(dim=True))
        return item

    def render(self) -> Text:
        width = self.size.width
        palette = self._item(self._palette) if self._palette else None
        room = width - (palette.cell_len + 3 if palette else 0)  # " ▏" before it, a space after
        line = Text(no_wrap=True, overflow="crop")
        for key in self._keys:
            item = self._item(key)
            if line.cell_len + item.cell_len + 1 > room:
                break
            line.append(" ")
            line.append_text(item)
        if palette is not None:
            line.append(" " * max(0, width - line.cell_len - palette.cell_len - 3))
            line.append(" ▏", style=self.get_component_rich_style("keybar--description", partial=True))
            line.append_text(palette)
            line.append(" ")
        return line
