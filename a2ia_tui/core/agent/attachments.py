"""Files attached to a question: text inlined into the user message, images sent beside it.

A path is read through :meth:`Workspace.open` (confined to the workspace, no symlink escape)
and judged by the same secret rules as the ``read_file`` tool; a secret is refused with its
reason (the user can paste it if they mean it). Text must be UTF-8 and at most
:data:`TEXT_CAP` bytes; it becomes a fenced block named after the file, so the history and
exports keep it as plain text. Images (PNG, JPEG, GIF, WebP, recognised by their first bytes,
not their name) of at most :data:`IMAGE_CAP` bytes travel as :class:`ImagePart` (base64):
Ollama's ``images``, OpenAI's ``image_url`` parts. Anything else is refused in one line.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import A2IAError, AttachmentError
from ..llm.types import ImagePart, Message
from ..textsafe import printable
from ..tools.secrets import SecretRules
from ..tools.workspace import Workspace

TEXT_CAP = 256 * 1024
IMAGE_CAP = 5 * 1024 * 1024

#: First bytes → MIME type of the images models take.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class Attachment:
    """One attached file: ``name`` as the user gave it (relative to the workspace), and either
    its ``text`` or its ``image``."""

    name: str
    size: int
    text: str | None = None
    image: ImagePart | None = None

    @property
    def label(self) -> str:
        kind = "image" if self.image is not None else "text"
        return f"{self.name} ({kind}, {_size(self.size)})"


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def image_mime(head: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_attachment(workspace: Workspace, path: str, rules: SecretRules) -> Attachment:
    """Read ``path`` of the workspace as an attachment, or raise :class:`AttachmentError`."""
    shown = printable(path if len(path) <= 80 else path[:80] + "…")
    if not path.strip():
        raise AttachmentError("no file named")
    try:
        opened = workspace.open(path)
    except FileNotFoundError:
        raise AttachmentError(f"{shown}: no such file in the workspace") from None
    except IsADirectoryError:
        raise AttachmentError(f"{shown} is a directory") from None
    except A2IAError as exc:
        raise AttachmentError(str(exc)) from None
    except OSError as exc:
        raise AttachmentError(f"{shown}: {exc.strerror or exc}") from None
    with os.fdopen(opened.fd, "rb") as fh:
        lexical = path if os.path.isabs(path) else os.path.join(workspace.root, path)
        why = rules.reason(opened.path) or rules.reason(lexical)
        if why:
            raise AttachmentError(f"{shown} is {why}: not attached (secrets never leave through an attachment)")
        data = fh.read(IMAGE_CAP + 1)
    name = workspace.relative(opened.path)
    mime = image_mime(data[:16])
    if mime is not None:
        if len(data) > IMAGE_CAP:
            raise AttachmentError(f"{shown}: the image is larger than {_size(IMAGE_CAP)}")
        return Attachment(name, len(data), image=ImagePart(mime=mime, data=base64.b64encode(data).decode("ascii")))
    if len(data) > TEXT_CAP:
        raise AttachmentError(
            f"{shown}: larger than {_size(TEXT_CAP)}; attach a smaller file or ask the agent to read it"
        )
    if b"\x00" in data:
        raise AttachmentError(f"{shown} is a binary file: only text and PNG, JPEG, GIF or WebP images can be attached")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AttachmentError(f"{shown} is not UTF-8 text") from None
    return Attachment(name, len(data), text=text)


def _fenced(name: str, text: str) -> str:
    # a fence longer than any run of backticks in the file, so the file cannot close it
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{name}:\n{fence}\n{body}{fence}"


def compose(question: str, attachments: list[Attachment]) -> Message:
    """The user message: the question, then each text file as a fenced block; images beside."""
    blocks = [question] + [_fenced(a.name, a.text) for a in attachments if a.text is not None]
    images = [a.image for a in attachments if a.image is not None]
    return Message(role="user", content="\n\n".join(b for b in blocks if b), images=images)


def complete_path(workspace: Workspace, typed: str) -> str | None:
    """The first workspace entry that completes ``typed`` (directories end with "/"), or None.
    Hidden entries are offered only when the typed name starts with a dot."""
    head, _, stem = typed.rpartition("/")
    try:
        opened = workspace.open(head or ".", want="dir")
    except (OSError, A2IAError):
        return None
    try:
        with os.scandir(opened.fd) as it:
            names = sorted(
                (e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in it if e.name.startswith(stem)),
                key=str.lower,
            )
    except OSError:
        return None
    finally:
        os.close(opened.fd)
    if not stem.startswith("."):
        names = [n for n in names if not n.startswith(".")]
    if not names or names[0] == stem:
        return None
    return f"{head}/{names[0]}" if head else names[0]


def vision_from_show(show: dict[str, Any]) -> bool | None:
    """Whether an Ollama model takes images, from its ``/api/show`` answer (None: not said)."""
    caps = show.get("capabilities")
    if not isinstance(caps, list):
        return None
    return "vision" in caps


def images_refused_note(model: str | None) -> str:
    return f"{model or 'this model'} does not take images: the question was not sent (remove the image or pick a vision model)"
