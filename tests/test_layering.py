"""The core never imports Textual: checked on the source and in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import a2ia_tui

CORE = Path(a2ia_tui.__file__).parent / "core"


def test_no_textual_import_in_core_source():
    offenders = [
        str(p)
        for p in CORE.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+textual\b", p.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []


def test_importing_every_core_module_loads_no_textual():
    modules = sorted(
        ".".join(p.relative_to(CORE.parent.parent).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p.name != "__main__.py" and "scenarios" not in p.parts
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_building_the_command_line_parser_imports_no_heavy_library():
    """``a2ia-tui`` builds every subcommand's parser before the app starts: none of them may pull
    in the mcp SDK, httpx, Textual or the engines (the mcp SDK alone took ~0.7 s of start-up)."""
    code = (
        "import sys\n"
        "from a2ia_tui.entry import build_parser\n"
        "build_parser()\n"
        "heavy = ('mcp', 'httpx', 'textual', 'a2ia_tui.core.engines', 'a2ia_tui.core.tools.server')\n"
        "bad = sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h + '.')})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_importing_the_entry_point_is_light():
    """The ``a2ia-tui`` script imports ``a2ia_tui.entry`` and then calls ``main()``, which raises
    the garbage collector's thresholds before anything heavy is imported: so importing the module
    itself must not bring in the settings module, pydantic or Textual."""
    code = (
        "import sys\n"
        "import a2ia_tui.entry\n"
        "heavy = ('pydantic', 'textual', 'a2ia_tui.core.config', 'httpx')\n"
        "bad = sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h + '.')})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
