"""Conversation history (SQLite) and Markdown export. See :mod:`.history` and :mod:`.export`."""

from __future__ import annotations

from pathlib import Path

from ..config import LoadedSettings
from ..errors import StoreError
from .export import to_markdown
from .history import ConversationInfo, HistoryStore, SearchHit

__all__ = ["ConversationInfo", "HistoryStore", "SearchHit", "history_path", "open_store", "to_markdown"]


def history_path(loaded: LoadedSettings) -> Path:
    return loaded.settings.history.path or loaded.paths.history_db


def open_store(loaded: LoadedSettings) -> tuple[HistoryStore | None, str | None]:
    """``(store, None)``, or ``(None, reason)`` when history is disabled or cannot be opened."""
    if not loaded.settings.history.enabled:
        return None, "history is disabled (history.enabled = false)"
    from ..paths import private_dir, tighten_existing

    try:
        tighten_existing(loaded.paths)
        if loaded.settings.history.path is None:
            private_dir(loaded.paths.data_dir)  # our own folder (a chosen path's folder is the user's)
        return HistoryStore(history_path(loaded)), None
    except StoreError as exc:
        return None, str(exc)
