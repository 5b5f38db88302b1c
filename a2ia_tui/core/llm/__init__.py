"""LLM clients: the abstract :class:`LLMClient`, the chat types, and the backends."""

from .base import LLMClient, gather_stream
from .types import ChatChunk, ChatResponse, FunctionCall, Health, Message, ModelInfo, ToolCall, ToolSpec

__all__ = [
    "ChatChunk",
    "ChatResponse",
    "FunctionCall",
    "Health",
    "LLMClient",
    "Message",
    "ModelInfo",
    "ToolCall",
    "ToolSpec",
    "gather_stream",
]
