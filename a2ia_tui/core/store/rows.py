"""One stored message or chat-settings value, to and from its SQLite row.

Writing scrubs every string (a lone surrogate would make every later save fail to encode);
reading repairs what it can and skips what it cannot, with one note per problem, so a corrupt row
never makes a load fail."""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from ..agent.chat_settings import ChatSettings
from ..agent.conversation import Conversation, Entry, MessageMeta
from ..llm.types import ImagePart, Message, Role, ToolCall
from ..textsafe import scrub, scrub_obj

_ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")

#: MessageMeta fields kept in the ``meta`` JSON column (row_id is the row's own id).
_META_FIELDS = (
    "backend",
    "model",
    "created_at",
    "status",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "ttft_s",
    "tokens_per_s",
    "duration_s",
    "full_result",
    "is_error",
    "extra",
)


def settings_json(conversation: Conversation) -> str | None:
    data: dict[str, Any] = {}
    if not conversation.settings.is_empty:
        data["chat"] = conversation.settings.to_dict()
    if conversation.tools_off:
        data["tools_off"] = sorted(conversation.tools_off)
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None


def read_settings(raw: object, notes: list[str]) -> tuple[ChatSettings, frozenset[str]]:
    """A chat's saved settings; anything unreadable is a note and is left out."""
    if raw is None:
        return ChatSettings(), frozenset()
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        notes.append("chat settings: not readable, ignored")
        return ChatSettings(), frozenset()
    settings, problems = ChatSettings.from_dict(data.get("chat"))
    notes.extend(problems)
    off = data.get("tools_off", [])
    if not isinstance(off, list) or not all(isinstance(x, str) for x in off):
        notes.append("chat settings: tools_off is not a list of names, ignored")
        off = []
    return settings, frozenset(scrub(x) for x in off)


def encode(conversation_id: str, seq: int, entry: Entry, parent_id: int | None) -> tuple[Any, ...]:
    # every string scrubbed: one lone surrogate (from a model's "\\ud800" escape) would make
    # this and every later save of the chat fail to encode
    msg, meta = entry.message, entry.meta
    calls = (
        json.dumps(scrub_obj([c.model_dump(mode="json") for c in msg.tool_calls]), ensure_ascii=False)
        if msg.tool_calls
        else None
    )
    stored: dict[str, Any] = {k: getattr(meta, k) for k in _META_FIELDS}
    if msg.images:
        # attached images ride in the meta column (base64): no schema change for a rare field
        stored["images"] = [img.model_dump() for img in msg.images]
    meta_json = json.dumps(scrub_obj(stored), ensure_ascii=False, default=str)
    return (
        conversation_id,
        seq,
        msg.role,
        scrub(msg.content),
        _opt(msg.thinking),
        calls,
        _opt(msg.tool_call_id),
        _opt(msg.tool_name),
        scrub(meta_json),
        meta.created_at,
        parent_id,
    )


def _opt(value: str | None) -> str | None:
    return None if value is None else scrub(value)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return scrub(str(value))


def number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


#: MessageMeta field → the types a stored value may have (anything else is dropped with a note).
_META_TYPES: dict[str, tuple[type, ...]] = {
    "backend": (str,),
    "model": (str,),
    "created_at": (int, float),
    "status": (str,),
    "error": (str,),
    "prompt_tokens": (int,),
    "completion_tokens": (int,),
    "ttft_s": (int, float),
    "tokens_per_s": (int, float),
    "duration_s": (int, float),
    "full_result": (str,),
    "is_error": (bool,),
    "extra": (dict,),
}


def _is_role(value: str) -> TypeGuard[Role]:
    return value in _ROLES


def decode(row: tuple[Any, ...], notes: list[str]) -> Entry | None:
    """One stored message (``id, role, content, thinking, tool_calls, tool_call_id, tool_name,
    meta``), repaired where it can be (a note per repair), None when it cannot."""
    row_id, role, content, thinking, calls, call_id, tool_name, meta = row
    role = text(role)
    if not _is_role(role):
        notes.append(f"message {row_id}: unknown role {role[:20]!r}: skipped")
        return None
    tool_calls: list[ToolCall] = []
    if calls:
        try:
            raw = json.loads(text(calls))
            if not isinstance(raw, list):
                raise ValueError("not a list")
        except ValueError:
            notes.append(f"message {row_id}: unreadable tool calls: dropped")
            raw = []
        for c in raw:
            try:
                tool_calls.append(ToolCall.model_validate(scrub_obj(c)))
            except Exception:  # noqa: BLE001 - pydantic's ValidationError and anything odd in the data
                notes.append(f"message {row_id}: a malformed tool call: dropped")
    try:
        m = json.loads(text(meta))
    except (ValueError, TypeError):
        m = None
    if not isinstance(m, dict):
        notes.append(f"message {row_id}: unreadable details (meta): reset")
        m = {}
    fields: dict[str, Any] = {}
    for k in _META_FIELDS:
        if k not in m or m[k] is None:
            continue
        v = m[k]
        if isinstance(v, _META_TYPES[k]) and not (isinstance(v, bool) and bool not in _META_TYPES[k]):
            fields[k] = scrub_obj(v)
        else:
            notes.append(f"message {row_id}: bad {k} in meta: dropped")
    images: list[ImagePart] = []
    raw_images = m.get("images")
    for img in raw_images if isinstance(raw_images, list) else ():
        try:
            images.append(ImagePart.model_validate(img))
        except Exception:  # noqa: BLE001 - pydantic's ValidationError and anything odd in the data
            notes.append(f"message {row_id}: a malformed image: dropped")
    message = Message(
        role=role,
        content=text(content),
        images=images,
        thinking=text(thinking) if thinking is not None else None,
        tool_calls=tool_calls,
        tool_call_id=text(call_id) if call_id is not None else None,
        tool_name=text(tool_name) if tool_name is not None else None,
    )
    return Entry(message=message, meta=MessageMeta(row_id=row_id, **fields))
