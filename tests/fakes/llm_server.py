"""A loopback fake LLM server over real TCP, speaking vLLM's / OpenAI's SSE and Ollama's NDJSON.

In-process (inside a running event loop)::

    async with FakeLLMServer("openai", replies=[Reply(text="hello there")]) as srv:
        client = OpenAIClient(srv.url, model="fake-model")

In a background thread (Textual Pilot tests, sync code, benchmarks)::

    with FakeLLMServer("ollama", replies=[...]).threaded() as srv:
        ...
    # or: srv = FakeLLMServer(...).start_in_thread(); ...; srv.stop()

As a subprocess (tmux / CLI end-to-end tests)::

    python tests/fakes/llm_server.py --flavor openai --port 0 [--replies F.json] [--tokens-per-s N] [--model M]...

prints ONE line ``READY <url>`` on stdout and serves until SIGTERM/SIGINT. ``F.json`` is a JSON
list of objects with :class:`Reply`'s fields (``tool_calls`` as ``[["name", {...}], ...]``).

Constructor: ``FakeLLMServer(flavor="openai"|"vllm"|"ollama", replies=None, *, models=["fake-model"],
auto_tool_choice=True, max_model_len=8192, tokens_per_s=None, port=0, vision=(), template_switch=False)``; ``vision``
names the Ollama models whose ``/api/show`` capabilities include ``"vision"``. It binds 127.0.0.1.

- ``srv.url``: the base URL a client uses (``http://127.0.0.1:P/v1`` for openai/vllm,
  ``http://127.0.0.1:P`` for ollama); ``srv.root`` is the server root, ``srv.port`` the port.
- ``srv.requests``: every request, in order, as ``Recorded(method, path, headers, body)``
  (headers lower-cased, body parsed JSON).
- ``srv.add(*replies)``: queue more replies. Replies are played one per chat request, in order;
  when they run out the last one repeats (or a short default answer), so interactive use works.

:class:`Reply` fields: ``text``, ``thinking``, ``tool_calls`` (``(name, args)`` pairs; args a dict
or a raw, possibly invalid, JSON string), ``chunk_words`` (words per chunk, default 1),
``tokens_per_s`` (pace; None = as fast as possible), ``status``/``error_body`` (an HTTP error with
a JSON body in the flavour's real shape, or the body you give), ``drop_after`` (abort the TCP
connection after N chunks), ``stall_after`` (stop sending after N chunks, connection kept open),
``error_line_after`` (Ollama: an ``{"error": ...}`` line inside the 200 stream), ``usage``
(send the usage chunk when asked with ``stream_options.include_usage``), ``arg_fragment``
(characters per tool-argument fragment), ``vllm_noise`` (vllm flavour: keep-alive comments and
vLLM's explicit nulls such as ``"token_ids": null``, ``"name": null``).

Endpoints. openai/vllm: ``POST /v1/chat/completions`` (SSE when ``stream: true``, else one JSON
completion), ``GET /v1/models`` (vllm adds ``max_model_len``), ``GET /health`` (vllm), ``GET /``.
The vllm flavour also answers ``POST /tokenize`` (chat form) through a scripted template that reads
``enable_thinking`` only when built with ``template_switch=True``; ``srv.tokenize_answer = (status,
body)`` scripts a hostile answer instead. The vllm flavour built with ``auto_tool_choice=False`` rejects ``tools`` with vLLM's real 400 body;
``stream_options`` without ``stream: true`` is rejected as vLLM does. The stream sends the role
chunk, reasoning pieces as ``delta.reasoning``, content pieces, each tool call's id/name delta and
then its argument JSON in fragments interleaved by ``index`` across parallel calls, the finish
chunk, the usage chunk with ``choices: []`` and ``data: [DONE]``.
ollama: ``POST /api/chat`` (NDJSON with the final statistics line, or one JSON object when
``stream: false``; unknown model → 404 ``{"error": "model 'x' not found"}``), ``GET /api/tags``,
``GET /api/ps``, ``POST /api/show`` (``details``, ``model_info["qwen2.context_length"] = max_model_len``,
``capabilities``), ``POST /api/pull`` (NDJSON progress per layer, then verifying, writing manifest,
success; the model is listed only after "writing manifest"; ``srv.catalog[name] = PullPlan(...)``
says what can be pulled and how it fails), ``DELETE /api/delete`` (200 empty, 404 ``{"error":
"model 'x' not found"}``), ``GET /api/version`` (0.33.0), ``GET /``.

Output length, as the real servers read it: ``max_tokens`` cuts the content (``finish_reason``
``length``); ``min_tokens`` (openai, vllm: llama-cpp-python and vLLM take it) and, on the vllm
flavour, ``ignore_eos`` (up to ``max_tokens``) repeat the reply's words until that many are sent;
Ollama's ``options.num_predict`` cuts (``done_reason`` ``length``). One content event = one token.

Responses use chunked transfer encoding, so ``drop_after`` (closing the socket mid-body) is a real
protocol-level interruption the client must notice, exactly as when a server process dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Generator, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Literal

Flavor = Literal["openai", "vllm", "ollama"]

VLLM_AUTO_TOOL_ERROR = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def _vllm_error(message: str, kind: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Done:
    """An already-finished awaitable (what ``stop()`` returns in thread mode)."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


@dataclass
class Reply:
    text: str = ""
    thinking: str = ""
    #: (name, arguments) pairs; arguments may be a dict or a raw (possibly invalid) JSON string.
    tool_calls: list[Any] = field(default_factory=list)
    #: Words per content chunk.
    chunk_words: int = 1
    #: Pace of content chunks; None = as fast as possible.
    tokens_per_s: float | None = None
    #: HTTP error instead of a stream.
    status: int | None = None
    error_body: Any = None
    #: Close the TCP connection abruptly after this many chunks.
    drop_after: int | None = None
    #: Stop sending (connection stays open) after this many chunks.
    stall_after: int | None = None
    #: Ollama: send an {"error": ...} line after this many chunks, inside the 200 stream.
    error_line_after: int | None = None
    usage: bool = True
    #: OpenAI flavour: split each tool call's argument JSON into pieces of this many characters.
    arg_fragment: int = 7
    #: OpenAI flavour: also send ": keep-alive" comment lines and vLLM's explicit nulls.
    vllm_noise: bool = True


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _pieces(text: str, words: int) -> list[str]:
    toks = re.findall(r"\s*\S+|\s+", text)
    if words <= 1:
        return toks
    return ["".join(toks[i : i + words]) for i in range(0, len(toks), words)]


def _sized(pieces: list[str], low: int | None, high: int | None) -> tuple[list[str], bool]:
    """The content pieces as a server told a length would send them: repeated up to ``low`` (the
    end-of-sequence token held back: ``min_tokens``, ``ignore_eos``), cut at ``high``
    (``max_tokens``, ``num_predict``). Also whether the length limit ended the reply."""
    out = list(pieces)
    if low and out and len(out) < low:
        out = [out[i % len(pieces)] for i in range(low)]
    if high is not None and len(out) >= high:
        return out[:high], True
    return out, False


def _int_field(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _norm_calls(calls: list[Any]) -> list[tuple[str, str, dict | None]]:
    out = []
    for item in calls:
        if isinstance(item, dict):
            name, args = item.get("name", ""), item.get("arguments", {})
        else:
            name, args = item[0], item[1]
        raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        out.append((name, raw, args if isinstance(args, dict) else None))
    return out


@dataclass
class PullPlan:
    """How the Ollama flavour's ``/api/pull`` plays a model: layer sizes; ``fail_after`` progress
    lines, then an ``{"error": error}`` line (or, with ``drop``, the connection closed)."""

    layers: list[int] = field(default_factory=lambda: [4_000_000, 1_000])
    fail_after: int | None = None
    error: str = "max retries exceeded: unexpected EOF"
    drop: bool = False
    pace_s: float = 0.0


class FakeLLMServer:
    def __init__(
        self,
        flavor: Flavor = "openai",
        replies: list[Reply] | None = None,
        *,
        models: list[str] | None = None,
        auto_tool_choice: bool = True,
        max_model_len: int = 8192,
        tokens_per_s: float | None = None,
        port: int = 0,
        vision: tuple[str, ...] = (),
        template_switch: bool = False,
    ) -> None:
        self.flavor = flavor
        #: vllm: whether the scripted chat template reads ``enable_thinking`` (as Qwen3's does).
        self.template_switch = template_switch
        #: vllm: a scripted ``/tokenize`` answer instead of the real one: (status, body); a body
        #: that is bytes or str is sent as it is (not JSON-encoded).
        self.tokenize_answer: tuple[int, Any] | None = None
        #: Ollama: the models whose /api/show capabilities include "vision".
        self.vision = set(vision)
        self.replies: list[Reply] = list(replies or [])
        self.models = list(models or ["fake-model"])
        self.auto_tool_choice = auto_tool_choice
        self.max_model_len = max_model_len
        self.default_tokens_per_s = tokens_per_s
        #: events built per reply and request shape: (reply, events, ...) by key
        self._built: dict[tuple, tuple] = {}
        self.requests: list[Recorded] = []
        self._port = port
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last: Reply | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        #: For /metrics: requests streaming now, and tokens generated so far.
        self.running = 0
        self.generated = 0
        #: Ollama: what ``/api/pull`` can fetch (name -> PullPlan); other names are "file does not exist"
        self.catalog: dict[str, PullPlan] = {}
        #: Ollama: per-model sizes and quantization levels for /api/tags, /api/show
        self.sizes: dict[str, int] = {}
        self.quantization: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.sockets[0].getsockname()[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.root if self.flavor == "ollama" else self.root + "/v1"

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> FakeLLMServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        return self

    def stop(self) -> Awaitable[None]:
        """Stop serving. In thread mode this stops the thread right away (``srv.stop()``); in
        loop mode it returns an awaitable (``await srv.stop()``). Either way it is idempotent."""
        if self._thread is not None:
            self.stop_thread()
            return _Done()
        return self._astop()

    async def _astop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> FakeLLMServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self._astop()

    def start_in_thread(self) -> FakeLLMServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._astop())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-llm-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake LLM server did not start within 10 s")
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    @contextlib.contextmanager
    def threaded(self) -> Iterator[FakeLLMServer]:
        self.start_in_thread()
        try:
            yield self
        finally:
            self.stop_thread()

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body_bytes = b""
                if int(headers.get("content-length", "0") or 0):
                    body_bytes = await reader.readexactly(int(headers["content-length"]))
                body: Any = None
                if body_bytes:
                    try:
                        body = json.loads(body_bytes)
                    except ValueError:
                        body = body_bytes.decode("utf-8", "replace")
                self.requests.append(Recorded(method, path, headers, body))
                keep = await self._route(method, path.split("?")[0], body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        obj: Any,
        ctype: str = "application/json",
    ) -> bool:
        data = obj if isinstance(obj, bytes) else (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(status, "X")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: {ctype}\r\ncontent-length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        return True

    async def _route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> bool:
        f = self.flavor
        if method == "GET" and path == "/":
            return await self._send(
                writer,
                200,
                "Ollama is running" if f == "ollama" else "ok",
                "text/plain",
            )
        if f in ("openai", "vllm"):
            if method == "GET" and path == "/health" and f == "vllm":
                return await self._send(writer, 200, b"", "text/plain")
            if method == "GET" and path == "/metrics" and f == "vllm":
                return await self._send(writer, 200, self.metrics_text(), "text/plain; version=0.0.4")
            if method == "GET" and path == "/v1/models":
                data = [
                    {
                        "id": m,
                        "object": "model",
                        "owned_by": "vllm",
                        "root": m,
                        "parent": None,
                        **({"max_model_len": self.max_model_len} if f == "vllm" else {}),
                    }
                    for m in self.models
                ]
                return await self._send(writer, 200, {"object": "list", "data": data})
            if method == "POST" and path == "/v1/chat/completions":
                return await self._openai_chat(body or {}, writer)
            if method == "POST" and path == "/tokenize" and f == "vllm":
                return await self._tokenize(body, writer)
        else:
            if method == "GET" and path == "/api/version":
                return await self._send(writer, 200, {"version": "0.33.0"})
            if method == "GET" and path == "/api/tags":
                return await self._send(
                    writer,
                    200,
                    {
                        "models": [
                            {
                                "name": m,
                                "model": m,
                                "modified_at": "2026-11-20T10:00:00Z",
                                "size": self.sizes.get(m, 4_000_000_000),
                                "digest": "sha256:" + "ab" * 32,
                                "details": self._details(m),
                            }
                            for m in self.models
                        ]
                    },
                )
            if method == "GET" and path == "/api/ps":
                return await self._send(
                    writer,
                    200,
                    {
                        "models": [
                            {
                                "name": self.models[0],
                                "model": self.models[0],
                                "size": 6_000_000_000,
                                "size_vram": 5_000_000_000,
                                "expires_at": "2026-11-25T10:00:00Z",
                                "details": self._details(self.models[0]),
                                "context_length": self.max_model_len,
                            }
                        ]
                        if self.models
                        else []
                    },
                )
            if method == "POST" and path == "/api/show":
                if (body or {}).get("model") not in self.models:
                    return await self._send(
                        writer,
                        404,
                        {"error": f"model '{(body or {}).get('model')}' not found"},
                    )
                return await self._send(
                    writer,
                    200,
                    {
                        "modelfile": "# Modelfile generated by the fake",
                        "parameters": "",
                        "template": "{{ .Prompt }}",
                        "details": self._details((body or {}).get("model")),
                        "model_info": {
                            "general.architecture": "qwen2",
                            "qwen2.context_length": self.max_model_len,
                        },
                        "capabilities": ["completion", "tools"]
                        + (["vision"] if (body or {}).get("model") in self.vision else []),
                    },
                )
            if method == "POST" and path == "/api/pull":
                return await self._ollama_pull(body or {}, writer)
            if method == "DELETE" and path == "/api/delete":
                name = (body or {}).get("model")
                if name not in self.models:
                    return await self._send(writer, 404, {"error": f"model '{name}' not found"})
                self.models.remove(name)
                return await self._send(writer, 200, b"", "text/plain")
            if method == "POST" and path == "/api/chat":
                return await self._ollama_chat(body or {}, writer)
        return await self._send(
            writer,
            404,
            {"detail": "Not Found"} if f != "ollama" else "404 page not found",
            "application/json",
        )

    async def _tokenize(self, body: Any, writer: asyncio.StreamWriter) -> bool:
        """vLLM's ``POST /tokenize`` for a chat: the scripted template renders the messages and,
        with ``template_switch``, an empty think block when ``enable_thinking`` is false (as
        Qwen3's does); a template without the switch ignores the variable. One token per character."""
        if self.tokenize_answer is not None:
            status, answer = self.tokenize_answer
            return await self._send(writer, status, answer)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return await self._send(writer, 400, _vllm_error("messages: Field required", "BadRequestError", 400))
        if body.get("model") is not None and body["model"] not in self.models:
            msg = f"The model `{body['model']}` does not exist."
            return await self._send(writer, 404, _vllm_error(msg, "NotFoundError", 404))
        kwargs = body.get("chat_template_kwargs") or {}
        if not isinstance(kwargs, dict):
            return await self._send(
                writer, 400, _vllm_error("chat_template_kwargs: not a dict", "BadRequestError", 400)
            )
        text = "".join(f"<|{m.get('role')}|>{m.get('content')}<|end|>" for m in body["messages"] if isinstance(m, dict))
        if body.get("add_generation_prompt", True):
            text += "<|assistant|>"
            if self.template_switch and kwargs.get("enable_thinking", True) is False:
                text += "<think>\n\n</think>\n\n"
        tokens = [ord(c) for c in text]
        return await self._send(
            writer,
            200,
            {"count": len(tokens), "max_model_len": self.max_model_len, "tokens": tokens, "token_strs": None},
        )

    def _details(self, model: Any) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "7.6B",
            "quantization_level": self.quantization.get(model, "Q4_K_M"),
        }

    async def _ollama_pull(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """``/api/pull`` as Ollama streams it: the manifest, each layer's progress, verify, write the
        manifest (only then is the model registered), success. ``catalog[name]`` = a ``PullPlan``."""
        name = str(body.get("model") or body.get("name") or "")
        plan = self.catalog.get(name)
        await self._start_stream(writer, "application/x-ndjson")

        async def line(obj: dict[str, Any]) -> None:
            await self._chunk(writer, json.dumps(obj).encode() + b"\n")

        await line({"status": "pulling manifest"})
        if plan is None:
            await line({"error": "pull model manifest: file does not exist"})
            await self._end(writer)
            return True
        sent = 0
        for i, size in enumerate(plan.layers):
            digest = f"sha256:{i:02d}" + "cd" * 31
            for done in range(0, size + 1, max(1, size // 4)):
                if plan.fail_after is not None and sent >= plan.fail_after:
                    if plan.drop:
                        writer.close()
                        return False
                    await line({"error": plan.error})
                    await self._end(writer)
                    return True
                await line(
                    {"status": f"pulling {digest[7:19]}", "digest": digest, "total": size, "completed": min(done, size)}
                )
                sent += 1
                if plan.pace_s:
                    await asyncio.sleep(plan.pace_s)
        await line({"status": "verifying sha256 digest"})
        await line({"status": "writing manifest"})
        if name not in self.models:
            self.models.append(name)
        await line({"status": "success"})
        await self._end(writer)
        return True

    def metrics_text(self) -> str:
        """vLLM-style Prometheus text whose counters follow what this server has served."""
        served = sum(1 for r in self.requests if r.path == "/v1/chat/completions")
        m = self.models[0]
        lab = f'engine="0",model_name="{m}"'
        return (
            "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
            "# TYPE vllm:num_requests_running gauge\n"
            f"vllm:num_requests_running{{{lab}}} {self.running}\n"
            "# TYPE vllm:num_requests_waiting gauge\n"
            f"vllm:num_requests_waiting{{{lab}}} 0.0\n"
            "# TYPE vllm:kv_cache_usage_perc gauge\n"
            f"vllm:kv_cache_usage_perc{{{lab}}} {min(0.95, 0.01 * served):.4f}\n"
            "# TYPE vllm:generation_tokens_total counter\n"
            f"vllm:generation_tokens_total{{{lab}}} {float(self.generated)}\n"
            "# TYPE vllm:prompt_tokens_total counter\n"
            f"vllm:prompt_tokens_total{{{lab}}} {12.0 * served}\n"
        )

    def _next_reply(self) -> Reply:
        if self.replies:
            self._last = self.replies.pop(0)
        return self._last or Reply(text="Hello from the fake server.")

    async def _start_stream(self, writer: asyncio.StreamWriter, ctype: str) -> None:
        writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ntransfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n".encode()
        )
        await writer.drain()

    async def _chunk(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()

    async def _end(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _play(
        self,
        writer: asyncio.StreamWriter,
        reply: Reply,
        events: list[tuple[bytes, bool]],
    ) -> bool:
        """Send events (data, counts_as_token) honouring pace/drop/stall; False = connection gone."""
        rate = reply.tokens_per_s or self.default_tokens_per_s
        gap = 1.0 / rate if rate else 0.0
        t_next = time.perf_counter()
        sent = 0
        batch: list[bytes] = []
        for data, is_token in events:
            if reply.drop_after is not None and sent >= reply.drop_after:
                if batch:
                    await self._chunk(writer, b"".join(batch))
                writer.transport.abort()
                return False
            if reply.stall_after is not None and sent >= reply.stall_after:
                if batch:
                    await self._chunk(writer, b"".join(batch))
                await asyncio.sleep(3600)
            if is_token and gap:
                if batch:
                    await self._chunk(writer, b"".join(batch))
                    batch = []
                t_next += gap
                delay = t_next - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self._chunk(writer, data)
            else:
                batch.append(data)
                if len(batch) >= 64:
                    await self._chunk(writer, b"".join(batch))
                    batch = []
            sent += 1
        if batch:
            await self._chunk(writer, b"".join(batch))
        await self._end(writer)
        return True

    # -- OpenAI / vLLM -------------------------------------------------------------------------

    async def _openai_chat(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        if self.flavor == "vllm" and body.get("tools") and not self.auto_tool_choice:
            return await self._send(
                writer,
                400,
                {
                    "error": {
                        "message": VLLM_AUTO_TOOL_ERROR,
                        "type": "BadRequestError",
                        "param": None,
                        "code": 400,
                    }
                },
            )
        if body.get("stream_options") and not body.get("stream"):
            return await self._send(
                writer,
                400,
                {
                    "error": {
                        "message": "Stream options can only be defined when `stream=True`.",
                        "type": "BadRequestError",
                        "param": None,
                        "code": 400,
                    }
                },
            )
        reply = self._next_reply()
        if reply.status:
            err = (
                reply.error_body
                if reply.error_body is not None
                else {
                    "error": {
                        "message": "fake failure",
                        "type": "InternalServerError",
                        "param": None,
                        "code": reply.status,
                    }
                }
            )
            return await self._send(writer, reply.status, err)
        model = body.get("model", self.models[0])
        cid = "chatcmpl-fake"
        created = 1_764_000_000
        noise = reply.vllm_noise and self.flavor == "vllm"
        extra = {"token_ids": None, "kv_transfer_params": None, "prompt_token_ids": None} if noise else {}

        def ev(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **({"usage": usage} if usage is not None or noise else {}),
                **({"prompt_token_ids": None} if noise else {}),
            }
            return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"

        def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            if noise:
                c["stop_reason"] = None
                c.update(extra)
            return c

        if not body.get("stream"):
            calls = _norm_calls(reply.tool_calls)
            msg: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
            if reply.thinking:
                msg["reasoning"] = reply.thinking
            if calls:
                msg["tool_calls"] = [
                    {
                        "id": f"chatcmpl-tool-{i:04x}",
                        "type": "function",
                        "function": {"name": n, "arguments": raw},
                    }
                    for i, (n, raw, _) in enumerate(calls)
                ]
            return await self._send(
                writer,
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": msg,
                            "finish_reason": "tool_calls" if calls else "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 12,
                        "completion_tokens": 5,
                        "total_tokens": 17,
                    },
                },
            )

        # The events are built once per reply and request shape, before the first byte is sent:
        # building 20k of them takes ~0.25 s, which a repeated request (a benchmark's) must not
        # count as the client's time.
        # Length fields as the real servers read them: max_tokens (both), min_tokens (vLLM and
        # llama-cpp-python), ignore_eos (vLLM only: generate up to max_tokens).
        high = _int_field(body.get("max_tokens", body.get("max_completion_tokens")))
        low = _int_field(body.get("min_tokens"))
        if self.flavor == "vllm" and body.get("ignore_eos") is True and high is not None:
            low = high
        key = ("openai", model, noise, bool((body.get("stream_options") or {}).get("include_usage")), low, high)
        built = self._built.get(key)
        events: list[tuple[bytes, bool]]
        if built is not None and built[0] is reply:
            events, n_tokens = built[1], built[2]
        else:
            events = [(ev([choice({"role": "assistant", "content": ""})]), False)]
            if noise:
                events.append((b": keep-alive\n\n", False))
            n_tokens = 0
            for piece in _pieces(reply.thinking, reply.chunk_words):
                events.append(
                    (
                        ev([choice({"reasoning": piece, "content": None} if noise else {"reasoning": piece})]),
                        True,
                    )
                )
                n_tokens += 1
            text_pieces, cut = _sized(_pieces(reply.text, reply.chunk_words), low, high)
            for piece in text_pieces:
                events.append((ev([choice({"content": piece})]), True))
                n_tokens += 1
            calls = _norm_calls(reply.tool_calls)
            # First delta of each call (id, type, name); then argument fragments interleaved by index.
            for i, (name, _raw, _) in enumerate(calls):
                events.append(
                    (
                        ev(
                            [
                                choice(
                                    {
                                        "content": None,
                                        "tool_calls": [
                                            {
                                                "index": i,
                                                "id": f"chatcmpl-tool-{i:04x}",
                                                "type": "function",
                                                "function": {"name": name},
                                            }
                                        ],
                                    }
                                )
                            ]
                        ),
                        True,
                    )
                )
            frags = [
                [raw[j : j + reply.arg_fragment] for j in range(0, len(raw), reply.arg_fragment)] for _, raw, _ in calls
            ]
            for step in range(max((len(f) for f in frags), default=0)):
                for i, parts in enumerate(frags):
                    if step < len(parts):
                        fn: dict[str, str | None] = {"arguments": parts[step]}
                        if noise:
                            fn["name"] = None
                        events.append(
                            (
                                ev(
                                    [
                                        choice(
                                            {
                                                "content": None,
                                                "tool_calls": [{"index": i, "function": fn}],
                                            }
                                        )
                                    ]
                                ),
                                True,
                            )
                        )
                        n_tokens += 1
            events.append(
                (
                    ev(
                        [
                            choice(
                                {"content": ""} if noise else {},
                                "tool_calls" if calls else ("length" if cut else "stop"),
                            )
                        ]
                    ),
                    False,
                )
            )
            if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
                events.append(
                    (
                        ev(
                            [],
                            {
                                "prompt_tokens": 12,
                                "completion_tokens": n_tokens,
                                "total_tokens": 12 + n_tokens,
                            },
                        ),
                        False,
                    )
                )
            events.append((b"data: [DONE]\n\n", False))
            self._built[key] = (reply, events, n_tokens)
        await self._start_stream(writer, "text/event-stream")
        self.running += 1
        try:
            ok = await self._play(writer, reply, events)
        finally:
            self.running -= 1
            self.generated += n_tokens
        return ok

    # -- Ollama --------------------------------------------------------------------------------

    async def _ollama_chat(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        model = body.get("model", "")
        if model not in self.models:
            return await self._send(writer, 404, {"error": f"model '{model}' not found"})
        reply = self._next_reply()
        if reply.status:
            return await self._send(
                writer,
                reply.status,
                reply.error_body if reply.error_body is not None else {"error": "fake failure"},
            )
        stamp = "2026-11-25T08:00:00.000000Z"

        def line(obj: dict[str, Any]) -> bytes:
            return json.dumps({"model": model, "created_at": stamp, **obj}, ensure_ascii=False).encode() + b"\n"

        high = _int_field((body.get("options") or {}).get("num_predict"))
        key = ("ollama", model, high)
        built = self._built.get(key)
        events: list[tuple[bytes, bool]]
        if built is not None and built[0] is reply:  # built once per reply (see _openai_chat)
            events, count, final = built[1], built[2], built[3]
        else:
            events = []
            count = 0
            for piece in _pieces(reply.thinking, reply.chunk_words):
                events.append(
                    (
                        line(
                            {
                                "message": {
                                    "role": "assistant",
                                    "content": "",
                                    "thinking": piece,
                                },
                                "done": False,
                            }
                        ),
                        True,
                    )
                )
                count += 1
            text_pieces, cut = _sized(_pieces(reply.text, reply.chunk_words), None, high)
            for piece in text_pieces:
                events.append(
                    (
                        line(
                            {
                                "message": {"role": "assistant", "content": piece},
                                "done": False,
                            }
                        ),
                        True,
                    )
                )
                count += 1
            for i, (name, _raw, args) in enumerate(_norm_calls(reply.tool_calls)):
                events.append(
                    (
                        line(
                            {
                                "message": {
                                    "role": "assistant",
                                    "content": "",
                                    "tool_calls": [
                                        {
                                            "function": {
                                                "index": i,
                                                "name": name,
                                                "arguments": args if args is not None else _raw,
                                            }
                                        }
                                    ],
                                },
                                "done": False,
                            }
                        ),
                        True,
                    )
                )
                count += 1
            if reply.error_line_after is not None:
                events.insert(
                    reply.error_line_after,
                    (
                        json.dumps(
                            {"error": "an error was encountered while running the model: unexpected EOF"}
                        ).encode()
                        + b"\n",
                        False,
                    ),
                )
            final = {
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "length" if cut else "stop",
                "total_duration": 2_000_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": 12,
                "prompt_eval_duration": 50_000_000,
                "eval_count": count,
                "eval_duration": max(count, 1) * 20_000_000,
            }
            events.append((line(final), False))
            self._built[key] = (reply, events, count, final)
        if body.get("stream") is False:
            content = reply.text
            msg: dict[str, Any] = {"role": "assistant", "content": content}
            if reply.thinking:
                msg["thinking"] = reply.thinking
            if reply.tool_calls:
                msg["tool_calls"] = [
                    {"function": {"name": n, "arguments": a}} for n, _r, a in _norm_calls(reply.tool_calls)
                ]
            return await self._send(
                writer,
                200,
                {
                    "model": model,
                    "created_at": stamp,
                    "message": msg,
                    **{k: v for k, v in final.items() if k != "message"},
                },
            )
        await self._start_stream(writer, "application/x-ndjson")
        return await self._play(writer, reply, events)


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flavor", choices=["openai", "vllm", "ollama"], default="openai")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--replies", help="JSON file: a list of Reply objects")
    ap.add_argument("--tokens-per-s", type=float, default=None)
    ap.add_argument("--model", action="append", dest="models", help="model name (repeatable)")
    args = ap.parse_args(argv)
    replies: list[Reply] = []
    if args.replies:
        names = {f.name for f in fields(Reply)}
        with open(args.replies, encoding="utf-8") as fh:
            replies = [Reply(**{k: v for k, v in item.items() if k in names}) for item in json.load(fh)]

    async def serve() -> None:
        srv = FakeLLMServer(
            args.flavor,
            replies,
            models=args.models,
            tokens_per_s=args.tokens_per_s,
            port=args.port,
        )
        await srv.start()
        print(f"READY {srv.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await srv._astop()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(_main())
