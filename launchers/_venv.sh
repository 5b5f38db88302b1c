# Sourced by launchers/run and launchers/test: make sure .venv exists and holds
# the project with the given extras. Idempotent: a second run with an unchanged
# pyproject.toml does no pip work at all.
#   usage: ensure_venv "local"        or   ensure_venv "test,local"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

_apt_install() {
    # Fresh Debian has neither python3-venv nor a C compiler. Install them when we
    # may; otherwise say exactly what to run.
    if command -v apt-get >/dev/null 2>&1 && _as_root true 2>/dev/null; then
        echo "a2ia: installing system packages: $*" >&2
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    else
        echo "a2ia: missing system packages; run: sudo apt-get install $*" >&2
        exit 1
    fi
}

ensure_venv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
            _apt_install python3-venv
        fi
        echo "a2ia: creating $VENV" >&2
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.a2ia-installed-${extras//,/-}"
    local want
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/launchers/_venv.sh" | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [[ ",$extras," == *",local,"* ]] && ! command -v c++ >/dev/null 2>&1; then
        _apt_install build-essential
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    if [[ ",$extras," == *",local,"* ]]; then
        echo "a2ia: installing the bundled CPU engine (llama-cpp-python compiles from source the first time: a few minutes; pip caches the wheel)" >&2
    fi
    # A portable build: a native (-march=native) llama.cpp build crashed here on its first token.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" \
        "$VENV/bin/python" -m pip install --progress-bar on -e "$ROOT[$extras]" >&2
    echo "$want" > "$stamp"
}
