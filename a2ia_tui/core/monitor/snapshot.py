"""One aggregate snapshot for ``a2ia-tui monitor``: GPUs, backends' health, managed engines and
server metrics, as JSON-able data.

Policy:

- :class:`MonitorCollector` keeps one :class:`~.gpu.GPUSampler` (``nvmlInit`` once, not per line)
  and one :class:`~.metrics.MetricsPoller` per backend (so the second line on carries vLLM rates
  computed from two scrapes). ``await collector.collect()`` never raises for an unreachable
  server or a missing GPU: those are states in the snapshot. ``await collector.aclose()`` at exit.
- Engines come from ``core.engines.status.read_engine_status`` (blocking, so in a thread); their
  pids label the GPU processes of their process trees ("vLLM (managed)").
- :func:`collect` is the one-shot form (``--once``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ..config import LoadedSettings
from .gpu import GPUSampler, gpu_status_dict
from .metrics import MetricsPoller

HEALTH_TIMEOUT_S = 5.0


class MonitorCollector:
    def __init__(self, loaded: LoadedSettings) -> None:
        self.loaded = loaded
        self._managed: dict[int, str] = {}
        self.sampler = GPUSampler(loaded.settings.monitor, managed=lambda: self._managed)
        self._pollers: dict[str, MetricsPoller] = {}

    async def _engines(self) -> dict[str, Any]:
        try:
            from ..engines.kinds import engine_kinds
            from ..engines.status import read_engine_status
        except ImportError:
            return {"note": "engine management is not available in this build"}
        try:
            engines = await asyncio.to_thread(read_engine_status, self.loaded.settings, self.loaded.paths)
        except Exception as exc:  # noqa: BLE001 - a monitor line never dies on one part
            return {"error": str(exc)}
        kinds = engine_kinds()
        self._managed = {
            int(e["pid"]): f"{kinds[name].label if name in kinds else name} (managed)"
            for name, e in engines.items()
            if isinstance(e, dict) and e.get("managed") and isinstance(e.get("pid"), int)
        }
        return engines

    async def _backend(self, name: str) -> dict[str, Any]:
        from ..llm.registry import backend_url, make_client

        settings = self.loaded.settings
        kind = settings.backends[name].kind
        paths = self.loaded.paths  # the backend named after a managed engine: where it runs
        out: dict[str, Any] = {"kind": kind, "url": backend_url(settings, name, paths=paths)}
        try:
            client = make_client(settings, name, paths=paths)
        except Exception as exc:  # noqa: BLE001 - e.g. a misconfigured backend
            return out | {"ok": False, "detail": str(exc)}
        try:
            health = await asyncio.wait_for(client.health(), HEALTH_TIMEOUT_S)
        except TimeoutError:
            health = None
        except Exception as exc:  # noqa: BLE001
            return out | {"ok": False, "detail": str(exc)}
        finally:
            await client.aclose()
        out["ok"] = bool(health and health.ok)
        out["detail"] = health.detail if health else f"no answer within {HEALTH_TIMEOUT_S:.0f} s"
        if out["ok"] and kind in ("vllm", "ollama"):
            poller = self._pollers.get(name)
            if poller is None:
                poller = self._pollers[name] = MetricsPoller(kind, out["url"])
            m, r, ps = await poller.poll()
            if m is not None:
                out["metrics"] = dataclasses.asdict(m)
            if r is not None:
                out["rates"] = dataclasses.asdict(r)
            if ps is not None:
                out["loaded_models"] = [dataclasses.asdict(x) | {"on_gpu_fraction": x.on_gpu_fraction} for x in ps]
        return out

    async def collect(self) -> dict[str, Any]:
        names = list(self.loaded.settings.backends)
        engines, *backends = await asyncio.gather(self._engines(), *(self._backend(n) for n in names))
        try:
            gpus = gpu_status_dict(await self.sampler.sample_async())
        except Exception as exc:  # noqa: BLE001
            gpus = {"available": False, "reason": f"GPU monitoring failed: {exc}", "devices": []}
        return {"gpus": gpus, "backends": dict(zip(names, backends, strict=True)), "engines": engines}

    async def aclose(self) -> None:
        self.sampler.close()
        for p in self._pollers.values():
            await p.aclose()


async def collect(loaded: LoadedSettings) -> dict[str, Any]:
    """One snapshot (``monitor --once``)."""
    collector = MonitorCollector(loaded)
    try:
        return await collector.collect()
    finally:
        await collector.aclose()


def one_line(snap: dict[str, Any]) -> str:
    """The human line of ``monitor`` without ``--json``."""
    gib = 1024**3
    parts = []
    g = snap["gpus"]
    if not g.get("available"):
        parts.append(g.get("reason", "no GPU"))
    for d in g.get("devices", []):
        if d.get("failed"):
            parts.append(f"GPU{d['index']} FAILED ({d.get('reason', '')})")
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
            extra = (
                f" kv {m['kv_cache_usage'] * 100:.0f}% run {m.get('running') or 0:.0f} wait {m.get('waiting') or 0:.0f}"
            )
        r = b.get("rates")
        if r and r.get("generation_tokens_per_s") is not None:
            extra += f" gen {r['generation_tokens_per_s']:.1f} tok/s"
        parts.append(f"{name}:{'up' if b['ok'] else 'down'}{extra}")
    for name, e in (snap.get("engines") or {}).items():
        if isinstance(e, dict) and (e.get("managed") or e.get("status") not in (None, "stopped")):
            pid = f" pid {e['pid']}" if e.get("pid") else ""
            parts.append(f"engine {name}: {e.get('status', '?')}{pid}")
    return " | ".join(parts)
