"""Shared HTTP plumbing for the LLM clients: one httpx.AsyncClient per backend, streaming lines
from raw bytes, and turning every transport failure into an :mod:`a2ia_tui.core.errors` class.

Line splitting is done on bytes (``bytes.split`` in C) and JSON is parsed from bytes, so a UTF-8
character split across network reads is never decoded half-way, and the hot path stays close to
the cost of reading the socket.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import httpx

from ..errors import (
    BackendError,
    BackendHTTPError,
    BackendProtocolError,
    BackendUnreachable,
    StreamInterrupted,
    ToolsUnsupported,
)
from ..redact import mask_url
from .base import LLMClient

#: The longest stream line (or SSE event) a client accepts. A real event is a few hundred bytes;
#: a whole tool call in one line (Ollama, some OpenAI parsers) can hold a file, hence the room.
MAX_LINE_BYTES = 16 * 2**20

AUTO_TOOL_CHOICE_HINT = (
    "start vLLM with --enable-auto-tool-choice --tool-call-parser <hermes|mistral|llama3_json> "
    "(a2ia-tui's managed vLLM does this), or use --react"
)


def error_message(body: bytes | str) -> str:
    """The server's own message from an error body, whatever its shape:
    vLLM ``{"error": {"message": ...}}``, older vLLM ``{"object": "error", "message": ...}``,
    ``{"error": "Unauthorized"}``, Ollama ``{"error": "..."}``, FastAPI ``{"detail": ...}``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        obj = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300] or "(empty body)"
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str) and err:
            return err
        if obj.get("message"):
            return str(obj["message"])
        if obj.get("detail"):
            detail = obj["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail)[:300]
    return " ".join(text.split())[:300]


#: A 400 that names images: the model (or server) does not take the attached image.
IMAGES_HINT = "this model does not seem to take images: remove the image or pick a vision model"


def one_line(text: str, limit: int = 300) -> str:
    """A server's message as one line (its text is untrusted: newlines, any length)."""
    return " ".join(text.split())[:limit]


def partial_text(parts: Sequence[object]) -> str:
    """The text that arrived, for StreamInterrupted. Defensive: a stray value that is not text
    (the checks refuse one before it could be joined) is left out rather than raising here."""
    return "".join(p for p in parts if p.__class__ is str)


def http_error(status: int, body: bytes | str, url: str) -> BackendHTTPError:
    msg = error_message(body)
    low = msg.lower()
    if status == 400 and "tool choice" in low and "enable-auto-tool-choice" in low:
        return ToolsUnsupported(status, msg, url=url, hint=AUTO_TOOL_CHOICE_HINT)
    hint = ""
    if status == 401:
        hint = "check the backend's api_key"
    elif status == 404 and "model" in low:
        hint = "check the model name: the model picker lists what the server has"
    elif status == 400 and any(w in low for w in ("image", "multimodal", "vision")):
        hint = IMAGES_HINT
    return BackendHTTPError(status, msg, url=url, hint=hint)


def describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "no data before the read timeout"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused (is the server running?)"
            cause = cause.__cause__ or cause.__context__
        text = str(exc) or type(exc).__name__
        if "refused" in text.lower() or "errno 111" in text.lower():
            return "connection refused (is the server running?)"
        if "name or service not known" in text.lower() or "nodename" in text.lower():
            return "unknown host"
        return text
    return str(exc) or type(exc).__name__


_SSL_CONTEXT = None


def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every client: building one loads the CA bundle (~30 ms
    here), and the app makes a client per backend, per health check and per model listing."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        import ssl

        import certifi

        _SSL_CONTEXT = ssl.create_default_context(cafile=certifi.where())
    return _SSL_CONTEXT


class HTTPBackend:
    """An httpx.AsyncClient with the backend's base URL, headers and timeouts."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.read_timeout_s = read_timeout_s
        self.max_line_bytes = MAX_LINE_BYTES
        hdrs = {"Accept": "application/json", **(headers or {})}
        if api_key:
            hdrs["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.AsyncClient(
            headers=hdrs,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            transport=transport,
            trust_env=False,
            verify=_ssl_context(),
        )

    def url(self, path: str) -> str:
        return self.base_url + path

    async def get_json(self, path: str, *, timeout: float | None = None, absolute: str | None = None) -> Any:
        url = absolute or self.url(path)
        try:
            kwargs: dict[str, Any] = {}
            if timeout is not None:
                kwargs["timeout"] = timeout
            resp = await self.http.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnreachable(url, describe_transport_error(exc)) from exc
        if resp.status_code >= 400:
            raise http_error(resp.status_code, resp.content, url)
        try:
            return resp.json() if resp.content else None
        except ValueError as exc:
            raise BackendProtocolError(f"{mask_url(url)} answered non-JSON: {resp.text[:120]!r}") from exc

    async def post_json(self, path: str, body: dict[str, Any]) -> Any:
        url = self.url(path)
        try:
            resp = await self.http.post(url, content=dumps(body), headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise BackendUnreachable(url, describe_transport_error(exc)) from exc
        if resp.status_code >= 400:
            raise http_error(resp.status_code, resp.content, url)
        try:
            return resp.json()
        except ValueError as exc:
            raise BackendProtocolError(f"{mask_url(url)} answered non-JSON: {resp.text[:120]!r}") from exc

    async def stream_lines(self, path: str, body: dict[str, Any]) -> AsyncGenerator[list[str], None]:
        """POST ``body`` and yield the response's complete lines (without ``\n`` / ``\r\n``),
        in batches: one list per network read, so the per-line cost is a plain ``for`` loop.

        Lines are cut on bytes first and only the complete part of each read is decoded (once),
        so a UTF-8 character split across reads is never decoded half-way. Invalid UTF-8 is
        replaced, never fatal. A last line without a newline is yielded when the stream ends, followed by one empty
        line (it ends an unterminated SSE event). A line longer than ``max_line_bytes`` stops the
        stream with a BackendProtocolError (the unfinished line is kept as a list of reads, so
        even reaching the cap costs linear time).

        Raises BackendUnreachable before the first byte, BackendHTTPError for an error status,
        StreamInterrupted when the connection drops or stalls after the response started.
        Closing the generator (or cancelling its consumer) closes the response.
        """
        url = self.url(path)
        started = False
        try:
            async with self.http.stream(
                "POST",
                url,
                content=dumps(body),
                headers={"Content-Type": "application/json"},
            ) as resp:
                if resp.status_code >= 400:
                    raise http_error(resp.status_code, await resp.aread(), url)
                started = True
                pending = b""  # the unfinished last line
                parts: list[bytes] | None = None  # ...when it spans several reads: kept apart
                parts_len = 0
                max_line = self.max_line_bytes
                async for data in resp.aiter_bytes():
                    cut = data.rfind(b"\n") + 1
                    if not cut:
                        # No line end in this read. The pieces are joined once, when the line
                        # ends (joining per read made a long line cost quadratic time), and
                        # a line over the limit stops the stream.
                        if parts is None:
                            parts, parts_len = [pending], len(pending)
                        parts.append(data)
                        parts_len += len(data)
                        if parts_len > max_line:
                            raise self._line_too_long()
                        continue
                    if parts is not None:
                        pending, parts = b"".join(parts), None
                    if pending:
                        cut += len(pending)
                        data = pending + data
                    if cut > max_line and max(map(len, data[:cut].split(b"\n"))) > max_line:
                        raise self._line_too_long()  # (only a read this large needs the look)
                    pending = data[cut:]
                    text = data[:cut].decode("utf-8", "replace")
                    if "\r" in text:
                        text = text.replace("\r\n", "\n")
                    lines = text.split("\n")
                    lines.pop()  # the empty string after the final newline
                    yield lines
                # End of stream: the last line even without its newline, then one empty line, so
                # an SSE event the server did not close with a blank line is still dispatched
                # (NDJSON readers skip empty lines).
                if parts is not None:
                    pending = b"".join(parts)
                if len(pending) > max_line:
                    raise self._line_too_long()
                tail = [pending.decode("utf-8", "replace").removesuffix("\r")] if pending else []
                yield [*tail, ""]
        except BackendError:
            raise
        except httpx.HTTPError as exc:
            reason = describe_transport_error(exc)
            if isinstance(exc, httpx.ReadTimeout):
                reason = f"no data for {self.read_timeout_s:g} s (read timeout; the server may be stuck)"
            if not started:
                raise BackendUnreachable(url, reason) from exc
            if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
                reason = "the server closed the connection mid-stream"
            raise StreamInterrupted(reason) from exc

    def _line_too_long(self) -> BackendProtocolError:
        return BackendProtocolError(
            f"a line of the server's stream is longer than the {self.max_line_bytes // 2**20} MiB limit; "
            "the reply was stopped"
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def dumps(body: dict[str, Any]) -> bytes:
    # ensure_ascii=False: non-ASCII text goes over the wire as UTF-8, exactly.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HTTPClient(LLMClient):
    """What every HTTP-backed client shares: the constructor (base URL, key, headers, timeouts,
    an optional test transport), the model choice for a request, and closing the connection pool."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str = "",
        model: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(name=name or self.kind, model=model, base_url=base_url.rstrip("/"))
        self._backend = HTTPBackend(
            self.base_url,
            api_key=api_key,
            headers=headers,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            transport=transport,
        )

    def request_model(self, model: str | None) -> str:
        name = model or self.model
        if not name:
            raise BackendProtocolError(f"{self.name}: no model chosen (set one in the model picker or with --model)")
        return name

    async def aclose(self) -> None:
        await self._backend.aclose()
