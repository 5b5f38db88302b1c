"""End to end in headless Chromium (Debian's ``chromium``, driven by Playwright; never
``playwright install``): the page loads with the token and not without, a question typed in the
page gets its streamed answer from a loopback fake vLLM, and the GPU pane draws (fake NVML).

The screen is read from the page's own xterm.js terminal: an init script keeps a reference to the
object that textual-serve's page builds (it sets ``websocket_url`` on it first), and the test reads
``terminal.buffer.active`` through xterm's public API."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers.serving import served

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install chromium)"
    for module, extra in (("textual_serve", "serve"), ("playwright.sync_api", "test")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[{extra}]')"
    return None


if (why := _missing()) is not None:
    if os.environ.get("CI") == "true":  # CI must run the browser test, not skip it
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)

from playwright import sync_api as playwright_api  # noqa: E402 - only once it is known to be there

KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, "websocket_url", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "websocket_url", {value, writable: true, enumerable: true, configurable: true});
    (window.__a2iaPages ||= []).push(this);
  },
});
"""
SCREEN = """() => {
  const page = (window.__a2iaPages || [])[0];
  if (!page || !page.terminal) return "";
  const t = page.terminal, b = t.buffer.active, rows = [];
  for (let y = 0; y < t.rows; y++) { const l = b.getLine(b.viewportY + y); rows.push(l ? l.translateToString(true) : ""); }
  return rows.join("\\n");
}"""


def wait_screen(page, text: str, timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < end:
        screen = page.evaluate(SCREEN)
        if text in screen:
            return screen
        page.wait_for_timeout(200)
    raise AssertionError(f"{text!r} did not appear; the page's terminal showed:\n{screen}")


def test_page_needs_token_answers_and_draws_the_gpu(tmp_path: Path) -> None:
    answer = "Streamed hello from the fake vLLM server."
    with served(tmp_path, answer=answer) as s, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.add_init_script(KEEP_TERMINAL)
            refused = page.goto(f"{s.base}/")
            assert refused is not None and refused.status == 403
            assert "token" in page.content()
            assert not s.apps()

            loaded = page.goto(s.url)
            assert loaded is not None and loaded.status == 200
            assert page.url == f"{s.base}/"  # the token went into a cookie, out of the address bar
            screen = wait_screen(page, "Type a message below")
            assert "tools: off" in screen or "vllm" in screen
            # the GPU pane, from the fake NVML scenario "one_gpu"
            screen = wait_screen(page, "GPU0 NVIDIA GeForce RTX 4070")
            assert "VRAM" in screen and "12.0 GiB" in screen
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.type("hi there")
            page.keyboard.press("Enter")
            screen = wait_screen(page, answer)
            assert "hi there" in screen
            page.screenshot(path=os.environ.get("A2IA_TEST_SCREENSHOT", str(tmp_path / "served.png")))
        finally:
            browser.close()
