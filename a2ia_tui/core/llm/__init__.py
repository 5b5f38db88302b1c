"""LLM clients: the abstract :class:`LLMClient`, the chat types, the backends and the registry.

``make_client(settings, name)`` is the usual way in; the client classes are exported for tests
and for code that talks to a server it was given by URL.
"""

from .base import LLMClient, gather_stream
from .ollama import OllamaClient
from .openai import OpenAIClient
from .registry import backend_names, make_client, resolve_default_backend
from .types import (
    ChatChunk,
    ChatResponse,
    FunctionCall,
    Health,
    Message,
    ModelInfo,
    ToolCall,
    ToolSpec,
)
from .vllm import VLLMClient

__all__ = [
    "ChatChunk",
    "ChatResponse",
    "FunctionCall",
    "Health",
    "LLMClient",
    "Message",
    "ModelInfo",
    "OllamaClient",
    "OpenAIClient",
    "ToolCall",
    "ToolSpec",
    "VLLMClient",
    "backend_names",
    "gather_stream",
    "make_client",
    "resolve_default_backend",
]
