"""One aggregate snapshot for ``a2ia-tui monitor``: GPUs, backends' health, managed engines and
server metrics, as JSON-able data."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ..config import LoadedSettings
from .gpu import read_gpu_status
from .metrics import MetricsPoller


async def _backend(loaded: LoadedSettings, name: str) -> dict[str, Any]:
    from ..llm.registry import backend_url, make_client

    settings = loaded.settings
    kind = settings.backends[name].kind
    client = make_client(settings, name)
    try:
        health = await asyncio.wait_for(client.health(), 5)
    except asyncio.TimeoutError:
        health = None
    finally:
        await client.aclose()
    out: dict[str, Any] = {
        "kind": kind,
        "url": backend_url(settings, name),
        "ok": bool(health and health.ok),
        "detail": health.detail if health else "no answer within 5 s",
    }
    if out["ok"] and kind in ("vllm", "ollama"):
        poller = MetricsPoller(kind, out["url"])
        try:
            m, _r, ps = await poller.poll()
        finally:
            await poller.aclose()
        if m is not None:
            out["metrics"] = dataclasses.asdict(m)
        if ps is not None:
            out["loaded_models"] = [dataclasses.asdict(x) | {"on_gpu_fraction": x.on_gpu_fraction} for x in ps]
    return out


async def collect(loaded: LoadedSettings) -> dict[str, Any]:
    settings = loaded.settings
    names = list(settings.backends)
    gpu_task = asyncio.to_thread(read_gpu_status, settings)
    results = await asyncio.gather(gpu_task, *(_backend(loaded, n) for n in names))
    snap: dict[str, Any] = {"gpus": results[0], "backends": dict(zip(names, results[1:]))}
    try:
        from ..engines.status import read_engine_status  # type: ignore[import-not-found]

        engines = read_engine_status(settings, loaded.paths)
        if asyncio.iscoroutine(engines):
            engines = await engines
        snap["engines"] = engines
    except ImportError:
        snap["engines"] = {"note": "engine management is not available in this build"}
    return snap


def one_line(snap: dict[str, Any]) -> str:
    gib = 1024**3
    parts = []
    g = snap["gpus"]
    if not g.get("available"):
        parts.append(g.get("reason", "no GPU"))
    for d in g.get("devices", []):
        if d.get("failed"):
            parts.append(f"GPU{d['index']} FAILED")
            continue
        used, total = d.get("memory_used"), d.get("memory_total")
        vram = f"{used / gib:.1f}/{total / gib:.1f}GiB" if used is not None and total else "?"
        util = f"{d['util_gpu']}%" if d.get("util_gpu") is not None else "?"
        temp = f"{d['temperature_c']}C" if d.get("temperature_c") is not None else "?"
        parts.append(f"GPU{d['index']} {vram} {util} {temp}")
    for name, b in snap["backends"].items():
        extra = ""
        m = b.get("metrics")
        if m and m.get("kv_cache_usage") is not None:
            extra = f" kv {m['kv_cache_usage'] * 100:.0f}% run {m.get('running') or 0:.0f} wait {m.get('waiting') or 0:.0f}"
        parts.append(f"{name}:{'up' if b['ok'] else 'down'}{extra}")
    return " | ".join(parts)
