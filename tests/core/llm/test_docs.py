"""docs/configuration.md stays current: every setting is documented, every example loads, and the
exception tree in docs/architecture.md matches errors.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from a2ia_tui.core import errors
from a2ia_tui.core.config import Settings, load_mcp_servers, load_settings

DOCS = Path(__file__).resolve().parents[3] / "docs"
CONFIG_MD = (DOCS / "configuration.md").read_text(encoding="utf-8")


def field_names(model: type[msgspec.Struct], prefix: str = "") -> list[str]:
    out = []
    for info in msgspec.structs.fields(model):
        if isinstance(info.type, type) and issubclass(info.type, msgspec.Struct):
            out += field_names(info.type, prefix + info.name + ".")
        else:
            out.append(prefix + info.name)
    return out


def test_every_setting_is_documented():
    from a2ia_tui.core.config import BackendSettings

    missing = [
        key
        for key in [k for k in field_names(Settings) if k != "backends"] + field_names(BackendSettings, "backends.")
        if f"`{key.rsplit('.', 1)[-1]}`" not in CONFIG_MD and f"`{key}`" not in CONFIG_MD
    ]
    assert not missing, f"undocumented settings in docs/configuration.md: {missing}"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", CONFIG_MD, flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(blocks("toml"))))
def test_every_toml_example_loads(index, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(blocks("toml")[index], encoding="utf-8")
    loaded = load_settings(path, env={})
    assert loaded.config_file_used == path


def test_the_mcp_example_loads(tmp_path):
    (example,) = blocks("json")
    path = tmp_path / "mcp.json"
    path.write_text(example, encoding="utf-8")
    json.loads(example)
    servers = load_mcp_servers(path)
    assert servers["time"].transport == "stdio" and servers["search"].transport == "http"


def test_architecture_draws_every_exception_class():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    classes = [n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.A2IAError)]
    missing = [n for n in classes if n not in text]
    assert not missing, f"docs/architecture.md does not show {missing}"
