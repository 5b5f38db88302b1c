"""Who holds a port: a start is refused naming it, and ``engine status`` says so."""

from __future__ import annotations

import contextlib
import socket


def port_holder(host: str, port: int) -> str | None:
    """Who listens on host:port ("pid 123 (python)"), or None when the port is free."""
    bind_host = "127.0.0.1" if host in ("localhost",) else host
    with socket.socket(socket.AF_INET6 if ":" in bind_host else socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((bind_host, port))
            return None
        except OSError:
            pass
    try:
        import psutil

        for conn in psutil.net_connections(kind="inet"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid:
                    with contextlib.suppress(Exception):
                        return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                    return f"pid {conn.pid}"
    except Exception:  # noqa: BLE001 - no permission to list sockets
        pass
    return "another process"
