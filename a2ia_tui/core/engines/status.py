"""``read_engine_status``: the managed engines as JSON-able data, for the ``engine_status`` tool,
``a2ia-tui monitor`` and ``a2ia-tui engine status``. Works from any process: it reads the pid
files and probes the URLs. An engine that runs (its pid file names a live server) is reported at
the URL and model it runs with, whatever the settings say. Never raises."""

from __future__ import annotations

from typing import Any

from ..config import Paths, Settings


def read_engine_status(settings: Settings, paths: Paths) -> dict[str, Any]:
    import httpx

    from .kinds import engine_kinds
    from .pidfile import read_pidfile
    from .ports import port_holder

    out: dict[str, Any] = {}
    try:
        for name, kind in engine_kinds().items():
            spec = kind.make_spec(settings)
            record = read_pidfile(paths.run_dir / f"{name}.json")
            attached = kind.attached(settings)
            url = attached or spec.url
            entry: dict[str, Any] = {"url": url, "model": spec.model, "managed": record is not None}
            if record:
                entry.update(
                    pid=record.get("pid"),
                    started_at=record.get("started_at"),
                    log=record.get("log"),
                    url=record.get("url") or url,
                    model=record.get("model") or spec.model,
                )
            try:
                with httpx.Client(timeout=1.5, trust_env=False) as http:
                    resp = http.get(str(entry["url"]).rstrip("/") + "/models")
                entry["status"] = "ready" if resp.status_code == 200 else f"answering HTTP {resp.status_code}"
                if resp.status_code == 200:
                    entry["models"] = [m.get("id") for m in resp.json().get("data", [])]
            except Exception:  # noqa: BLE001 - down or starting: a state, not an error
                entry["status"] = "starting" if record else "stopped"
                if not record and not attached:
                    holder = port_holder(spec.host, spec.port)
                    if holder:
                        entry["port_in_use_by"] = holder
            out[name] = entry
    except Exception as exc:  # noqa: BLE001
        out["error"] = str(exc)
    return out
