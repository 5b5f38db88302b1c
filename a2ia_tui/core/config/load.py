"""Loading the settings from their layers, lowest to highest precedence: the defaults, a TOML
file, ``A2IA_*`` environment variables, command-line flags. Every layer is validated as it is
added, so an error names the layer that caused it."""

import copy
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ConfigError
from .convert import convert, explain
from .dirs import Paths, default_paths
from .mcp import MCPServerConfig, load_mcp_servers
from .sections import DEFAULT_BACKENDS, Settings

ENV_PREFIX = "A2IA_"
#: Environment variables with a meaning of their own (not settings keys).
RESERVED_ENV = {"A2IA_CONFIG", "A2IA_HOME", "A2IA_MCP_CONFIG", "A2IA_FAKE_GPU"}
#: Variables used only by the test suite / fakes; never settings keys.
IGNORED_ENV_PREFIXES = ("A2IA_TEST_", "A2IA_FAKE_")


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    paths: Paths
    #: The TOML file that was read, or None when there was none.
    config_file_used: Path | None
    #: The mcpServers file that will be read (it may not exist).
    mcp_config: Path

    def mcp_servers(self) -> dict[str, MCPServerConfig]:
        """The configured MCP servers. The default file may be missing (no servers); one named on
        purpose (``--mcp-config``, ``A2IA_MCP_CONFIG``, ``tools.mcp_config``) must exist."""
        return load_mcp_servers(self.mcp_config, required=self.settings.tools.mcp_config is not None)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _validate(tree: dict[str, Any], source_of: Callable[[str], str]) -> Settings:
    try:
        settings: Settings = convert(tree, Settings)
    except msgspec.ValidationError as exc:
        key, problem = explain(exc, tree, Settings)
        raise ConfigError(source_of(key), key, problem) from None
    return settings


def _env_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    return raw


def _env_layer(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings from ``A2IA_*`` variables, and which variable set which key path."""
    tree: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, raw in sorted(env.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENV or upper.startswith(IGNORED_ENV_PREFIXES):
            continue
        path = ".".join(p.lower() for p in upper[len(ENV_PREFIX) :].split("__") if p)
        if not path:
            continue
        _set_path(tree, path, _env_value(raw))
        origin[path] = f"environment variable {name}"
    if env.get("A2IA_MCP_CONFIG"):
        _set_path(tree, "tools.mcp_config", env["A2IA_MCP_CONFIG"])
        origin["tools.mcp_config"] = "environment variable A2IA_MCP_CONFIG"
    if env.get("A2IA_FAKE_GPU"):
        _set_path(tree, "monitor.fake_gpu", env["A2IA_FAKE_GPU"])
        origin["monitor.fake_gpu"] = "environment variable A2IA_FAKE_GPU"
    return tree, origin


def _origin_for(key: str, origin: Mapping[str, str], fallback: str) -> str:
    # The longest recorded path that is a prefix of (or equal to) the failing key.
    best = ""
    for path in origin:
        if (key == path or key.startswith(path + ".") or path.startswith(key + ".")) and len(path) > len(best):
            best = path
    return origin[best] if best else fallback


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a file to read (it costs start-up time otherwise)

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition; a latin-1, UTF-16 or binary file lands here.
        raise ConfigError(
            str(path),
            "",
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save the file as UTF-8",
        ) from None
    except RecursionError:
        raise ConfigError(str(path), "", "invalid TOML: nested too deeply") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None


def load_settings(
    config_path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Build the effective settings. Raises :class:`ConfigError` (one line) on any problem.

    ``flags`` maps dotted key paths to values, e.g. ``{"backends.vllm.base_url": "http://…"}``;
    a key may also be given as ``"--flag-name=backends.vllm.base_url"``-free plain path.
    """
    env = os.environ if env is None else env
    paths = default_paths(env)
    explicit = config_path or env.get("A2IA_CONFIG")
    cfg_file = Path(explicit).expanduser() if explicit else paths.config_file

    # The default backends are data, not a default_factory, so a file that configures one more
    # backend (or one field of a default one) keeps the others.
    tree: dict[str, Any] = {"backends": copy.deepcopy(DEFAULT_BACKENDS)}
    #: The settings of the last layer validated, while no later layer has changed the tree.
    settings: Settings | None = None
    used: Path | None = None
    if explicit or cfg_file.exists():
        if not cfg_file.exists():
            raise ConfigError(str(cfg_file), "", "file not found")
        tree = _deep_merge(tree, read_toml(cfg_file))
        used = cfg_file
        settings = _validate(tree, lambda _k: str(cfg_file))

    env_tree, env_origin = _env_layer(env)
    if env_tree:
        tree = _deep_merge(tree, env_tree)
        settings = _validate(tree, lambda k: _origin_for(k, env_origin, str(cfg_file) if used else "environment"))

    flag_origin: dict[str, str] = {}
    for dotted, value in (flags or {}).items():
        if value is None:
            continue
        _set_path(tree, dotted, value)
        flag_origin[dotted] = "command line"
    if flag_origin:
        settings = _validate(
            tree,
            lambda k: _origin_for(k, {**env_origin, **flag_origin}, str(cfg_file) if used else "settings"),
        )
    elif settings is None:
        # No file, no variable, no flag: the defaults.
        settings = Settings()
    mcp = settings.tools.mcp_config or paths.mcp_config
    return LoadedSettings(settings=settings, paths=paths, config_file_used=used, mcp_config=Path(mcp).expanduser())
