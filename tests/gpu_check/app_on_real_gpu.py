"""The whole app on a machine with a real NVIDIA GPU (a manual check; CI has no GPU).

``python tests/gpu_check/app_on_real_gpu.py OUT_DIR [--gib 8]`` builds the app exactly as ``a2ia-tui
--backend vllm --no-tools`` does (``make_app``), with the vLLM engine's executable set to the fake
vLLM server whose "EngineCore" child takes 8 GiB of the real GPU and keeps it busy
(``--fake-gpu-gib``). Driven by Pilot at 140x45 it starts the engine from the app, waits for it to be
ready, sends a message, waits until the GPU pane shows the engine's process labelled as the
managed engine, and writes ``app.svg`` (the screenshot) and ``app.txt`` (what it saw, with the
pane's text) to OUT_DIR, then stops the engine. Exit 1 (and the reason) when a step fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from a2ia_tui.core.config import load_settings  # noqa: E402
from a2ia_tui.tui.factory import make_app  # noqa: E402
from a2ia_tui.tui.messages import SelectBackend  # noqa: E402

# run.sh runs this from the repo root (copied whole to the GPU machine); ROOT is on sys.path above
from tests.helpers.engines import write_wrapper  # noqa: E402
from tests.helpers.processes import free_port  # noqa: E402


async def until(pilot, what: str, cond, timeout: float, log: list[str]) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"FAILED: {what} (not within {timeout:.0f} s)\n" + "\n".join(log))
        await pilot.pause(0.1)
    log.append(f"{time.monotonic() - T0:6.1f} s  {what}")


T0 = time.monotonic()


async def main(out: Path, gib: float) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="a2ia-gpu-"))
    exe = write_wrapper(tmp)
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "A2IA_HOME": str(tmp / "home"),
            "A2IA_ENGINES__VLLM__EXECUTABLE": str(exe),
            "A2IA_ENGINES__VLLM__PORT": str(port),
            "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(["--fake-gpu-gib", str(gib), "--fake-delay", "0.2"]),
            "A2IA_ENGINES__STOP_GRACE_S": "5",
            "A2IA_MONITOR__PROCESS_INTERVAL_S": "1",
        }
    )
    loaded = load_settings(
        env=env,
        flags={
            "default_backend": "vllm",
            "backends.vllm.base_url": f"http://127.0.0.1:{port}/v1",
            "tools.enabled": False,
        },
    )
    app = make_app(loaded)
    log: list[str] = []
    from a2ia_tui.tui.widgets.gpu_card import GPUCard

    def card_text() -> str:
        cards = list(app.query(GPUCard))
        return "\n\n".join(c.render_text(c.content_size.width or 40).plain for c in cards)

    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, "the GPU card is drawn", lambda: bool(app.query(GPUCard)), 60, log)
        log.append("card before the engine:\n" + card_text())
        app.start_engine("vllm")
        engines = app.services.engines
        await until(pilot, "the vLLM engine is ready", lambda: engines.states()["vllm"].status == "ready", 180, log)
        app.post_message(SelectBackend("vllm"))
        await until(
            pilot,
            "the vLLM backend is selected",
            lambda: getattr(app.orchestrator.client, "name", "") == "vllm",
            30,
            log,
        )
        app.query_one("#prompt").value = "Which GPU am I on?"
        await pilot.press("enter")
        from a2ia_tui.tui.widgets.messages import AssistantMessage

        def answered() -> bool:
            answers = list(app.query(AssistantMessage))
            return not app.turn_running and bool(answers) and "fake vLLM" in answers[-1].text

        await until(pilot, "the answer arrived", answered, 60, log)
        if gib > 0:
            await until(pilot, "the GPU pane labels the engine's process", lambda: "vLLM" in card_text(), 60, log)
        await pilot.pause(3)  # a few more samples for the sparklines
        out.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(str(out / "app.svg"))
        pane = card_text()
        log.append("card with the engine running:\n" + pane)
        log.append(f"engine root pids: {engines.root_pids()}")
        await engines.stop("vllm")
        await until(pilot, "the engine is stopped", lambda: not engines.states()["vllm"].running, 60, log)
        await pilot.pause(3)
        log.append("card after the engine stopped:\n" + card_text())
    (out / "app.txt").write_text("\n".join(log) + "\n")
    print("\n".join(log))
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument(
        "--gib",
        type=float,
        default=8.0,
        help="GPU memory the fake engine takes (0: none, for a dry run with A2IA_FAKE_GPU)",
    )
    args = ap.parse_args()
    sys.exit(asyncio.run(main(args.out, args.gib)))
