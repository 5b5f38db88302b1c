"""Where a2ia keeps its files: the config file, the mcpServers file, data (history) and state
(engine logs and pid files). ``A2IA_HOME`` (if set) moves them all under one folder; tests use it
to stay hermetic."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "a2ia-tui"


@dataclass(frozen=True)
class Paths:
    config_file: Path
    mcp_config: Path
    data_dir: Path
    state_dir: Path

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def run_dir(self) -> Path:
        """Pid files of managed engines."""
        return self.state_dir / "run"


def default_paths(env: Mapping[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = env.get("A2IA_HOME")
    if home:
        root = Path(home)
        cfg, data, state = root / "config", root / "data", root / "state"
    else:
        import platformdirs

        cfg = Path(platformdirs.user_config_dir(APP_NAME))
        data = Path(platformdirs.user_data_dir(APP_NAME))
        state = Path(platformdirs.user_state_dir(APP_NAME))
    return Paths(config_file=cfg / "config.toml", mcp_config=cfg / "mcp.json", data_dir=data, state_dir=state)
