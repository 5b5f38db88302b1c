"""Settings: one tree of typed sections (msgspec Structs), read from layered sources.

Lowest to highest precedence:

1. the defaults in the models below;
2. a TOML file: ``--config PATH``, else ``$A2IA_CONFIG``, else ``<user config dir>/config.toml``;
3. environment variables ``A2IA_<SECTION>__<KEY>`` (nested with ``__``, case-insensitive),
   e.g. ``A2IA_BACKENDS__VLLM__BASE_URL``; plus the short names ``A2IA_MCP_CONFIG`` and
   ``A2IA_FAKE_GPU``;
4. command-line flags (``--backend``, ``--model``, ``--vllm-url``, ...), passed in as a dict of
   dotted key paths.

Every layer is validated as it is added, so an error names the layer that caused it:
``ConfigError("config.toml", "backends.vllm.port", "expected an integer, got a string")``.

One module a job: :mod:`.fields` (the section base, :class:`Secret`, constrained numbers),
:mod:`.sections` (the settings tree and its defaults), :mod:`.dirs` (where files live),
:mod:`.convert` (data → types, errors → words), :mod:`.load` (the layers), :mod:`.mcp` (the
mcpServers file), :mod:`.dump` (what ``config show`` prints). Import from this package.

MCP servers live in a separate JSON file in the ``{"mcpServers": {...}}`` format shared by
other MCP clients (see :func:`load_mcp_servers`).

``A2IA_HOME`` (if set) moves every per-user directory (config, data, state) under one folder;
tests use it to stay hermetic.
"""

from .convert import convert
from .dirs import APP_NAME, Paths, default_paths
from .dump import masked_dump
from .fields import Port, Positive, Secret
from .load import ENV_PREFIX, LoadedSettings, load_settings, read_toml
from .mcp import MCPServerConfig, load_mcp_servers
from .sections import (
    AgentSettings,
    BackendKind,
    BackendSettings,
    EnginesSettings,
    HistorySettings,
    LocalEngineSettings,
    MonitorSettings,
    Settings,
    ToolSettings,
    UISettings,
    VLLMEngineSettings,
)

__all__ = [
    "APP_NAME",
    "ENV_PREFIX",
    "AgentSettings",
    "BackendKind",
    "BackendSettings",
    "EnginesSettings",
    "HistorySettings",
    "LoadedSettings",
    "LocalEngineSettings",
    "MCPServerConfig",
    "MonitorSettings",
    "Paths",
    "Port",
    "Positive",
    "Secret",
    "Settings",
    "ToolSettings",
    "UISettings",
    "VLLMEngineSettings",
    "convert",
    "default_paths",
    "load_mcp_servers",
    "load_settings",
    "masked_dump",
    "read_toml",
]
