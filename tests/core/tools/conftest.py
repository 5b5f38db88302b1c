from __future__ import annotations

import sys
from pathlib import Path

import pytest

from a2ia_tui.core.config import MCPServerConfig, load_settings

FAKES = Path(__file__).resolve().parents[2] / "fakes" / "mcp_servers"


def toy(name: str = "toy", *extra: str) -> MCPServerConfig:
    return MCPServerConfig(
        name=name, command=sys.executable, args=[str(FAKES / "toy_server.py"), "--name", name, *extra]
    )


@pytest.fixture
def settings(tmp_path):
    env = {
        "A2IA_TOOLS__WORKSPACE": str(tmp_path),
        "A2IA_TOOLS__STARTUP_TIMEOUT_S": "20",
        "A2IA_TOOLS__RESTART_ATTEMPTS": "2",
    }
    return load_settings(env=env).settings
