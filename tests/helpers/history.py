"""A saved conversation with every kind of message: tool call and result, thinking, metrics,
non-ASCII, an interrupted answer."""

from __future__ import annotations

from a2ia_tui.core.agent.conversation import Conversation
from a2ia_tui.core.llm.scripted import make_call
from a2ia_tui.core.llm.types import Message


def sample() -> Conversation:
    conv = Conversation()
    conv.add_user("list files in ünïcode dir")
    call = make_call("builtin__list_dir", {"path": "é/x"}, call_id="call_1")
    conv.add(
        Message(role="assistant", content="Let me look.", thinking="hmm", tool_calls=[call]),
        backend="vllm",
        model="qwen",
        prompt_tokens=12,
        completion_tokens=5,
        ttft_s=0.2,
        tokens_per_s=80.5,
    )
    conv.add(
        Message(role="tool", content="a.txt\nb.txt", tool_call_id="call_1", tool_name="builtin__list_dir"),
        backend="vllm",
        duration_s=0.03,
        full_result="a.txt\nb.txt\n" + "x" * 50,
    )
    conv.add(Message(role="assistant", content="Two files: `a.txt`, `b.txt`."), backend="vllm", model="qwen")
    conv.add_user("and more?")
    conv.add(Message(role="assistant", content="Partial ans"), backend="ollama", model="llama3", status="interrupted")
    return conv
