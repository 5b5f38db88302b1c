#!/usr/bin/env bash
# Install vLLM for a2ia-tui's managed engine, in its own venv (vLLM pins its own torch/CUDA
# stack; keeping it apart from a2ia's .venv avoids clashes), then tell a2ia where it is.
#   usage: launchers/vllm_setup.sh [VENV_DIR]      (default: ./.venv-vllm)
#   env:   VLLM_VERSION=0.33.0 to pin a version; PYTHON=python3.12 to choose the interpreter
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-vllm}"
PY="${PYTHON:-python3}"
SPEC="vllm${VLLM_VERSION:+==$VLLM_VERSION}"

echo "== checking the GPU"
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "nvidia-smi not found: vLLM needs an NVIDIA GPU and its driver." >&2
    echo "Without one, use the bundled CPU engine (launchers/run) or Ollama." >&2
    exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
    echo "nvidia-smi failed: the NVIDIA driver is not working (reboot after installing it?)" >&2
    exit 1
}
CUDA_DRIVER="$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)"
echo "driver supports CUDA ${CUDA_DRIVER:-unknown}"
if [ -n "$CUDA_DRIVER" ] && [ "${CUDA_DRIVER%%.*}" -lt 12 ]; then
    echo "warning: current vLLM wheels are built for CUDA 12+; update the NVIDIA driver if the start fails" >&2
fi

echo "== creating $VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
echo "== pip install $SPEC (large: torch and CUDA libraries, several GB)"
"$VENV/bin/python" -m pip install --progress-bar on "$SPEC"
"$VENV/bin/vllm" --version

cat <<NEXT

Done: vLLM is installed in $VENV.
Next:
  1. tell a2ia-tui where it is, in its config file ([engines.vllm] section):
         executable = "$VENV/bin/vllm"
     or for one shell:  export A2IA_ENGINES__VLLM__EXECUTABLE="$VENV/bin/vllm"
  2. start it from the app (engine panel), or without the TUI:
         a2ia-tui engine start vllm --engine-model Qwen/Qwen2.5-7B-Instruct-AWQ
     or in the foreground with exactly the app's arguments:  launchers/vllm_start.sh
  See docs/vllm.md for the settings, hardware guidance and the error → fix table.
NEXT
