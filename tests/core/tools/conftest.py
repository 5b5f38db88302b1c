from __future__ import annotations

import pytest

from a2ia_tui.core.config import load_settings


@pytest.fixture
def settings(tmp_path):
    env = {
        "A2IA_TOOLS__WORKSPACE": str(tmp_path),
        "A2IA_TOOLS__STARTUP_TIMEOUT_S": "20",
        "A2IA_TOOLS__RESTART_ATTEMPTS": "2",
    }
    return load_settings(env=env).settings
