"""How often the bundled model (SmolLM2-135M-Instruct, llama-cpp-python's server) makes a correct
tool call: native calls through a function-calling chat format versus the ReAct text protocol.

20 fixed simple requests, temperature 0, the 8 built-in tools offered (the real built-in MCP
server's schemas). A call is correct when it names the expected tool and its arguments validate
against that tool's JSON schema (the orchestrator's own check).

  native  the engine started with ``--chat_format chatml-function-calling``; tools sent as the app
          sends them (``tools`` + ``tool_choice: auto``), read by the app's OpenAIClient; NOT
          streamed: that chat format answers a streamed request with tools and ``tool_choice:
          auto`` with an exception inside the 200 stream ("Automatic streaming tool choice is not
          supported"), so the app, which streams, cannot use it;
  react   the engine with its default chat format; the app's ReAct system prompt; the reply
          parsed by ``core.agent.react.parse``.

Each mode starts its own engine on a free port (``a2ia-tui engine start local``) and stops it.
Run: .venv/bin/python tests/benchmarks/bench_tool_calls.py [--modes native,react] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from a2ia_tui.core.agent import react
from a2ia_tui.core.config import load_settings
from a2ia_tui.core.errors import A2IAError
from a2ia_tui.core.llm.base import gather_stream
from a2ia_tui.core.llm.openai import OpenAIClient
from a2ia_tui.core.llm.types import Message, ToolSpec
from a2ia_tui.core.tools.hub import MCPHub
from tests.helpers.processes import free_port

#: (request, the tools that answer it correctly)
REQUESTS: list[tuple[str, set[str]]] = [
    ("List the files here.", {"list_directory"}),
    ("Read README.md.", {"read_file"}),
    ("What is in the file notes.txt?", {"read_file"}),
    ("Show me the contents of the docs folder.", {"list_directory"}),
    ("Search the files for the word TODO.", {"search_files"}),
    ("Run the command `ls -la`.", {"run_command"}),
    ("Write 'hello' to a file named hello.txt.", {"write_file"}),
    ("What GPUs does this machine have?", {"gpu_status"}),
    ("Is the vLLM engine running?", {"engine_status"}),
    ("Open setup.py and show it to me.", {"read_file"}),
    ("Which files are in the src directory?", {"list_directory"}),
    ("Find files that mention 'import os'.", {"search_files"}),
    ("Print the current date with the date command.", {"run_command"}),
    ("Create a file todo.txt containing 'buy milk'.", {"write_file"}),
    ("In config.py, replace 'DEBUG = True' with 'DEBUG = False'.", {"edit_file"}),
    ("Read the first lines of main.py.", {"read_file"}),
    ("How much GPU memory is free?", {"gpu_status"}),
    ("What engines are running?", {"engine_status"}),
    ("List everything in the current directory.", {"list_directory"}),
    ("Run `python --version`.", {"run_command"}),
]

FORMATS = {"native": "chatml-function-calling", "react": None}


def engine(action: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "engine", action, "local"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"engine {action} failed: {proc.stderr.strip()[-500:]}")


async def builtin_specs(workspace: Path) -> list[ToolSpec]:
    settings = load_settings(None, flags={"tools.workspace": str(workspace)}).settings
    hub = MCPHub({}, settings, builtin=True)
    try:
        await hub.start()
        return hub.specs()
    finally:
        await hub.aclose()


def judge(name: str | None, args: Any, expected: set[str], specs: dict[str, ToolSpec]) -> tuple[bool, str]:
    if not name:
        return False, "no call"
    if name not in expected:
        return False, f"wrong tool {name}"
    if not isinstance(args, dict):
        return False, "arguments are not an object"
    schema = specs[name].parameters
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(args))
    if errors:
        return False, f"invalid arguments: {errors[0].message[:80]}"
    return True, "ok"


async def run_mode(
    mode: str, specs: list[ToolSpec], url: str, model: str, max_tokens: int
) -> list[tuple[str, bool, str, float]]:
    by_name = {s.name: s for s in specs}
    client = OpenAIClient(url, model=model, read_timeout_s=600)
    client.kind = "local"
    out = []
    try:
        for text, expected in REQUESTS:
            t0 = time.perf_counter()
            try:
                if mode == "native":
                    # not streamed: chatml-function-calling refuses a streamed request with
                    # tool_choice "auto" ("Automatic streaming tool choice is not supported")
                    reply = await client.chat(
                        [Message(role="user", content=text)],
                        specs,
                        temperature=0.0,
                        options={"max_tokens": max_tokens},
                    )
                    calls = reply.message.tool_calls
                    name = calls[0].name if calls else None
                    args = calls[0].function.arguments if calls and calls[0].valid else None
                    detail = "" if calls else f"text: {reply.message.content[:60]!r}"
                else:
                    msgs = [
                        Message(role="system", content=react.system_prompt(specs)),
                        Message(role="user", content=text),
                    ]
                    reply = await gather_stream(
                        client.stream_chat(msgs, None, temperature=0.0, options={"max_tokens": max_tokens})
                    )
                    result = react.parse(reply.message.content)
                    name = result.action if result.kind == "action" else None
                    args = result.action_input
                    detail = "" if name else f"{result.kind}: {reply.message.content[:60]!r}"
                ok, why = judge(name, args, expected, by_name)
            except A2IAError as exc:
                ok, why, detail = False, f"error: {exc}"[:120], ""
            secs = time.perf_counter() - t0
            out.append((text, ok, why + (f" ({detail})" if detail and not ok else ""), secs))
            print(f"  [{mode}] {'OK ' if ok else 'no '} {secs:5.1f}s  {text}  -> {out[-1][2]}", flush=True)
    finally:
        await client.aclose()
    return out


async def main(modes: list[str], max_tokens: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, ws = Path(tmp) / "home", Path(tmp) / "ws"
        ws.mkdir()
        (ws / "README.md").write_text("# demo\n", encoding="utf-8")
        specs = await builtin_specs(ws)
        prompt_chars = len(react.system_prompt(specs))
        print(f"{len(specs)} built-in tools: {', '.join(s.name for s in specs)}")
        print(f"ReAct system prompt: {prompt_chars} characters")
        summary = {}
        for mode in modes:
            port = free_port()
            env = {"A2IA_HOME": str(home), "A2IA_ENGINES__LOCAL__PORT": str(port)}
            fmt = FORMATS[mode]
            if fmt:
                env["A2IA_ENGINES__LOCAL__CHAT_FORMAT"] = fmt
            engine("start", env)
            try:
                results = await run_mode(
                    mode, specs, f"http://127.0.0.1:{port}/v1", "SmolLM2-135M-Instruct", max_tokens
                )
            finally:
                engine("stop", env)
            good = sum(1 for r in results if r[1])
            summary[mode] = (good, len(results), sum(r[3] for r in results))
        print()
        for mode, (good, n, secs) in summary.items():
            fmt = FORMATS[mode] or "default (the GGUF's template)"
            print(f"{mode:<7} chat format {fmt:<32} correct calls {good}/{n} ({100 * good / n:.0f} %)  {secs:.0f} s")
        print(json.dumps({m: {"correct": g, "of": n} for m, (g, n, _s) in summary.items()}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="native,react")
    ap.add_argument("--max-tokens", type=int, default=128)
    a = ap.parse_args()
    asyncio.run(main([m for m in a.modes.split(",") if m], a.max_tokens))
