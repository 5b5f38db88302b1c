"""``a2ia-tui serve``: the app in a browser, through textual-serve, behind a token.

textual-serve runs one app process per browser websocket and relays its screen. Any web page the
user visits can open a websocket to ``localhost``, so binding loopback alone protects nothing.
:class:`Guard`, an aiohttp middleware put in front of textual-serve's own application, decides
every request (see docs/security.md):

- the Host header must be one this server answers to (a rebound DNS name is refused);
- the token printed with the URL must come with the request, in the query (``?token=``, which
  sets a cookie and redirects to the page without it) or in that cookie (``HttpOnly``,
  ``SameSite=Strict``: a page of another site cannot make the browser send it);
- a websocket's ``Origin`` must be this server's own;
- at most ``max_sessions`` websockets (one app process each) are open at a time.

textual-serve builds its application in ``Server._make_app()``; that is the one private name used
here (to add the middleware to the application it returns; nothing of it is patched).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import secrets
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from aiohttp import web

TOKEN_PARAM = "token"
#: How long a closing server waits for open sessions before their apps are ended.
SHUTDOWN_GRACE_S = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_loopback_netloc(netloc: str) -> bool:
    host = urlsplit(f"//{netloc}").hostname or ""
    return is_loopback(host)


def _netloc(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}".lower()


def public_url_for(host: str, port: int) -> str:
    """The address printed and used for the page's websocket when ``--public-url`` is not given."""
    if host in ("", "0.0.0.0", "::"):  # every interface: the machine's name is what others reach
        import socket

        host = socket.gethostname()
    return f"http://{_netloc(host, port)}"


@dataclass
class Guard:
    """The token, Host, Origin and session-cap rules, as an aiohttp middleware."""

    token: str
    public_url: str
    #: Host headers answered (``host:port``, lower case); None = any (bound to every interface).
    allowed_hosts: set[str] | None
    max_sessions: int
    #: the port listened on: it names the cookie
    port: int = 0
    active: int = field(default=0, init=False)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    @property
    def cookie_name(self) -> str:
        # cookies are shared by every port of a host: one name per server, so two servers on
        # one machine do not overwrite each other's
        return f"a2ia_serve_{self.port}"

    def token_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token.encode())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").lower()
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return refuse(403, "this server does not answer to that host name")
        from_query = request.query.get(TOKEN_PARAM)
        if not (self.token_ok(from_query) or self.token_ok(request.cookies.get(self.cookie_name))):
            return refuse(403, "open the address printed by `a2ia-tui serve`, with its token")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, handler)
        if from_query is not None:
            return self._remember(request, host)
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response

    async def _websocket(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Origin", "").lower() != self.origin:
            return refuse(403, "websocket from another origin")
        if self.active >= self.max_sessions:
            return refuse(503, f"{self.max_sessions} sessions are open already (--max-sessions)")
        self.active += 1
        try:
            return await handler(request)
        finally:
            self.active -= 1

    def _remember(self, request: web.Request, host: str) -> web.StreamResponse:
        """The token came in the query: keep it in a cookie and show the page without it, at the
        public address (the page's websocket goes there, and the cookie must belong to it)."""
        rest = urlencode([(k, v) for k, v in request.query.items() if k != TOKEN_PARAM])
        public = urlsplit(self.public_url).netloc.lower()
        if host != public and _is_loopback_netloc(host) and _is_loopback_netloc(public):
            # localhost for 127.0.0.1: the cookie would belong to a name the websocket does not
            # use. (Behind a proxy the Host may be the proxy's upstream: no redirect there, the
            # browser's cookie belongs to the public name it came through.)
            target = f"{self.public_url}{request.path}?{request.query_string}"
            raise web.HTTPSeeOther(target)
        response = web.HTTPSeeOther(f"{request.path}?{rest}" if rest else request.path)
        response.set_cookie(
            self.cookie_name,
            self.token,
            httponly=True,
            samesite="Strict",
            secure=self.public_url.startswith("https:"),
            path="/",
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def refuse(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=f"a2ia serve: {reason}\n", headers={"Referrer-Policy": "no-referrer"})


def allowed_hosts(host: str, port: int, public_url: str) -> set[str] | None:
    """The Host headers answered: the bind address and the public name, and on a loopback bind
    the loopback names. None (any) on a bind to every interface: the machine's names are many,
    and the token still applies."""
    if host in ("", "0.0.0.0", "::"):
        return None
    names = {_netloc(host, port), urlsplit(public_url).netloc.lower()}
    if is_loopback(host):
        names |= {_netloc(n, port) for n in ("localhost", "127.0.0.1", "::1")}
    return names


def app_command(app_args: Sequence[str]) -> str:
    """The command textual-serve runs for each session (it takes a shell string: every word is
    quoted). ``python -I``: the app does not import from the current directory."""
    return shlex.join([sys.executable, "-I", "-m", "a2ia_tui", *app_args])


@dataclass
class ServeOptions:
    host: str
    port: int
    app_args: list[str]
    public_url: str | None = None
    max_sessions: int = 4
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


async def serve(opts: ServeOptions, *, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT/SIGTERM."""
    from textual_serve.server import Server

    server = Server(app_command(opts.app_args), host=opts.host, port=opts.port, title="a2ia-tui")
    app = await server._make_app()
    # textual-serve's own start-up banner prints a URL without the token: ours is printed instead
    app.on_startup.clear()
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    guard = Guard(opts.token, "", set(), opts.max_sessions)
    app.middlewares.append(guard.middleware)
    await runner.setup()
    site = web.TCPSite(runner, opts.host, opts.port)
    await site.start()
    try:
        port = opts.port or _bound_port(runner)
        public = (opts.public_url or public_url_for(opts.host, port)).rstrip("/")
        server.public_url = public
        guard.public_url = public
        guard.allowed_hosts = allowed_hosts(opts.host, port, public)
        guard.port = port
        announce(f"a2ia serve: open {public}/?{TOKEN_PARAM}={opts.token}")
        announce(
            f"a2ia serve: listening on {_netloc(opts.host, port)}, at most {opts.max_sessions} sessions; Ctrl+C to stop"
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        _end_children()


def _bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


def _end_children() -> None:
    """Apps still running once the sessions are closed are ended, not left behind."""
    import psutil

    children = psutil.Process(os.getpid()).children(recursive=True)
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _gone, alive = psutil.wait_procs(children, timeout=SHUTDOWN_GRACE_S)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass
