"""The Hugging Face hub cache: which models are there and how big, deleting one, pulling one.

One module for every part of the app that touches the hub cache: ``a2ia-tui engine pull``, the
vLLM engine's "downloading" phase, and the models screen's vLLM section.

- ``huggingface_hub`` is imported only inside the functions that need it (it costs ~0.2 s).
- The cache folder is read from the environment at each call, the way ``huggingface_hub`` reads
  it (``HF_HUB_CACHE`` > ``HF_HOME``/hub > ``XDG_CACHE_HOME``/huggingface/hub >
  ``~/.cache/huggingface/hub``), and always passed explicitly: the library reads its own
  constants once, at import.
- :func:`pull` downloads in a child process (``python -I -m a2ia_tui.core.models.hfcache``), so a
  pull can be stopped at any moment (the child is killed; the library resumes the partial blob
  next time) and nothing it prints reaches the app's screen. Progress is the cache growing: the
  bytes under the model's ``blobs/`` folder (partial ``.incomplete`` files included) against the
  sizes the hub lists, so it reads the same whoever downloads (vLLM itself too).
- Every failure is one line (:class:`~..errors.ModelError` with a ``kind``): gated (401/403),
  missing (404), disk full (checked before the download and on ``ENOSPC``), hub unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError

#: ``org/name`` as the hub spells repository ids (letters, digits, ``-``, ``_``, ``.``).
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}$")
#: How often the cache is measured while a pull runs.
POLL_S = 0.25
#: Room left on the disk beyond the model's size before a pull is refused as "disk full".
DISK_MARGIN = 64 * 1024 * 1024

LOGIN_HINT = "accept the model's licence on its hub page, then `hf auth login` (or set HF_TOKEN)"


def hub_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The hub cache folder, resolved as ``huggingface_hub`` resolves it."""
    env = os.environ if environ is None else environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def hub_offline(environ: Mapping[str, str] | None = None) -> bool:
    """``HF_HUB_OFFLINE`` is set to a true value: nothing is downloaded."""
    env = os.environ if environ is None else environ
    return env.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def looks_like_hub_id(model: str) -> bool:
    """``org/name`` and not a folder on this machine (vLLM reads a local path first)."""
    if not _HUB_ID.match(model) or ".." in model:
        return False
    return not Path(model).expanduser().exists()


def repo_folder(repo_id: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or hub_cache_dir()) / ("models--" + repo_id.replace("/", "--"))


def blob_bytes(repo_id: str, cache_dir: Path | None = None) -> int:
    """Bytes under the model's ``blobs/`` folder, partial downloads included."""
    return blob_bytes_in(repo_folder(repo_id, cache_dir))


def blob_bytes_in(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        with os.scandir(folder / "blobs") as it:
            for entry in it:
                with contextlib.suppress(OSError):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def human_size(n: float) -> str:
    """``1.2 GB`` (decimal units, as the hub and Ollama show sizes)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


@dataclass(frozen=True)
class CachedModel:
    """One model repository in the hub cache."""

    repo_id: str
    size: int
    files: int
    #: commit hashes of the snapshots present
    revisions: tuple[str, ...]
    #: branch or tag names pointing at them (``main``)
    refs: tuple[str, ...]
    last_modified: float
    path: Path
    #: a download was interrupted (``.incomplete`` blobs left)
    partial: bool = False


def list_cached(cache_dir: Path | None = None) -> list[CachedModel]:
    """The model repositories in the cache, largest first. A missing cache is an empty list;
    folders the library cannot read are skipped."""
    cache = cache_dir or hub_cache_dir()
    if not cache.is_dir():
        return []
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache)
    except Exception as exc:
        raise ModelError(f"cannot read the hub cache at {cache}: {_first_line(exc)}") from exc
    out = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        refs = sorted({ref for rev in repo.revisions for ref in rev.refs})
        partial = any((repo.repo_path / "blobs").glob("*.incomplete"))
        out.append(
            CachedModel(
                repo_id=repo.repo_id,
                size=repo.size_on_disk,
                files=repo.nb_files,
                revisions=tuple(sorted(rev.commit_hash for rev in repo.revisions)),
                refs=tuple(refs),
                last_modified=repo.last_modified,
                path=repo.repo_path,
                partial=partial,
            )
        )
    # a download stopped before its first file finished has no snapshot: the library skips the
    # folder (a warning), but it holds bytes the user may want to delete
    seen = {m.path for m in out}
    for folder in cache.glob("models--*--*"):
        if folder in seen or (folder / "snapshots").is_dir() or not blob_bytes_in(folder):
            continue
        if folder.is_dir():
            org_name = folder.name[len("models--") :].split("--", 1)
            out.append(
                CachedModel(
                    repo_id="/".join(org_name),
                    size=_tree_bytes(folder),
                    files=0,
                    revisions=(),
                    refs=(),
                    last_modified=folder.stat().st_mtime,
                    path=folder,
                    partial=True,
                )
            )
    return sorted(out, key=lambda m: (-m.size, m.repo_id))


def delete_cached(repo_id: str, cache_dir: Path | None = None) -> int:
    """Delete every revision of a model from the cache (the library's own delete strategy, then
    what an interrupted download left). Returns the bytes freed."""
    cache = cache_dir or hub_cache_dir()
    folder = repo_folder(repo_id, cache)
    if not folder.is_dir():
        raise ModelError(f"{repo_id} is not in the hub cache ({cache})", kind="missing")
    before = _tree_bytes(folder)
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache)
        revisions = [
            rev.commit_hash
            for repo in info.repos
            if repo.repo_type == "model" and repo.repo_id == repo_id
            for rev in repo.revisions
        ]
        if revisions:
            info.delete_revisions(*revisions).execute()
        # a download that never finished has no revision to delete; the library leaves the folder
        shutil.rmtree(folder, ignore_errors=False) if folder.exists() else None
    except OSError as exc:
        raise ModelError(f"cannot delete {repo_id}: {_first_line(exc)}") from exc
    except Exception as exc:
        raise ModelError(f"cannot delete {repo_id}: {_first_line(exc)}") from exc
    return before


def _tree_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def is_complete(repo_id: str, revision: str | None = None, cache_dir: Path | None = None) -> bool:
    """The model's snapshot is in the cache with every file the hub listed (no network)."""
    folder = repo_folder(repo_id, cache_dir)
    if not (folder / "snapshots").is_dir():
        return False
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(repo_id, revision=revision, cache_dir=cache_dir or hub_cache_dir(), local_files_only=True)
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError / IncompleteSnapshotError / bad id: not there
        return False
    return True


@dataclass(frozen=True)
class PullProgress:
    """Where a pull stands: bytes in the cache against the model's size (None until known)."""

    done: int
    total: int | None
    files: int = 0

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    @property
    def text(self) -> str:
        if self.total:
            return f"{human_size(self.done)} / {human_size(self.total)} ({int(100 * (self.fraction or 0))}%)"
        return human_size(self.done)


async def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    cache_dir: Path | None = None,
    on_progress: Callable[[PullProgress], None] | None = None,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    poll_s: float = POLL_S,
) -> Path:
    """Download a model into the hub cache and return its snapshot folder.

    Runs in a child process with ``env`` (default: this process's environment; ``HF_TOKEN`` and
    ``HF_ENDPOINT`` are read there). Cancelling the task kills the child. Raises
    :class:`ModelError` with a one-line reason."""
    if not _HUB_ID.match(repo_id):
        raise ModelError(f"not a hub model id: {repo_id!r} (expected org/name)", kind="missing")
    child_env = dict(os.environ if env is None else env)
    cache = cache_dir or hub_cache_dir(child_env)
    if hub_offline(child_env):
        raise ModelError(f"{repo_id} is not in the hub cache and HF_HUB_OFFLINE is set", kind="network")
    argv = [python, "-I", "-m", "a2ia_tui.core.models.hfcache", repo_id, "--cache-dir", str(cache)]
    if revision:
        argv += ["--revision", revision]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env,
        start_new_session=True,
    )
    total: list[int | None] = [None]
    files = [0]
    result: dict[str, Any] = {}

    async def read_stdout() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict):
                if isinstance(msg.get("total"), int):
                    total[0] = msg["total"]
                    files[0] = int(msg.get("files") or 0)
                else:
                    result.update(msg)

    def report() -> None:
        if on_progress is not None:
            done = blob_bytes(repo_id, cache)
            on_progress(PullProgress(min(done, total[0]) if total[0] else done, total[0], files[0]))

    reader = asyncio.ensure_future(read_stdout())
    stderr = asyncio.ensure_future(proc.stderr.read() if proc.stderr else asyncio.sleep(0, b""))
    try:
        while True:
            report()
            try:
                await asyncio.wait_for(asyncio.shield(reader), poll_s)
                break
            except TimeoutError:
                continue
        code = await proc.wait()
        err_text = (await stderr).decode("utf-8", "replace")
        report()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        with contextlib.suppress(Exception):
            await proc.wait()
        reader.cancel()
        stderr.cancel()
        raise
    if "path" in result and code == 0:
        return Path(str(result["path"]))
    if "error" in result:
        raise ModelError(
            str(result["error"]), kind=str(result.get("kind") or "other"), hint=str(result.get("hint") or "")
        )
    last = next((ln for ln in reversed(err_text.splitlines()) if ln.strip()), "")
    raise ModelError(f"pulling {repo_id} failed (exit code {code})" + (f": {last.strip()[:200]}" if last else ""))


# -- the child ------------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def explain(exc: BaseException, repo_id: str, endpoint: str = "") -> ModelError:
    """One line for anything a download raised."""
    from huggingface_hub import errors as hf

    where = endpoint or "the hub"
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, hf.GatedRepoError):
        return ModelError(f"{repo_id} is gated: access not granted (401/403)", kind="gated", hint=LOGIN_HINT)
    if isinstance(exc, hf.RepositoryNotFoundError):
        status = exc.response.status_code if exc.response is not None else 404
        return ModelError(
            f"{repo_id} not found on {where} ({status})",
            kind="missing",
            hint="check the id; a private model needs `hf auth login` (or HF_TOKEN)",
        )
    if isinstance(exc, hf.RevisionNotFoundError):
        return ModelError(f"{repo_id} has no such revision on {where}", kind="missing")
    if isinstance(exc, hf.OfflineModeIsEnabled):
        return ModelError(f"{repo_id} is not in the hub cache and HF_HUB_OFFLINE is set", kind="network")
    if isinstance(exc, hf.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        if status in (401, 403):
            return ModelError(f"{repo_id}: the hub refused the token ({status})", kind="gated", hint=LOGIN_HINT)
        return ModelError(f"{repo_id}: the hub answered {status}: {_first_line(exc)}", kind="other")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return ModelError(f"disk full while downloading {repo_id}", kind="disk", hint="free space or set HF_HUB_CACHE")
    if isinstance(exc, hf.LocalEntryNotFoundError) or type(exc).__module__.startswith(("httpx", "httpcore")):
        return ModelError(f"cannot reach {where} to download {repo_id}: {_first_line(exc)}", kind="network")
    return ModelError(f"pulling {repo_id} failed: {_first_line(exc)}")


def _download(repo_id: str, revision: str | None, cache_dir: Path) -> Path:
    """Download in this process (the child): announce the size, check the disk, download."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
    sizes = [s.size or 0 for s in info.siblings or []]
    total = sum(sizes)
    print(json.dumps({"total": total, "files": len(sizes)}), flush=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    need = total - blob_bytes(repo_id, cache_dir)
    free = shutil.disk_usage(cache_dir).free
    if need + DISK_MARGIN > free:
        raise ModelError(
            f"disk full: {repo_id} needs {human_size(need)}, {human_size(free)} free in {cache_dir}",
            kind="disk",
            hint="free space or set HF_HUB_CACHE to a larger disk",
        )
    # the endpoint and the token come from this child's environment, read by the library itself
    return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir))


def _main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="a2ia-hf-pull", description="download a model into the hub cache (JSON lines)")
    p.add_argument("repo_id")
    p.add_argument("--revision")
    p.add_argument("--cache-dir", required=True, type=Path)
    args = p.parse_args(argv)
    endpoint = os.environ.get("HF_ENDPOINT", "")
    try:
        path = _download(args.repo_id, args.revision, args.cache_dir)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        err = explain(exc, args.repo_id, endpoint)
        print(json.dumps({"error": str(err), "kind": err.kind, "hint": err.hint}), flush=True)
        return 1
    print(json.dumps({"path": str(path)}), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as the child of pull()
    sys.exit(_main())
