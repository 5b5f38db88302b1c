"""The token, Host, Origin and session-cap rules of ``a2ia-tui serve``, against a real running
server over HTTP and websockets (aiohttp's client), and the environment of the apps it starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import psutil
import pytest
from multidict import CIMultiDictProxy

from tests.helpers.serving import LEAKY_ENV, Served, served, stop

pytest.importorskip("textual_serve")
pytestmark = pytest.mark.timeout(120)


async def get(url: str, **headers: str) -> tuple[int, str, CIMultiDictProxy[str]]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers, allow_redirects=False) as r:
        return r.status, await r.text(), r.headers


async def ws_status(s: Served, **headers: str) -> int:
    """The status a websocket handshake gets (101 when it opens)."""
    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(f"{s.base}/ws?width=80&height=24", headers=headers):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def first_screen_bytes(ws: aiohttp.ClientWebSocketResponse) -> int:
    got = 0
    while got < 1000:  # the app's first frame
        msg = await ws.receive(timeout=60)
        assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg
        if msg.type == aiohttp.WSMsgType.BINARY:
            got += len(msg.data)
    return got


async def test_http_needs_the_token_and_a_known_host(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        status, body, _ = await get(f"{s.base}/")
        assert status == 403 and "token" in body
        assert (await get(f"{s.base}/?token=not-{s.token}"))[0] == 403
        assert (await get(f"{s.base}/static/js/textual.js"))[0] == 403
        assert (await get(f"{s.base}/download/x"))[0] == 403
        # a rebound DNS name reaching the loopback port is refused, token or not
        assert (await get(s.url, Host=f"attacker.example:{s.port}"))[0] == 403

        status, _, headers = await get(s.url)
        assert status == 303 and headers["Location"] == "/"  # the token leaves the address bar
        cookie = headers["Set-Cookie"]
        assert s.cookie in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie

        status, page, headers = await get(f"{s.base}/", Cookie=s.cookie)
        assert status == 200 and f'data-session-websocket-url="ws://127.0.0.1:{s.port}/ws"' in page
        assert headers["X-Frame-Options"] == "DENY"
        assert (await get(f"{s.base}/static/js/textual.js", Cookie=s.cookie))[0] == 200
        # another loopback name is sent to the public address (where the websocket goes)
        status, _, headers = await get(f"http://localhost:{s.port}/?token={s.token}")
        assert status == 303 and headers["Location"] == f"{s.url.split('/?')[0]}/?token={s.token}"


async def test_websocket_needs_the_token_and_our_origin(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        origin = s.base
        assert await ws_status(s, Origin=origin) == 403  # no token
        assert await ws_status(s, Cookie=s.cookie) == 403  # no Origin
        assert await ws_status(s, Cookie=s.cookie, Origin="http://attacker.example") == 403
        assert await ws_status(s, Cookie=s.cookie, Origin=f"http://localhost:{s.port}") == 403
        assert not s.apps()  # none of those started an app
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{s.base}/ws?width=80&height=24", headers={"Cookie": s.cookie, "Origin": origin}) as ws,
        ):
            assert await first_screen_bytes(ws) >= 1000
            [app] = s.apps()
            env = app.environ()
            for name in LEAKY_ENV:
                assert name not in env, name
            assert env["A2IA_HOME"] == str(tmp_path / "home") and env["A2IA_FAKE_GPU"] == "one_gpu"
            assert "-I" in app.cmdline()
        # the token in the query works for a websocket too (clients other than the page)
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{s.base}/ws?token={s.token}", headers={"Origin": origin}) as ws,
        ):
            assert await first_screen_bytes(ws) > 0


async def test_sessions_are_capped(tmp_path: Path) -> None:
    with served(tmp_path, "--max-sessions", "1") as s:
        headers = {"Cookie": s.cookie, "Origin": s.base}
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{s.base}/ws", headers=headers) as ws:
                await first_screen_bytes(ws)
                assert await ws_status(s, **headers) == 503
                app = s.apps()[0]
            psutil.wait_procs([app], timeout=30)  # a closed session ends its app
            assert not app.is_running()
            for _ in range(100):  # the slot is free once the server has seen the close
                if (status := await ws_status(s, **headers)) == 101:
                    break
                await asyncio.sleep(0.1)
            assert status == 101


def test_serve_without_a_free_port_says_so(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "a2ia_tui", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert r.returncode == 1
    assert r.stderr.startswith(f"a2ia-tui serve: cannot listen on 127.0.0.1:{port}") and "Traceback" not in r.stderr


def test_the_served_app_environment_is_an_allow_list() -> None:
    from a2ia_tui.core.childenv import served_app_env

    env = served_app_env(
        {
            "PATH": "/usr/bin",
            "HOME": "/home/u",
            "LC_ALL": "C.UTF-8",
            "XDG_DATA_HOME": "/d",
            "CUDA_VISIBLE_DEVICES": "0",
            "HF_HOME": "/hf",
            "HF_TOKEN": "hf_secret",
            "VLLM_API_KEY": "k",
            "A2IA_HOME": "/a",
            "A2IA_BACKENDS__X__API_KEY": "the app's own key",
            "SSH_AUTH_SOCK": "/tmp/s",
            "AWS_SECRET_ACCESS_KEY": "x",
            "DISPLAY": ":0",
            "PYTHONPATH": "/planted",
        }
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LC_ALL": "C.UTF-8",
        "XDG_DATA_HOME": "/d",
        "CUDA_VISIBLE_DEVICES": "0",
        "HF_HOME": "/hf",
        "A2IA_HOME": "/a",
        "A2IA_BACKENDS__X__API_KEY": "the app's own key",
    }


async def test_stopping_the_server_ends_the_open_sessions_apps(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        headers = {"Cookie": s.cookie, "Origin": s.base}
        async with aiohttp.ClientSession() as http, http.ws_connect(f"{s.base}/ws", headers=headers) as ws:
            await first_screen_bytes(ws)
            [app] = s.apps()
            await asyncio.to_thread(stop, s.proc)  # SIGTERM; asserts that nothing is left running
            assert not app.is_running()


def test_host_rules_and_the_app_command() -> None:
    import shlex
    import sys

    from a2ia_tui.commands.serve import app_args
    from a2ia_tui.entry import parse_args
    from a2ia_tui.webserve import allowed_hosts, app_command

    assert allowed_hosts("127.0.0.1", 8000, "http://127.0.0.1:8000") == {
        "127.0.0.1:8000",
        "localhost:8000",
        "[::1]:8000",
    }
    assert allowed_hosts("10.0.0.5", 8000, "https://gpu.example.org") == {"10.0.0.5:8000", "gpu.example.org"}
    assert allowed_hosts("0.0.0.0", 8000, "http://box:8000") is None  # any name; the token still applies
    args = parse_args(
        [
            "--model",
            "m; rm -rf ~",
            "--config",
            "rel.toml",
            "--no-tools",
            "--temperature",
            "0.2",
            "--system",
            "Be $(x)",
            "serve",
        ]
    )
    argv = app_args(args)
    assert argv[:2] == ["--model", "m; rm -rf ~"] and argv[argv.index("--config") + 1].endswith("/rel.toml")
    assert "--no-tools" in argv
    assert argv[argv.index("--temperature") + 1] == "0.2" and argv[argv.index("--system") + 1] == "Be $(x)"
    assert parse_args(argv).temperature == 0.2  # the app reads them back as given
    # the shell textual-serve runs it through sees each word quoted
    assert shlex.split(app_command(argv)) == [sys.executable, "-I", "-m", "a2ia_tui", *argv]


async def test_behind_a_proxy_the_public_address_rules(tmp_path: Path) -> None:
    """--public-url: the page's websocket and the Origin it must carry are the public address's;
    a proxy that sends its upstream Host (127.0.0.1) gets no redirect loop."""
    with served(tmp_path, "--public-url", "https://gpu.example.org") as s:
        assert s.url.startswith("https://gpu.example.org/?token=")
        local = f"http://127.0.0.1:{s.port}"
        status, _, headers = await get(f"{local}/?token={s.token}")
        assert status == 303 and headers["Location"] == "/"
        assert "Secure" in headers["Set-Cookie"]
        status, page, _ = await get(f"{local}/", Host="gpu.example.org", Cookie=s.cookie)
        assert status == 200 and 'data-session-websocket-url="wss://gpu.example.org/ws"' in page
        async with aiohttp.ClientSession() as http:
            for origin, expect in ((local, 403), ("https://gpu.example.org", 101)):
                try:
                    async with http.ws_connect(
                        f"{local}/ws", headers={"Cookie": s.cookie, "Origin": origin, "Host": "gpu.example.org"}
                    ) as ws:
                        await first_screen_bytes(ws)
                        status = 101
                except aiohttp.WSServerHandshakeError as exc:
                    status = exc.status
                assert status == expect, origin
