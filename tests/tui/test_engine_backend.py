"""In the app, the backend named after a managed engine is that engine, wherever it runs: the
start screen's "select when ready" and the sidebar's choice point the chat at the engine's own
address, also when it was started on another port by another a2ia process. Real subprocesses
(the fake ``vllm`` executable) and the app's real client factory."""

from __future__ import annotations

import os
import subprocess
import sys

from textual.widgets import Switch

from a2ia_tui.core.config import load_settings
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.factory import default_services
from a2ia_tui.tui.messages import SelectBackend
from a2ia_tui.tui.screens.dialogs import ConfirmScreen
from a2ia_tui.tui.screens.engine_start import EngineStartScreen
from a2ia_tui.tui.widgets.messages import AssistantMessage
from tests.helpers.app import send, wait_for
from tests.helpers.engines import write_wrapper
from tests.helpers.processes import free_port


def engine_env(tmp_path) -> dict[str, str]:
    return {
        "A2IA_HOME": str(tmp_path / "home"),
        "A2IA_ENGINES__VLLM__EXECUTABLE": str(write_wrapper(tmp_path)),
        "A2IA_ENGINES__VLLM__PORT": str(free_port()),
        "A2IA_ENGINES__VLLM__MODEL": "Qwen/Qwen2.5-7B-Instruct-AWQ",
        "A2IA_ENGINES__STOP_GRACE_S": "3",
        "A2IA_ENGINES__AUTOSTART_LOCAL": "false",
        "A2IA_FAKE_GPU": "one_gpu",
        "A2IA_DEFAULT_BACKEND": "vllm",
        "A2IA_TOOLS__ENABLED": "false",
        "A2IA_HISTORY__ENABLED": "false",
    }


def real_app(env: dict[str, str]) -> A2IAApp:
    services = default_services(load_settings(env=env))
    services.extras = {"animate": False, "no_metrics": True, "cursor_blink": False}
    return A2IAApp(services)


def answered(app: A2IAApp, text: str) -> bool:
    return any(text in m.text for m in app.query(AssistantMessage)) and not app.turn_running


async def test_select_when_ready_points_the_chat_at_the_engine(tmp_path):
    env = engine_env(tmp_path)
    app = real_app(env)
    engines = app.services.engines
    try:
        async with app.run_test(size=(120, 50)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None, timeout=30)
            app.open_engine_start("vllm")
            await wait_for(pilot, lambda: isinstance(app.screen, EngineStartScreen))
            screen = app.screen
            await wait_for(pilot, lambda: bool(screen.query("#es-select")))
            assert screen.query_one("#es-select", Switch).value
            await wait_for(pilot, lambda: screen.query_one("#es-max_model_len").value != "", timeout=30)
            screen.start()
            await wait_for(pilot, lambda: engines.states()["vllm"].status == "ready", timeout=60)
            # chosen while the engine was down (no model then): now the engine, with the model it serves
            served = (engines.states()["vllm"].url, "Qwen/Qwen2.5-7B-Instruct-AWQ")
            await wait_for(pilot, lambda: (app.orchestrator.client.base_url, app.orchestrator.client.model) == served)
            await pilot.press("escape")
            await send(pilot, "hello")
            await wait_for(pilot, lambda: answered(app, "Hello from fake vLLM."), timeout=30)
    finally:
        await engines.stop("vllm")


def a2ia(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``a2ia-tui ARGS`` as another process (waited for: it returns once the engine is up)."""
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


async def test_an_engine_started_elsewhere_on_another_port_is_followed(tmp_path):
    env = engine_env(tmp_path)
    port = free_port()
    start = a2ia("engine", "start", "vllm", "--port", str(port), env=env)
    assert start.returncode == 0, start.stderr
    url = f"http://127.0.0.1:{port}/v1"
    app = real_app(env)
    try:
        async with app.run_test(size=(120, 50)) as pilot:
            # left by "another session": adopted, it is this app's engine, where it runs
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
            assert url in app.screen.question
            await pilot.press("y")
            await wait_for(pilot, lambda: app.orchestrator is not None, timeout=30)
            assert app.orchestrator.client.base_url == url
            await send(pilot, "hello")
            await wait_for(pilot, lambda: answered(app, "Hello from fake vLLM."), timeout=30)
            app.post_message(SelectBackend("vllm"))  # choosing it again changes nothing
            await pilot.pause(0.3)
            assert app.orchestrator.client.base_url == url
    finally:
        stop = a2ia("engine", "stop", "vllm", env=env)
    assert stop.returncode == 0, stop.stderr


async def test_choosing_the_backend_follows_an_engine_started_meanwhile_elsewhere(tmp_path):
    """The app is on the vllm backend while nothing runs; another a2ia process starts the engine
    on another port; choosing vllm in the sidebar moves the chat there."""
    import asyncio

    env = engine_env(tmp_path)
    app = real_app(env)
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    try:
        async with app.run_test(size=(120, 50)) as pilot:
            await wait_for(pilot, lambda: app.orchestrator is not None, timeout=30)
            assert app.orchestrator.client.base_url == f"http://127.0.0.1:{env['A2IA_ENGINES__VLLM__PORT']}/v1"
            start = await asyncio.to_thread(a2ia, "engine", "start", "vllm", "--port", str(port), env=env)
            assert start.returncode == 0, start.stderr
            app.post_message(SelectBackend("vllm"))
            await wait_for(pilot, lambda: app.orchestrator.client.base_url == url, timeout=30)
            await send(pilot, "hello")
            await wait_for(pilot, lambda: answered(app, "Hello from fake vLLM."), timeout=30)
    finally:
        stop = await asyncio.to_thread(a2ia, "engine", "stop", "vllm", env=env)
    assert stop.returncode == 0, stop.stderr
