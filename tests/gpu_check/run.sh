#!/usr/bin/env bash
# The checks that need a real NVIDIA GPU, in one run (CI has no GPU; see docs/benchmarks.md).
#
#   bash tests/gpu_check/run.sh            # writes log.txt, app.svg, app.txt to $OUT (default gpu-check-out)
#
# Needs python3 with the project's dependencies (PY=... to choose it) and, for the GPU work, PyTorch.
# Where they are missing and cannot come from an index, wheels in .whl/ are installed to /tmp/site.
set -u
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
if ! "$PY" -c "import textual, pydantic" 2>/dev/null && [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
export A2IA_HOME=$(mktemp -d)
{
    echo "== nvidia-smi"
    nvidia-smi
    echo "== tests: the real GPU, then the monitor and pane tests on the fake NVML"
    "$PY" -m pytest -p no:cacheprovider -q -rs -s tests/core/monitor/test_real_gpu.py tests/core/monitor tests/tui/widgets/test_gpu_pane.py
    echo "== left on the GPU after the tests (should be nothing)"
    nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv
    echo "== a2ia-tui monitor --once"
    "$PY" -m a2ia_tui monitor --once
    "$PY" -m a2ia_tui monitor --once --json
    echo "== a2ia-tui engine autotune (the GPU read through NVML)"
    "$PY" -m a2ia_tui engine autotune vllm -m Qwen/Qwen2.5-7B-Instruct-AWQ
    "$PY" -m a2ia_tui engine autotune vllm -m Qwen/Qwen2.5-32B-Instruct
    "$PY" -m a2ia_tui engine autotune vllm -m meta-llama/Llama-3.1-70B-Instruct
    echo "== bench_monitor"
    "$PY" tests/benchmarks/bench_monitor.py --duration 10 --samples 500
    echo "== the app, with an engine holding 8 GiB of the GPU"
    timeout 300 "$PY" tests/gpu_check/app_on_real_gpu.py "$OUT"
    echo "== nvidia-smi after (nothing left on the GPU)"
    nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv
} 2>&1 | tee "$OUT/log.txt"
