"""Whether native tool calls reach a backend's model, and what the agent does when they do not.

``decide(settings, client, mode)`` returns a :class:`ToolProtocol`: ``native``, ``react``,
``off``, or ``auto`` (native, falling back to ReAct when the server rejects tools: see
:mod:`.orchestrator`), with the reason the user is shown (status bar, a note in the chat).

Policy, from what the servers do:

- ``tools.enabled = false`` (``--no-tools``): off.
- ``agent.mode`` ``native`` or ``react`` set by the user: that, as asked.
- ``auto`` on the bundled llama.cpp engine (backend kind ``local``): llama-cpp-python passes
  ``tools`` to the model and reads calls back only with a function-calling chat format
  (:data:`NATIVE_CHAT_FORMATS`); any other format (the default: the GGUF's own template) silently
  drops them, so the model would answer without ever seeing a tool. Even those formats refuse a
  *streamed* request with ``tool_choice: "auto"`` (``chatml-function-calling``: "Automatic
  streaming tool choice is not supported", raised inside the 200 stream), and the agent streams:
  so on this engine native calls never work, and the choice is ReAct or no tools.
  For the bundled SmolLM2-135M the choice comes from a measurement
  (``tests/benchmarks/bench_tool_calls.py``, docs/benchmarks.md): :data:`BUNDLED_MODEL`. For
  another GGUF (``engines.local.model_path``): ReAct.
- ``auto`` elsewhere (vLLM, Ollama, other OpenAI-compatible servers): they say when they do not
  take tools (vLLM's 400 without a tool parser, Ollama's "does not support tools":
  :func:`rejects_tools`); the orchestrator's fallback handles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..config import LocalEngineSettings, Settings
from ..errors import BackendHTTPError, ToolsUnsupported

Mode = Literal["native", "react", "off", "auto"]

#: llama-cpp-python chat formats that turn ``tools`` into a prompt and the reply into tool calls.
NATIVE_CHAT_FORMATS = frozenset({"chatml-function-calling", "functionary", "functionary-v1", "functionary-v2"})


@dataclass(frozen=True)
class ToolProtocol:
    mode: Mode
    #: Why, in a sentence the user reads ("" for a plain choice that needs none).
    reason: str = ""

    @property
    def label(self) -> str:
        """The status bar's words."""
        return {"native": "native tools", "react": "ReAct", "off": "tools: off", "auto": "tools: auto"}[self.mode]


#: How often the bundled SmolLM2-135M-Instruct made a correct call (right tool, arguments valid
#: against its schema) in 20 fixed requests at temperature 0: tests/benchmarks/bench_tool_calls.py,
#: 2026-12-06, docs/benchmarks.md. Native calls were asked without streaming (chatml-function-calling),
#: which the agent cannot use on this engine.
BUNDLED_MEASURED = {"react": 0, "native": 8}
BUNDLED_REQUESTS = 20


def measured_choice(react: int, native: int, of: int = BUNDLED_REQUESTS) -> Mode:
    """The better of the two protocols if it made a correct call at least half the time (ReAct on
    a tie: it needs nothing from the server), else no tools."""
    if react * 2 >= of and react >= native:
        return "react"
    if native * 2 >= of and native > react:
        return "native"
    return "off"


def _bundled_reason(mode: Mode) -> str:
    figures = (
        f"ReAct: {{react}} of {BUNDLED_REQUESTS} requests, native chatml-function-calling: {{native}} of "
        f"{BUNDLED_REQUESTS}"
    )
    if mode == "off":
        return (
            f"SmolLM2-135M makes a correct tool call too rarely to be given tools ({figures}); "
            "use a larger model, or switch on ReAct with ctrl+r"
        )
    return f"using {'ReAct' if mode == 'react' else 'native calls'}, the better for SmolLM2-135M ({figures})"


_BUNDLED_MODE = measured_choice(**BUNDLED_MEASURED)
#: What the agent does with the bundled model; ``reason`` is formatted with BUNDLED_MEASURED.
BUNDLED_MODEL = ToolProtocol(_BUNDLED_MODE, _bundled_reason(_BUNDLED_MODE))


def chat_format(s: LocalEngineSettings) -> str | None:
    """The local engine's chat format: ``chat_format``, or the last ``--chat_format X`` /
    ``--chat_format=X`` of its ``extra_args`` (they come after it on the command line)."""
    fmt = s.chat_format
    args = list(s.extra_args)
    for i, arg in enumerate(args):
        if arg == "--chat_format" and i + 1 < len(args):
            fmt = args[i + 1]
        elif arg.startswith("--chat_format="):
            fmt = arg.split("=", 1)[1]
    return fmt or None


def decide(settings: Settings, client: Any, mode: str | None = None) -> ToolProtocol:
    """The tool protocol for ``client`` (an LLMClient: its ``kind`` is read) under ``mode``
    (default: ``settings.agent.mode``)."""
    mode = mode or settings.agent.mode
    if not settings.tools.enabled:
        return ToolProtocol("off", "tools are switched off (--no-tools or tools.enabled = false)")
    if mode == "native":
        return ToolProtocol("native")
    if mode == "react":
        return ToolProtocol("react")
    if getattr(client, "kind", "") != "local":
        return ToolProtocol("auto")
    local = settings.engines.local
    fmt = chat_format(local)
    if fmt in NATIVE_CHAT_FORMATS:
        why = f"llama-cpp-python's {fmt} chat format cannot stream a reply that may call a tool"
    elif fmt:
        why = f"llama-cpp-python's {fmt} chat format does not pass tools to the model"
    else:
        why = "the local engine's chat format (the model's own template) does not pass tools to the model"
    if local.model_path is None:
        return ToolProtocol(BUNDLED_MODEL.mode, f"{why}; " + BUNDLED_MODEL.reason.format(**BUNDLED_MEASURED))
    return ToolProtocol("react", f"{why}: using the ReAct text protocol")


def rejects_tools(exc: BaseException) -> bool:
    """The server refused the request because it carried tools: vLLM without auto tool choice
    (:class:`ToolsUnsupported`), or Ollama's 400 "<model> does not support tools"."""
    if isinstance(exc, ToolsUnsupported):
        return True
    return isinstance(exc, BackendHTTPError) and exc.status == 400 and "does not support tools" in exc.message.lower()
