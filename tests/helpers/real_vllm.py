"""The real-vLLM tier (tests/real_engines): settings whose managed vLLM is the CPU build serving
SmolLM2-135M-Instruct, the manager, and lookups in the server's processes."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import psutil

from a2ia_tui.core.config import LoadedSettings, load_settings
from a2ia_tui.core.engines.manager import EngineManager
from tests.helpers.processes import alive, free_port, process_tree

#: The name the server answers to (vLLM would otherwise use the model folder's path).
SERVED = "SmolLM2-135M-Instruct"
#: Generous bounds for a loaded 2-core machine; never assertions on time.
START_TIMEOUT_S = 900.0


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
