"""A server left running by a crashed session is offered for adoption (or stopping) at launch."""

from __future__ import annotations

import psutil
import pytest

from a2ia_tui.core.engines.manager import EngineManager
from a2ia_tui.tui.screens.dialogs import ConfirmScreen
from a2ia_tui.tui.widgets.messages import NoteMessage
from tests.helpers.app import build_app, wait_for


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("adopt", [True, False])
async def test_leftover_engine_adopted_or_stopped(fake_vllm_loaded, adopt):
    loaded = fake_vllm_loaded()
    crashed = EngineManager(loaded.settings, loaded.paths)
    state = await crashed.start("vllm")
    crashed.detach()  # the earlier session died without stopping it
    for task in crashed["vllm"]._tasks:
        task.cancel()
    app, _ = build_app(store=False)
    app.services.engines = EngineManager(loaded.settings, loaded.paths)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert f"pid {state.pid}" in app.screen.question and "earlier session" in app.screen.question
            await pilot.press("y" if adopt else "n")

            def noted() -> bool:
                return any(("Adopted" if adopt else "Stopped") in str(n.text) for n in app.query(NoteMessage))

            await wait_for(pilot, noted, timeout=30)
            engine_state = app.services.engines["vllm"].state
            if adopt:
                assert engine_state.status == "ready" and engine_state.pid == state.pid
            else:
                assert gone(state.pid)
    finally:
        await app.services.engines.stop("vllm")
    assert gone(state.pid)
