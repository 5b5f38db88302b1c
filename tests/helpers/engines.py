"""The fake vLLM server (tests/fakes/fake_vllm.py) as the ``vllm`` executable a managed engine runs."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

FAKE_VLLM = Path(__file__).resolve().parents[1] / "fakes" / "fake_vllm.py"


def write_wrapper(tmp_path: Path) -> Path:
    """A ``vllm`` executable (``tmp_path/bin/vllm``) that runs the fake (an argv program, no shell
    involved on our side)."""
    exe = tmp_path / "bin" / "vllm"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_VLLM} "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe
