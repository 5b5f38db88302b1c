"""vLLM argv, tool-call parsers, log phases, error explanations, and the autotune table."""

from __future__ import annotations

import json

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.autotune import GIB, GPU, autotune
from a2ia_tui.core.engines.vllm import (
    build_argv,
    explain_failure,
    parse_phase,
    tool_call_parser_for,
)


def vsettings(**env):
    return load_settings(env={f"A2IA_ENGINES__VLLM__{k.upper()}": v for k, v in env.items()}).settings.engines.vllm


def test_argv_states_own_defaults_and_loopback():
    argv, notes = build_argv(vsettings(model="Qwen/Qwen2.5-7B-Instruct-AWQ"))
    assert argv[:3] == ["vllm", "serve", "Qwen/Qwen2.5-7B-Instruct-AWQ"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.90"
    assert argv[argv.index("--max-model-len") + 1] == "4096"
    assert argv[-3:] == ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    assert "--swap-space" not in argv and notes == []


def test_every_setting_reaches_argv_and_removed_flags_are_dropped():
    v = vsettings(
        model="mistralai/Mixtral-8x7B-Instruct-v0.1",
        quantization="awq",
        enable_chunked_prefill="true",
        dtype="half",
        kv_cache_dtype="fp8",
        enforce_eager="true",
        max_num_seqs="16",
        tensor_parallel_size="2",
        pipeline_parallel_size="2",
        distributed_executor_backend="ray",
        enable_lora="true",
        lora_modules='["sql=/loras/sql"]',
        max_loras="2",
        cpu_offload_gb="4",
        served_model_name="mixtral",
        api_key="sk-secret",
        extra_args='["--swap-space", "4", "--seed", "1"]',
    )
    argv, notes = build_argv(v)
    joined = " ".join(argv)
    for part in (
        "--quantization awq",
        "--enable-chunked-prefill",
        "--dtype half",
        "--kv-cache-dtype fp8",
        "--enforce-eager",
        "--max-num-seqs 16",
        "--tensor-parallel-size 2",
        "--pipeline-parallel-size 2",
        "--distributed-executor-backend ray",
        "--enable-lora",
        "--lora-modules sql=/loras/sql",
        "--max-loras 2",
        "--cpu-offload-gb 4",
        "--served-model-name mixtral",
        "--tool-call-parser mistral",
        "--seed 1",
    ):
        assert part in joined, part
    assert "--swap-space" not in argv and "4" not in argv[argv.index("--seed") - 1 :][:1]
    assert any("swap-space" in n for n in notes)
    assert "sk-secret" not in joined  # the key goes through VLLM_API_KEY


def test_python_interpreter_executable_uses_the_module():
    argv, _ = build_argv(vsettings(executable="/opt/venv/bin/python3", model="m"))
    assert argv[:5] == [
        "/opt/venv/bin/python3",
        "-I",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
    ]


@pytest.mark.parametrize(
    "model, parser",
    [
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
        ("TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", "mistral"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json"),
        ("meta-llama/Meta-Llama-3-70B-Instruct", "llama3_json"),
        ("some/unknown-model", None),
    ],
)
def test_tool_call_parser_by_family(model, parser):
    assert tool_call_parser_for(model) == parser


def test_unknown_family_means_no_tool_flags_and_a_note():
    argv, notes = build_argv(vsettings(model="some/unknown-model"))
    assert "--enable-auto-tool-choice" not in argv and "ReAct" in notes[0]
    argv, _ = build_argv(vsettings(model="some/unknown-model", tool_call_parser="pythonic"))
    assert argv[-1] == "pythonic"


def test_phases_tolerate_unknown_lines():
    assert parse_phase("random noise 123") is None
    assert parse_phase("(EngineCore pid=7) INFO Model loading took 4.15 GiB and 3 s").detail == "weights take 4.15 GiB"
    p = parse_phase("(EngineCore pid=7) INFO Maximum concurrency for 4096 tokens per request: 11.65x")
    assert p.name == "KV cache allocated" and "11.65x" in p.detail
    shard = parse_phase("Loading safetensors checkpoint shards:  50% Completed | 1/2")
    assert 0.15 < shard.progress < 0.45
    assert (
        parse_phase("(APIServer pid=1) INFO Starting vLLM server on http://127.0.0.1:8000").detail
        == "http://127.0.0.1:8000"
    )


@pytest.mark.parametrize(
    "line, cause",
    [
        (
            "No available memory for the cache blocks. Try increasing `gpu_memory_utilization`",
            "no GPU memory left for the KV cache",
        ),
        (
            "ValueError: Quantization method fp8 is not supported for the current GPU. Minimum capability: 89.",
            "not supported on this GPU",
        ),
        (
            "OSError: Repository Not Found for url: https://huggingface.co/x/y",
            "model not found or gated",
        ),
        ("OSError: [Errno 98] Address already in use", "port is already in use"),
        (
            "RuntimeError: The NVIDIA driver on your system is too old (found version 11040).",
            "CUDA / driver mismatch",
        ),
    ],
)
def test_known_fatal_errors_are_explained_from_above_the_closing_runtime_error(line, cause):
    lines = [
        "INFO loading",
        line,
        "RuntimeError: Engine core initialization failed. See root cause above.",
    ]
    got_cause, hint = explain_failure(lines, 1)
    assert cause in got_cause and hint


def test_unknown_failure_names_the_last_error_line():
    cause, _ = explain_failure(
        [
            "x",
            "KeyError: 'rope_scaling'",
            "RuntimeError: Engine core initialization failed.",
        ],
        1,
    )
    assert "KeyError: 'rope_scaling'" in cause and "exit code 1" in cause


# -- autotune table ------------------------------------------------------------------------------

G12, G24, G80 = (
    [GPU("RTX 3060", 12 * GIB)],
    [GPU("RTX 3090", 24 * GIB)],
    [GPU("A100", 80 * GIB)],
)


def test_12gb_mixtral_awq_does_not_fit_and_suggests_mistral_7b_awq():
    p = autotune("TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", G12)
    assert not p.fits and 22 < p.weights_gib < 27
    assert "Mistral-7B" in p.suggestion and "AWQ" in p.suggestion
    assert "does NOT fit" in p.summary()


def test_12gb_mistral_7b_awq_fits_with_long_context():
    p = autotune("TheBloke/Mistral-7B-Instruct-v0.2-AWQ", G12)
    assert p.fits and p.tensor_parallel_size == 1 and p.quantization == "awq"
    assert 3 < p.weights_gib < 5 and p.max_model_len >= 16384
    assert p.overrides()["quantization"] == "awq"


def test_24gb_mistral_7b_fp16_fits():
    p = autotune("mistralai/Mistral-7B-Instruct-v0.2", G24)
    assert p.fits and p.quantization == "fp16" and 12 < p.weights_gib < 15 and p.max_model_len >= 8192


def test_2x24gb_llama3_70b_awq_needs_tensor_parallel_2():
    p = autotune("casperhansen/Llama-3-70B-Instruct-AWQ", G24 * 2)
    assert p.fits and p.tensor_parallel_size == 2 and 2048 <= p.max_model_len <= 8192
    assert not autotune("casperhansen/Llama-3-70B-Instruct-AWQ", G24).fits


def test_80gb_llama3_8b_long_context_from_the_hf_cache_config(tmp_path):
    snap = tmp_path / "models--meta-llama--Meta-Llama-3-8B-Instruct" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(
        json.dumps(
            {
                "hidden_size": 4096,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "intermediate_size": 14336,
                "vocab_size": 128256,
                "max_position_embeddings": 131072,
                "torch_dtype": "bfloat16",
            }
        )
    )
    p = autotune("meta-llama/Meta-Llama-3-8B-Instruct", G80, cache_dirs=[tmp_path])
    assert p.shape_source == "config.json" and p.fits
    assert 7.5 < p.weights_gib * GIB / 2 / 1e9 < 8.5  # ≈8.0B parameters in bf16
    assert p.max_model_len == 131072 and p.kv_per_1k_tokens_mib == 128
    assert p.max_concurrency > 2


def test_no_gpu():
    p = autotune("Qwen/Qwen2.5-7B-Instruct", [])
    assert not p.fits and "no NVIDIA GPU" in p.notes[0]


def test_fp16_that_does_not_fit_proposes_awq():
    p = autotune("Qwen/Qwen2.5-14B-Instruct", G12)
    assert p.fits and p.quantization == "awq" and "AWQ" in p.notes[0]
    # the checkpoint itself is fp16: the proposal says so and does not send --quantization awq
    assert p.needs_other_checkpoint and "quantization" not in p.overrides()
    # and its summary does not say the checkpoint itself fits
    head, weights = p.summary().splitlines()[:2]
    assert head == "Qwen/Qwen2.5-14B-Instruct: does NOT fit as it is; an AWQ build of it fits"
    assert "(awq build," in weights
    q = autotune("TheBloke/Mistral-7B-Instruct-v0.2-AWQ", G12)
    assert not q.needs_other_checkpoint and q.overrides()["quantization"] == "awq"


@pytest.mark.parametrize(
    "config",
    [
        '{"hidden_size": null, "num_hidden_layers": 32}',
        '{"num_attention_heads": 0}',
        '{"text_config": "not a dict"}',
        '["a list"]',
        "{not json",
    ],
)
def test_a_malformed_config_json_is_estimated_from_the_name(tmp_path, config):
    """A config.json not as transformers writes it (the model's folder is the user's, or
    anyone's): the estimate from the model's name, as without one, never a traceback."""
    snap = tmp_path / "models--Qwen--Qwen2.5-7B-Instruct" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(config)
    local = tmp_path / "Qwen2.5-7B-Instruct"
    local.mkdir()
    (local / "config.json").write_text(config)
    for model in ("Qwen/Qwen2.5-7B-Instruct", str(local)):
        p = autotune(model, G24, cache_dirs=[tmp_path])
        assert p.shape_source == "name" and p.weights_gib > 0
