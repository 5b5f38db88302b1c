"""Attachments: reading workspace files (caps, secrets, binary, images), the user message they
make, path completion, and the real wire formats (Ollama ``images``, OpenAI ``image_url`` parts)
checked in the request bodies a loopback server records."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from a2ia_tui.core.agent import attachments as att
from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.errors import AttachmentError, BackendHTTPError
from a2ia_tui.core.llm.ollama import OllamaClient
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.store import HistoryStore
from a2ia_tui.core.tools.secrets import SecretRules
from a2ia_tui.core.tools.workspace import Workspace
from tests.fakes.llm_server import FakeLLMServer, Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.md").write_text("# Notes\n```py\nx = 1\n```\n", encoding="utf-8")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hé')\n", encoding="utf-8")
    (root / "pic.png").write_bytes(PNG)
    (root / ".env").write_text("TOKEN=s3cret\n")
    return Workspace(root)


@pytest.fixture
def rules(tmp_path: Path) -> SecretRules:
    home = tmp_path / "home"
    home.mkdir()
    return SecretRules(home)


def test_text_file_is_inlined_in_a_fence_longer_than_its_own(ws: Workspace, rules: SecretRules) -> None:
    a = att.read_attachment(ws, "notes.md", rules)
    assert a.text is not None and a.image is None and a.name == "notes.md"
    msg = att.compose("What is x?", [a, att.read_attachment(ws, "src/main.py", rules)])
    assert msg.role == "user" and not msg.images
    assert msg.content == (
        "What is x?\n\nnotes.md:\n````\n# Notes\n```py\nx = 1\n```\n````\n\nsrc/main.py:\n```\nprint('hé')\n```"
    )


def test_image_is_recognised_by_its_bytes_not_its_name(ws: Workspace, rules: SecretRules) -> None:
    (ws.root / "photo.txt").write_bytes(PNG)
    a = att.read_attachment(ws, "photo.txt", rules)
    assert a.image is not None and a.image.mime == "image/png"
    assert base64.b64decode(a.image.data) == PNG
    msg = att.compose("Describe", [a])
    assert msg.content == "Describe" and msg.images == [a.image]


def test_secret_file_is_refused_with_its_reason(ws: Workspace, rules: SecretRules) -> None:
    with pytest.raises(AttachmentError, match=r"^\.env is .*not attached"):
        att.read_attachment(ws, ".env", rules)


def test_outside_the_workspace_and_symlink_escape_are_refused(
    ws: Workspace, rules: SecretRules, tmp_path: Path
) -> None:
    (tmp_path / "outside.txt").write_text("no")
    os.symlink(tmp_path / "outside.txt", ws.root / "link.txt")
    for path in ("../outside.txt", str(tmp_path / "outside.txt"), "link.txt"):
        with pytest.raises(AttachmentError, match="outside the workspace"):
            att.read_attachment(ws, path, rules)


def test_caps_binary_encoding_missing_and_directories(ws: Workspace, rules: SecretRules) -> None:
    (ws.root / "big.txt").write_bytes(b"a" * (att.TEXT_CAP + 1))
    (ws.root / "ok.txt").write_bytes(b"a" * att.TEXT_CAP)
    (ws.root / "big.png").write_bytes(PNG + b"\x00" * att.IMAGE_CAP)
    (ws.root / "prog").write_bytes(b"\x7fELF\x00\x01")
    (ws.root / "latin1.txt").write_bytes("café".encode("latin-1"))
    assert att.read_attachment(ws, "ok.txt", rules).size == att.TEXT_CAP
    cases = {
        "big.txt": "larger than 256 KiB",
        "big.png": "image is larger than 5.0 MiB",
        "prog": "binary file",
        "latin1.txt": "not UTF-8",
        "nope.txt": "no such file",
        "src": "is a directory",
    }
    for path, why in cases.items():
        with pytest.raises(AttachmentError, match=why):
            att.read_attachment(ws, path, rules)


def test_path_completion_lists_the_workspace(ws: Workspace) -> None:
    assert att.complete_path(ws, "no") == "notes.md"
    assert att.complete_path(ws, "s") == "src/"
    assert att.complete_path(ws, "src/m") == "src/main.py"
    assert att.complete_path(ws, "src/main.py") is None  # already complete
    assert att.complete_path(ws, "") == "notes.md"  # hidden files only when asked for
    assert att.complete_path(ws, ".e") == ".env"
    assert att.complete_path(ws, "../") is None  # never lists outside


def test_history_keeps_the_images(tmp_path: Path, ws: Workspace, rules: SecretRules) -> None:
    conv = Conversation()
    conv.add_user(att.compose("Describe", [att.read_attachment(ws, "pic.png", rules)]))
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.sync(conv)
    loaded = store.load(conv.id)
    assert loaded.entries[0].message.images == conv.entries[0].message.images
    assert loaded.title == "Describe"


async def test_ollama_wire_sends_images_as_a_base64_list(ws: Workspace, rules: SecretRules) -> None:
    msg = att.compose("What is this?", [att.read_attachment(ws, "pic.png", rules)])
    async with FakeLLMServer("ollama", [Reply(text="a logo")], models=["llava", "qwen"], vision=("llava",)) as srv:
        client = OllamaClient(srv.url, model="llava")
        async with client:
            assert att.vision_from_show(await client.show()) is True
            assert att.vision_from_show(await client.show("qwen")) is False
            text = "".join([c.message.content async for c in client.stream_chat([msg])])
    assert text == "a logo"
    body = srv.requests[-1].body
    assert body["messages"] == [
        {"role": "user", "content": "What is this?", "images": [base64.b64encode(PNG).decode()]}
    ]


async def test_openai_wire_sends_image_url_parts(ws: Workspace, rules: SecretRules) -> None:
    msg = att.compose("What is this?", [att.read_attachment(ws, "pic.png", rules)])
    async with FakeLLMServer("vllm", [Reply(text="a logo")]) as srv:
        async with OpenAIClient(srv.url, model="fake-model") as client:
            text = "".join([c.message.content async for c in client.stream_chat([msg])])
    assert text == "a logo"
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert srv.requests[-1].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": data_url}},
            ],
        }
    ]


async def test_openai_400_about_images_says_what_to_do(ws: Workspace, rules: SecretRules) -> None:
    msg = att.compose("What is this?", [att.read_attachment(ws, "pic.png", rules)])
    # the wording of the server's message varies; the hint keys on "image"/"multimodal"/"vision"
    body = {"error": {"message": "fake-model is not a multimodal model", "type": "BadRequestError", "code": 400}}
    async with FakeLLMServer("vllm", [Reply(status=400, error_body=body)]) as srv:
        async with OpenAIClient(srv.url, model="fake-model") as client:
            with pytest.raises(BackendHTTPError, match="does not seem to take images"):
                _ = [c async for c in client.stream_chat([msg])]


@pytest.mark.parametrize("mode", ["native", "react"])
async def test_images_reach_the_request_in_both_tool_modes(mode: str, ws: Workspace, rules: SecretRules) -> None:
    from a2ia_tui.core.agent.orchestrator import Orchestrator
    from a2ia_tui.core.config import load_settings
    from a2ia_tui.core.llm.scripted import ScriptedClient, text_reply

    settings = load_settings(env={}).settings
    settings.agent.mode = mode  # type: ignore[assignment]
    client = ScriptedClient([text_reply("Thought: seen\nFinal Answer: a logo")])
    conv = Conversation()
    conv.add_user(att.compose("What is this?", [att.read_attachment(ws, "pic.png", rules)]))
    _ = [e async for e in Orchestrator(client, None, settings).run_turn(conv)]
    sent = [m for m in client.calls[0].messages if m.role == "user"]
    assert sent[-1].images == conv.entries[0].message.images and sent[-1].images


def test_export_names_the_images_without_their_bytes(ws: Workspace, rules: SecretRules) -> None:
    from a2ia_tui.core.store import to_markdown

    conv = Conversation()
    conv.add_user(att.compose("What is this?", [att.read_attachment(ws, "pic.png", rules)]))
    md = to_markdown(conv)
    assert "What is this?\n\n*(1 image(s) attached: image/png)*" in md
    assert base64.b64encode(PNG).decode() not in md
