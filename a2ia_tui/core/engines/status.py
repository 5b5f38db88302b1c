"""``read_engine_status``: the managed engines as JSON-able data, for the ``engine_status`` tool,
``a2ia-tui monitor`` and ``a2ia-tui engine status``. Works from any process: it reads the pid
files and probes the URLs. Never raises."""

from __future__ import annotations

from typing import Any

from ..config import Paths, Settings


def read_engine_status(settings: Settings, paths: Paths) -> dict[str, Any]:
    import httpx

    from .pidfile import read_pidfile
    from .ports import port_holder

    out: dict[str, Any] = {}
    try:
        from .llamacpp import LlamaCppSpec
        from .vllm import VLLMSpec

        specs = {"vllm": VLLMSpec(settings), "local": LlamaCppSpec(settings)}
        for name, spec in specs.items():
            record = read_pidfile(paths.run_dir / f"{name}.json")
            url = settings.engines.vllm.attach_url if name == "vllm" and settings.engines.vllm.attach_url else spec.url
            entry: dict[str, Any] = {
                "url": url,
                "model": spec.model,
                "managed": record is not None,
            }
            if record:
                entry.update(
                    pid=record.get("pid"),
                    started_at=record.get("started_at"),
                    log=record.get("log"),
                    model=record.get("model", spec.model),
                )
            try:
                with httpx.Client(timeout=1.5, trust_env=False) as http:
                    resp = http.get(url.rstrip("/") + "/models")
                entry["status"] = "ready" if resp.status_code == 200 else f"answering HTTP {resp.status_code}"
                if resp.status_code == 200:
                    entry["models"] = [m.get("id") for m in resp.json().get("data", [])]
            except Exception:  # noqa: BLE001
                entry["status"] = "starting" if record else "stopped"
                if (not record and name != "vllm") or (name == "vllm" and not settings.engines.vllm.attach_url):
                    holder = port_holder(spec.host, spec.port)
                    if holder:
                        entry["port_in_use_by"] = holder
            out[name] = entry
    except Exception as exc:  # noqa: BLE001
        out["error"] = str(exc)
    return out
