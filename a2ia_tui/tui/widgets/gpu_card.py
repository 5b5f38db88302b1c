"""One GPU's card: VRAM and utilisation bars with sparklines, temperature, power, processes.

Policy:

- Sparklines are drawn here on a FIXED 0..1 scale (the sampler's ``vram_history`` /
  ``util_history`` are fractions of the total), never min..max like Textual's ``Sparkline``: a
  flat 90 % line must look full, not empty.
- The card draws itself from one immutable ``DeviceSample`` plus the two histories; the width
  of the bars follows the card's width, so it fits the narrow right column and a wide screen.
- ``None`` values are unknown (the device does not support them): shown as "?", never 0.
- A failed device (GpuIsLost, ...) shows its reason instead of figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widget import Widget

GIB = 1024**3
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values (0..1, fixed scale) as block characters, right-aligned."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    chars = []
    for v in tail:
        v = min(1.0, max(0.0, v))
        chars.append(SPARK[min(len(SPARK) - 1, int(v * len(SPARK)))] if v > 0 else " ")
    return " " * (width - len(chars)) + "".join(chars)


def bar(fraction: float | None, width: int) -> Text:
    """A horizontal bar; green under 70 %, yellow under 90 %, red above."""
    if width <= 0:
        return Text()
    if fraction is None:
        return Text("·" * width, style="dim")
    f = min(1.0, max(0.0, fraction))
    filled = round(f * width)
    style = "green" if f < 0.7 else "yellow" if f < 0.9 else "red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def gib(n: int | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f}"


class GPUCard(Widget):
    """One device. Set :meth:`update_sample` with a DeviceSample and its histories."""

    DEFAULT_CSS = """
    GPUCard {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
        border-left: wide $accent;
    }
    GPUCard.-failed { border-left: wide $error; }
    """

    def __init__(self, device: Any, vram: Sequence[float] = (), util: Sequence[float] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.device = device
        self.vram = list(vram)
        self.util = list(util)

    def update_sample(self, device: Any, vram: Sequence[float], util: Sequence[float]) -> None:
        self.device, self.vram, self.util = device, list(vram), list(util)
        self.set_class(bool(device.failed), "-failed")
        self.refresh(layout=True)

    def on_mount(self) -> None:
        self.set_class(bool(self.device.failed), "-failed")

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.render_lines_text(width).split("\n"))

    def render(self) -> Text:
        return self.render_text(self.content_size.width or 40)

    def render_lines_text(self, width: int) -> str:
        return self.render_text(width).plain

    def render_text(self, width: int) -> Text:
        d = self.device
        out = Text()
        out.append(f"GPU{d.index} ", style="bold")
        out.append(d.name or "?", style="bold")
        if d.failed:
            out.append(f"\nFAILED: {d.reason}", style="red")
            return out
        label_w = 5
        figs = f" {gib(d.memory_used)}/{gib(d.memory_total)} GiB"
        bar_w = max(4, width - label_w - len(figs))
        out.append("\nVRAM ")
        out.append_text(bar(d.vram_fraction, bar_w))
        out.append(figs)
        out.append("\n     " + sparkline(self.vram, max(1, width - label_w)), style="cyan")
        util = "?" if d.util_gpu is None else f"{d.util_gpu}%"
        ufig = f" {util:>4}"
        out.append("\nUtil ")
        out.append_text(bar(None if d.util_gpu is None else d.util_gpu / 100, max(4, width - label_w - len(ufig))))
        out.append(ufig)
        out.append("\n     " + sparkline(self.util, max(1, width - label_w)), style="magenta")
        temp = "?" if d.temperature_c is None else f"{d.temperature_c}°C"
        power = "?" if d.power_w is None else f"{d.power_w:.0f}"
        limit = "" if d.power_limit_w is None else f"/{d.power_limit_w:.0f}"
        out.append(f"\n{temp}  {power}{limit} W")
        if d.fan_pct is not None:
            out.append(f"  fan {d.fan_pct}%")
        for p in d.processes:
            size = "?" if p.used_bytes is None else f"{p.used_bytes / GIB:.1f} GiB"
            name = p.display_name
            room = max(4, width - len(size) - 3)
            if len(name) > room:
                name = name[: room - 1] + "…"
            out.append("\n  ")
            out.append(f"{name:<{room}}", style="bold green" if p.label else "")
            out.append(f" {size}")
        un = d.unattributed_bytes
        if un:
            size = f"{un / GIB:.1f} GiB"
            out.append(f"\n  {'unattributed':<{max(4, width - len(size) - 3)}} {size}", style="dim")
        return out
