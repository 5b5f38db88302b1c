from __future__ import annotations

import socket
import stat
import sys
from pathlib import Path

import pytest

from a2ia_tui.core.config import load_settings

FAKE_VLLM = Path(__file__).resolve().parents[2] / "fakes" / "fake_vllm.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_wrapper(tmp_path: Path) -> Path:
    """A `vllm` executable that runs the fake (an argv program, no shell involved on our side)."""
    exe = tmp_path / "bin" / "vllm"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_VLLM} "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


@pytest.fixture
def fake_vllm_loaded(tmp_path):
    """LoadedSettings whose vLLM engine is the fake executable on a free port, with a short grace."""

    def make(*fake_args: str, grace: float = 2.0):
        exe = write_wrapper(tmp_path)
        env = {
            "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
            "A2IA_ENGINES__VLLM__PORT": str(free_port()),
            "A2IA_ENGINES__VLLM__MODEL": "Qwen/Qwen2.5-7B-Instruct-AWQ",
            "A2IA_ENGINES__VLLM__EXTRA_ARGS": __import__("json").dumps(list(fake_args)),
            "A2IA_ENGINES__STOP_GRACE_S": str(grace),
            "A2IA_ENGINES__START_TIMEOUT_S": "60",
            "A2IA_HOME": str(tmp_path / "home"),
        }
        return load_settings(env=env)

    return make
