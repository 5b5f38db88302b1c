#!/usr/bin/env bash
# Start vLLM in the foreground with exactly the arguments a2ia-tui would use: the argv comes
# from `a2ia-tui engine command vllm` (NUL-separated), so the two never disagree.
#   usage: launchers/vllm_start.sh [--engine-model M] [--port P]     (extra options: see docs/vllm.md)
# The API key is never in argv: export VLLM_API_KEY yourself to require one (the app passes
# engines.vllm.api_key the same way when it starts vLLM).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A2IA="${VLLM_START_CLI:-}"  # the a2ia-tui command to ask (default: .venv/bin/a2ia-tui, else PATH)
if [ -z "$A2IA" ]; then
    if [ -x "$ROOT/.venv/bin/a2ia-tui" ]; then A2IA="$ROOT/.venv/bin/a2ia-tui"; else A2IA="a2ia-tui"; fi
fi

ARGV=()
while IFS= read -r -d '' arg; do ARGV+=("$arg"); done < <("$A2IA" engine command vllm --print0 "$@")
if [ "${#ARGV[@]}" -eq 0 ]; then
    echo "vllm_start: a2ia-tui engine command vllm printed nothing" >&2
    exit 1
fi
echo "+ ${ARGV[*]}" >&2
exec "${ARGV[@]}"
