"""A loopback fake Hugging Face hub speaking the endpoints ``huggingface_hub`` (2.x) uses to download.

Point ``HF_ENDPOINT`` at ``srv.url``::

    with FakeHub({"org/tiny": {"config.json": b"{}", "model.safetensors": b"x" * 4096}}).threaded() as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp / "hub")}

Endpoints, as read from ``huggingface_hub`` (``hf_api.py``, ``file_download.py``, ``utils/_http.py``):

- ``GET /api/models/{org}/{name}[/revision/{rev}]`` (``?blobs=True`` adds sizes): ``id``, ``sha`` (the
  commit), ``gated`` and ``siblings`` ``[{rfilename, size, blobId, lfs?}]``.
- ``GET /api/models/{org}/{name}/tree/{rev}?recursive=...``: ``[{type: "file", oid, size, path, lfs?}]``
  (one page: no ``Link`` header).
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag`` (sha256 for LFS files,
  the git oid otherwise), ``Content-Length``, ``Accept-Ranges``; ``Range: bytes=N-`` answers 206.
- A missing repo: 404 with ``X-Error-Code: RepoNotFound`` (the library turns it into
  ``RepositoryNotFoundError``). A gated repo (``gated={"org/x"}``): its info is public (``"gated":
  "manual"``), its files answer 401 with ``X-Error-Code: GatedRepo`` and ``X-Error-Message``.

Knobs: ``pace`` (bytes per second per file; None = as fast as possible), ``drop_after`` (bytes of a
file's body after which the connection is closed, every time: the download fails half way),
``fake_sizes`` (``{"org/x": N}``: the listing claims N bytes per file, for the disk-full check),
``hold`` (a ``threading.Event`` the file bodies wait on after their first chunk). ``srv.requests``
records ``(method, path)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_MIN = 1024  # files this big are "LFS" files (sha256 etag, lfs metadata)

#: A small model: a config, a tokenizer file, and "weights" big enough to be an LFS file.
TINY = {
    "config.json": b'{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}',
    "tokenizer.json": b'{"version": "1.0"}',
    "model.safetensors": bytes(range(256)) * 800,
}


class FakeHub:
    def __init__(
        self,
        repos: dict[str, dict[str, bytes]],
        *,
        gated: set[str] | None = None,
        pace: float | None = None,
        drop_after: int | None = None,
        fake_sizes: dict[str, int] | None = None,
        hold: threading.Event | None = None,
        commit: str = COMMIT,
    ) -> None:
        self.repos = repos
        self.gated = set(gated or ())
        self.pace = pace
        self.drop_after = drop_after
        self.fake_sizes = dict(fake_sizes or {})
        self.hold = hold
        self.commit = commit
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub._serve(self, body=True)

            def do_HEAD(self) -> None:
                hub._serve(self, body=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            if self.hold is not None:
                self.hold.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextlib.contextmanager
    def threaded(self) -> Iterator[FakeHub]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # -- the hub's answers -----------------------------------------------------------------------

    def _file_meta(self, repo: str, path: str, data: bytes) -> dict[str, Any]:
        size = self.fake_sizes.get(repo, len(data))
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        meta: dict[str, Any] = {"oid": oid, "size": size}
        if len(data) >= LFS_MIN:
            meta["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": size, "pointerSize": 134}
        return meta

    def _etag(self, data: bytes) -> str:
        if len(data) >= LFS_MIN:
            return hashlib.sha256(data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def _json(self, h: BaseHTTPRequestHandler, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _not_found(self, h: BaseHTTPRequestHandler) -> None:
        self._json(
            h,
            404,
            {"error": "Repository not found"},
            {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
        )

    def _serve(self, h: BaseHTTPRequestHandler, *, body: bool) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        self.requests.append((h.command, path))
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/") :].split("/")
            repo = "/".join(rest[:2])
            if repo not in self.repos:
                return self._not_found(h)
            files = self.repos[repo]
            if len(rest) >= 4 and rest[2] == "tree":
                tree = [{"type": "file", "path": p, **self._file_meta(repo, p, d)} for p, d in sorted(files.items())]
                return self._json(h, 200, tree)
            if len(rest) == 2 or (len(rest) >= 4 and rest[2] == "revision"):
                siblings = []
                for p, d in sorted(files.items()):
                    meta = self._file_meta(repo, p, d)
                    sib: dict[str, Any] = {"rfilename": p, "size": meta["size"], "blobId": meta["oid"]}
                    if "lfs" in meta:
                        sib["lfs"] = {"size": meta["size"], "sha256": meta["lfs"]["oid"], "pointerSize": 134}
                    siblings.append(sib)
                info = {
                    "_id": "fake",
                    "id": repo,
                    "modelId": repo,
                    "sha": self.commit,
                    "private": False,
                    "gated": "manual" if repo in self.gated else False,
                    "disabled": False,
                    "lastModified": "2026-11-01T00:00:00.000Z",
                    "tags": [],
                    "siblings": siblings,
                }
                return self._json(h, 200, info)
            return self._not_found(h)
        # /{org}/{name}/resolve/{rev}/{path}
        segs = path.lstrip("/").split("/")
        if len(segs) >= 5 and segs[2] == "resolve":
            repo = "/".join(segs[:2])
            filename = "/".join(segs[4:])
            if repo not in self.repos:
                return self._not_found(h)
            if repo in self.gated:
                msg = f"Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in."
                return self._json(h, 401, {"error": msg}, {"X-Error-Code": "GatedRepo", "X-Error-Message": msg})
            data = self.repos[repo].get(filename)
            if data is None:
                return self._json(
                    h,
                    404,
                    {"error": "Entry not found"},
                    {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"},
                )
            start = 0
            rng = h.headers.get("Range", "")
            if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
                start = int(rng[6:].split("-")[0])
            chunk = data[start:]
            h.send_response(206 if start else 200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(len(chunk)))
            h.send_header("Accept-Ranges", "bytes")
            h.send_header("ETag", f'"{self._etag(data)}"')
            h.send_header("X-Repo-Commit", self.commit)
            if start:
                h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            h.end_headers()
            if body:
                self._send_body(h, chunk)
            return None
        return self._json(h, 404, {"error": "Not Found"})

    def _send_body(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        step = 4096
        sent = 0
        try:
            for i in range(0, len(data), step):
                piece = data[i : i + step]
                if self.drop_after is not None and sent + len(piece) > self.drop_after:
                    h.wfile.write(piece[: max(0, self.drop_after - sent)])
                    h.wfile.flush()
                    h.close_connection = True
                    with contextlib.suppress(OSError):
                        h.connection.shutdown(2)
                    return
                h.wfile.write(piece)
                h.wfile.flush()
                sent += len(piece)
                if self.hold is not None and sent == len(piece):
                    self.hold.wait(30)
                if self.pace:
                    time.sleep(len(piece) / self.pace)
        except OSError:
            h.close_connection = True
