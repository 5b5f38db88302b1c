"""Attaching files to a question in the app at 80x24 (f3), against a loopback Ollama server that
records the real request: text inlined in the user message, the image in ``images``."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from a2ia_tui.core.config import load_settings
from a2ia_tui.core.llm.registry import make_client
from a2ia_tui.tui.app import A2IAApp
from a2ia_tui.tui.screens.attach import AttachScreen
from a2ia_tui.tui.services import AppServices
from a2ia_tui.tui.widgets.attachments import AttachmentBar
from a2ia_tui.tui.widgets.messages import NoteMessage, UserMessage
from a2ia_tui.tui.widgets.prompt import Prompt
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.helpers.app import idle, send, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.md").write_text("x = 1\n", encoding="utf-8")
    (ws / "pic.png").write_bytes(PNG)
    (ws / ".env").write_text("TOKEN=s3cret\n")
    return ws


def make_app(url: str, model: str, workspace: Path) -> A2IAApp:
    loaded = load_settings(
        None,
        env={"A2IA_BACKENDS__OLLAMA__BASE_URL": url, "A2IA_BACKENDS__OLLAMA__MODEL": model},
        flags={"tools.enabled": False, "tools.workspace": str(workspace)},
    )
    services = AppServices(
        loaded=loaded,
        make_client=lambda name, m: make_client(loaded.settings, name, model=m),
        initial_backend="ollama",
        extras={"animate": False, "no_metrics": True, "cursor_blink": False},
    )
    return A2IAApp(services)


async def attach(pilot, typed: str, complete: bool = False) -> AttachScreen:
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AttachScreen))
    screen = pilot.app.screen
    await pilot.press(*typed)
    if complete:
        await pilot.press("tab")
    await pilot.press("enter")
    await pilot.pause()
    return screen


async def test_attach_text_and_image_and_send(workspace: Path) -> None:
    """You should see the files listed above the prompt, a secret refused in the dialog, and the
    question sent with the file inlined and the image in Ollama's ``images``."""
    with FakeLLMServer("ollama", [Reply(text="a logo")], models=["llava"], vision=("llava",)).threaded() as srv:
        app = make_app(srv.root, "llava", workspace)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: idle(app))
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Attach file (f3)" in titles and "Drop attachments (shift+f3)" in titles
            await attach(pilot, "no", complete=True)  # Tab completes "no" to notes.md
            await attach(pilot, "pic.png")
            bar = app.query_one(AttachmentBar)
            assert "notes.md (text, 6 B)" in str(bar.render()) and "pic.png (image, 48 B)" in str(bar.render())
            assert bar.region.bottom <= app.query_one("#prompt").region.y  # above the prompt, on screen

            screen = await attach(pilot, ".env")
            assert isinstance(app.screen, AttachScreen)  # refused: the dialog stays with the reason
            assert "not attached" in str(screen.query_one("#why").render())
            await pilot.press("escape")

            await send(pilot, "What is this?")
            await wait_for(pilot, lambda: idle(app) and any(r.path == "/api/chat" for r in srv.requests))
            await wait_for(pilot, lambda: idle(app))
            assert not app.query(AttachmentBar) and app.attachments == []
            shown = app.query(UserMessage).last().text
            assert shown.startswith("What is this?\nAttached: notes.md (text, 6 B), pic.png (image, 48 B)")
            assert app.query_one(Prompt).value == ""
    chat = [r.body for r in srv.requests if r.path == "/api/chat"]
    user = chat[-1]["messages"][-1]
    assert user == {
        "role": "user",
        "content": "What is this?\n\nnotes.md:\n```\nx = 1\n```",
        "images": [base64.b64encode(PNG).decode()],
    }
    assert app.conversation.entries[0].message.images[0].mime == "image/png"


async def test_image_refused_for_a_model_without_vision(workspace: Path) -> None:
    """You should see a one-line note that the model does not take images; nothing is sent and
    the question and the attachment stay, to be dropped (shift+f3) or sent to another model."""
    with FakeLLMServer("ollama", [Reply(text="hi")], models=["qwen"]).threaded() as srv:
        app = make_app(srv.root, "qwen", workspace)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: idle(app))
            await attach(pilot, "pic.png")
            await send(pilot, "What is this?")
            await wait_for(pilot, lambda: bool(app.query(NoteMessage)))
            await wait_for(pilot, lambda: idle(app))
            assert "qwen does not take images" in app.query(NoteMessage).last().text
            assert not any(r.path == "/api/chat" for r in srv.requests)
            assert app.query_one(Prompt).value == "What is this?" and len(app.attachments) == 1
            await pilot.press("shift+f3")
            await pilot.pause()
            assert not app.query(AttachmentBar) and app.attachments == []


def test_a_reopened_chat_says_its_question_had_images() -> None:
    from a2ia_tui.core.agent.conversation import Conversation
    from a2ia_tui.core.llm.types import ImagePart, Message
    from a2ia_tui.tui.widgets.chat import _widgets_for

    conv = Conversation()
    entry = conv.add_user(Message(role="user", content="What?", images=[ImagePart(mime="image/png", data="AAAA")]))
    (shown,) = _widgets_for(entry)
    assert isinstance(shown, UserMessage) and shown.text == "What?\n(1 image(s) attached)"
