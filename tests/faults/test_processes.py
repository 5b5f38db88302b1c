"""Processes and environments (issue 16 "Trust"): hostile workspaces, hostile commands, hostile
pid and state files. Everything here is real: the built-in server through the hub over stdio,
real children, real signals.

- Python children a2ia starts (built-in server, llama.cpp engine, vLLM as a Python, the llama.cpp
  preflight) never import a module planted in the cwd or on PYTHONPATH (``python -I``).
- A configured MCP server gets the SDK's safe environment plus its ``env`` entry only; the
  built-in server, what run_command runs, and engines get the user's environment without a2ia's
  secrets.
- run_command: nothing it starts outlives the call (setsid, double forks, daemons ignoring
  SIGTERM/SIGHUP), nor the server (SIGTERM, SIGHUP, stdin closed), nor a SIGKILLed server (its
  state file is read by the next one); output is capped while read (memory stays bounded).
- ``engine stop`` / adopt touch only a process whose pid, start time and command line match.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from a2ia_tui.core.config import MCPServerConfig, default_paths, load_settings
from a2ia_tui.core.engines.pidfile import cmdline_digest
from a2ia_tui.core.tools.hub import MCPHub

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "mcp_servers"

#: Modules and packages planted in the workspace (the cwd) and on PYTHONPATH: standard library,
#: start-up hooks, a2ia's dependencies and a2ia itself.
PLANTED = [
    "argparse",
    "json",
    "site",
    "sitecustomize",
    "usercustomize",
    "typing_extensions",
    "selectors",
    "subprocess",
    "shlex",
    "psutil",
    "encodings",
    "mcp",
    "anyio",
    "pydantic",
    "a2ia_tui",
    "llama_cpp",
    "vllm",
    "uvicorn",
]
PACKAGES = {"encodings", "mcp", "anyio", "pydantic", "a2ia_tui", "llama_cpp", "vllm"}


def plant(where: Path, markers: Path, tag: str) -> int:
    """Plant every module of PLANTED under ``where``; each one, if imported, writes a marker."""
    where.mkdir(parents=True, exist_ok=True)
    markers.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in PLANTED:
        # posix is built in: this works even as a planted `encodings`, before `open` exists.
        marker = str(markers / f"{tag}-{name}")
        code = f"import posix\nposix.close(posix.open({marker!r}, posix.O_WRONLY | posix.O_CREAT, 0o644))\n"
        if name in PACKAGES:
            pkg = where / name
            pkg.mkdir(exist_ok=True)
            (pkg / "__init__.py").write_text(code)
            # the submodules our argvs name with -m
            for sub in ("server", "core", "entrypoints"):
                (pkg / f"{sub}.py").write_text(code)
            if name == "vllm":
                (pkg / "entrypoints").mkdir(exist_ok=True)
                (pkg / "entrypoints" / "__init__.py").write_text(code)
                (pkg / "entrypoints" / "openai").mkdir(exist_ok=True)
                (pkg / "entrypoints" / "openai" / "__init__.py").write_text(code)
                (pkg / "entrypoints" / "openai" / "api_server.py").write_text(code)
                (pkg / "entrypoints.py").unlink()
        else:
            (where / f"{name}.py").write_text(code)
        count += 1
    return count


@pytest.fixture(params=["cwd", "pythonpath"])
def hostile(request, tmp_path, monkeypatch):
    """Planted modules in the workspace, used as the cwd; or in a directory on PYTHONPATH (with
    the workspace again, and the empty entry that means the cwd). Yields the marker directory."""
    ws = tmp_path / "ws"
    ws.mkdir()
    markers = tmp_path / "markers"
    monkeypatch.chdir(ws)
    if request.param == "cwd":
        plant(ws, markers, "cwd")
    else:
        plant(tmp_path / "pp", markers, "pythonpath")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "pp"), str(ws), ""]))
    yield markers


def settings_for(tmp_path: Path, **env: str):
    base = {
        "A2IA_TOOLS__WORKSPACE": str(tmp_path / "ws"),
        "A2IA_TOOLS__STARTUP_TIMEOUT_S": "30",
        "A2IA_TOOLS__RESTART_ATTEMPTS": "3",
        "A2IA_TOOLS__CALL_TIMEOUT_S": "120",
    }
    (tmp_path / "ws").mkdir(exist_ok=True)
    return load_settings(env={**base, **env}).settings


def server_pids() -> list[int]:
    """Built-in servers started by this test's hub (children of this process), alive."""
    out = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "a2ia_tui.core.tools.server" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child.pid)
    return out


def server_pid() -> int:
    pids = server_pids()
    assert len(pids) == 1, pids
    return pids[0]


def gone(pid: int, create_time: float | None = None) -> bool:
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 0.05:
            return True  # that pid is another process now
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(predicate, limit: float = 20.0) -> bool:
    """Poll until ``predicate()`` (a safety limit, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def kill_quietly(pids) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# python -I: nothing planted is imported


async def test_builtin_server_imports_nothing_planted_at_start_and_restart(hostile, tmp_path):
    settings = settings_for(tmp_path)
    (tmp_path / "ws" / "hello.txt").write_text("hi")
    async with MCPHub({}, settings) as hub:
        assert hub.states()["a2ia"].status == "ready", hub.states()
        r = await hub.call("list_directory", {})
        assert not r.is_error and "hello.txt" in r.text
        # A restart (the server died) starts it again, from the same hostile cwd.
        first = server_pid()
        os.kill(first, signal.SIGKILL)
        assert await asyncio.to_thread(
            wait_until, lambda: hub.states()["a2ia"].status == "ready" and server_pids() not in ([], [first]), 30
        ), hub.states()
        r = await hub.call("read_file", {"path": "hello.txt"})
        assert not r.is_error and r.text == "hi"
    assert sorted(p.name for p in hostile.iterdir()) == []


def test_engine_argvs_import_nothing_planted(hostile, tmp_path):
    from a2ia_tui.core.engines.llamacpp import LlamaCppSpec
    from a2ia_tui.core.engines.vllm import build_argv

    gguf = tmp_path / "not-a-model.gguf"
    gguf.write_bytes(b"GGUF but not really")
    settings = load_settings(
        env={"A2IA_ENGINES__LOCAL__MODEL_PATH": str(gguf), "A2IA_ENGINES__LOCAL__PORT": "9"}
    ).settings
    llama = LlamaCppSpec(settings).argv()
    vllm, _ = build_argv(msgspec_replace(settings.engines.vllm, executable=sys.executable, port=9))
    for argv in (llama, vllm):
        # Really run it from the hostile cwd / with the hostile PYTHONPATH: the real module runs
        # (and fails on the bogus model / is missing), a planted one never.
        proc = subprocess.run(argv, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        assert proc.returncode != 0
    assert sorted(p.name for p in hostile.iterdir()) == []
    assert llama[:4] == [sys.executable, "-I", "-m", "llama_cpp.server"]
    assert vllm[:4] == [sys.executable, "-I", "-m", "vllm.entrypoints.openai.api_server"]


def test_llamacpp_preflight_probe_imports_nothing_planted(hostile, tmp_path):
    from a2ia_tui.core.engines.llamacpp import LlamaCppSpec
    from a2ia_tui.core.errors import EngineStartError

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"x")
    # Another path to this interpreter: the preflight then probes it in a child process.
    other = tmp_path / "bin" / "python3"
    other.parent.mkdir()
    other.symlink_to(sys.executable)
    settings = load_settings(
        env={"A2IA_ENGINES__LOCAL__MODEL_PATH": str(gguf), "A2IA_ENGINES__LOCAL__PYTHON": str(other)}
    ).settings
    with contextlib.suppress(EngineStartError):
        LlamaCppSpec(settings).preflight()
    assert sorted(p.name for p in hostile.iterdir()) == []


def msgspec_replace(struct, **changes):
    import msgspec

    return msgspec.structs.replace(struct, **changes)


# --------------------------------------------------------------------------------------------
# environments

USER_SECRET = "sk-user-0123456789abcdef"  # a backend's api_key, also in the user's env
HEADER_TOKEN = "tok-fedcba9876543210"  # an Authorization header's bearer token


def secret_env(monkeypatch) -> dict[str, str]:
    env = {
        "A2IA_BACKENDS__VLLM__API_KEY": USER_SECRET,
        "A2IA_BACKENDS__OLLAMA__HEADERS": json.dumps({"Authorization": f"Bearer {HEADER_TOKEN}", "X-Org": "acme"}),
        "A2IA_ENGINES__VLLM__API_KEY": "engine-key-5555aaaa",
        "A2IA_SOMETHING_TOKEN": "a2ia-only-token",
        "A2IA_MY_PASSWORD": "hunter2",
        "OPENAI_API_KEY": USER_SECRET,  # the same key under another name
        "GH_AUTH": f"Bearer {HEADER_TOKEN}",
        "ONLY_TOKEN": HEADER_TOKEN,
        "USER_VAR_KEPT": "kept-value",
        "HF_TOKEN": "hf-user-own-token",  # the user's own, not a2ia's: passed on
        "A2IA_AGENT__MAX_STEPS": "7",  # a setting, not a secret
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


DROPPED = [
    "A2IA_BACKENDS__VLLM__API_KEY",
    "A2IA_BACKENDS__OLLAMA__HEADERS",
    "A2IA_ENGINES__VLLM__API_KEY",
    "A2IA_SOMETHING_TOKEN",
    "A2IA_MY_PASSWORD",
    "OPENAI_API_KEY",
    "GH_AUTH",
    "ONLY_TOKEN",
]
KEPT = ["USER_VAR_KEPT", "HF_TOKEN", "A2IA_AGENT__MAX_STEPS", "A2IA_HOME", "PATH"]
#: Not settings keys: a2ia's own loader would refuse them (they stay in os.environ only).
NOT_SETTINGS = ("A2IA_SOMETHING_TOKEN", "A2IA_MY_PASSWORD")


def settings_env(env: dict[str, str], **more: str) -> dict[str, str]:
    return {**{k: v for k, v in env.items() if k.startswith("A2IA_") and k not in NOT_SETTINGS}, **more}


def assert_no_secret(env: dict[str, str]) -> None:
    for name in DROPPED:
        assert name not in env, name
    blob = json.dumps(env)
    for secret in (USER_SECRET, HEADER_TOKEN, "engine-key-5555aaaa", "a2ia-only-token", "hunter2"):
        assert secret not in blob, secret


async def test_configured_server_gets_the_safe_default_plus_its_env_only(tmp_path, monkeypatch):
    secret_env(monkeypatch)
    settings = settings_for(tmp_path)
    servers = {
        "withenv": MCPServerConfig(
            name="withenv",
            command=sys.executable,
            args=[str(FAKES / "env_server.py")],
            env={"ONLY_THIS": "1", "PATH": os.environ["PATH"]},
        ),
        "noenv": MCPServerConfig(name="noenv", command=sys.executable, args=[str(FAKES / "env_server.py")]),
    }
    async with MCPHub(servers, settings, builtin=False) as hub:
        results = {}
        for name in servers:
            assert hub.states()[name].status == "ready", hub.states()
            r = await hub.call(f"{name}__environment", {})
            assert not r.is_error, r.text
            results[name] = json.loads(r.text)
    # What CPython may add itself (locale coercion) is allowed; nothing else of the user's.
    allowed = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LC_CTYPE"}
    assert set(results["withenv"]) <= allowed | {"ONLY_THIS"}, results["withenv"]
    assert results["withenv"]["ONLY_THIS"] == "1"
    assert set(results["noenv"]) <= allowed, results["noenv"]
    for env in results.values():
        assert_no_secret(env)
        assert "USER_VAR_KEPT" not in env and "HF_TOKEN" not in env


async def test_builtin_server_and_run_command_get_the_users_env_without_a2ias_secrets(tmp_path, monkeypatch):
    env = secret_env(monkeypatch)
    settings = load_settings(env=settings_env(env, A2IA_TOOLS__WORKSPACE=str(tmp_path))).settings
    assert settings.backends["vllm"].api_key is not None
    async with MCPHub({}, settings) as hub:
        server_env = psutil.Process(server_pid()).environ()
        r = await hub.call(
            "run_command", {"command": [sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"]}
        )
    assert not r.is_error, r.text
    child_env = json.loads(r.text.split("--- stdout ---\n", 1)[1].split("\n--- stderr", 1)[0])
    for env in (server_env, child_env):
        assert_no_secret(env)
        for name in KEPT:
            assert name in env, name


async def test_engine_gets_the_users_env_without_a2ias_secrets_plus_its_key(tmp_path, monkeypatch):
    from a2ia_tui.core.engines.manager import EngineManager
    from tests.helpers.engines import write_wrapper
    from tests.helpers.processes import free_port

    env = secret_env(monkeypatch)
    loaded = load_settings(
        env=settings_env(
            env,
            A2IA_ENGINES__VLLM__EXECUTABLE=str(write_wrapper(tmp_path)),
            A2IA_ENGINES__VLLM__PORT=str(free_port()),
            A2IA_ENGINES__VLLM__MODEL="Qwen/Qwen2.5-0.5B-Instruct",
            A2IA_ENGINES__STOP_GRACE_S="2",
            A2IA_HOME=os.environ["A2IA_HOME"],
        )
    )
    mgr = EngineManager(loaded.settings, loaded.paths)
    try:
        state = await mgr.start("vllm")
        env = psutil.Process(state.pid).environ()
    finally:
        await mgr.stop("vllm")
    assert env.get("VLLM_API_KEY") == "engine-key-5555aaaa"
    env.pop("VLLM_API_KEY")
    assert_no_secret(env)
    assert env["USER_VAR_KEPT"] == "kept-value" and env["HF_TOKEN"] == "hf-user-own-token"


def test_secret_values_and_filtering_variants():
    from a2ia_tui.core.childenv import is_secret_name, secret_values, without_secrets

    settings = load_settings(
        env={
            "A2IA_BACKENDS__VLLM__API_KEY": "EMPTY",  # a short dummy key: only an exact value is dropped
            "A2IA_BACKENDS__X__KIND": "openai",
            "A2IA_BACKENDS__X__BASE_URL": "http://127.0.0.1:1/v1",
            "A2IA_BACKENDS__X__HEADERS": json.dumps(
                {
                    "X-Api-Key": "xkey-123456789",
                    "Proxy-Authorization": "Basic cHJveHk6cHc=",
                    "Cookie": "session=abcdefgh12345",
                    "Accept": "application/json",
                }
            ),
        }
    ).settings
    secrets = secret_values(settings)
    assert {"EMPTY", "xkey-123456789", "Basic cHJveHk6cHc=", "cHJveHk6cHc=", "session=abcdefgh12345"} <= secrets
    assert "application/json" not in secrets
    env = {
        "EXACT": "EMPTY",
        "CONTAINS_SHORT": "NOT-EMPTY-AT-ALL",
        "HDR": "xkey-123456789",
        "BASIC": "cHJveHk6cHc=",
        "COOKIE_JAR": "a=1; session=abcdefgh12345",
        "ACCEPT": "application/json",
        "a2ia_lower__api_key": "x",
        "A2IA_X__AUTHORIZATION": "x",
        "A2IA_CREDENTIALS": "x",
        "A2IA_X__COOKIE": "x",
        "A2IA_KEYMAP_FILE": "x",  # the word KEYMAP is not KEY
        "A2IA_AGENT__MAX_TOKENS": "512",  # nor TOKENS TOKEN
        "A2IA_TOOLS__RUN_COMMAND_TIMEOUT_S": "5",
    }
    kept = without_secrets(env, secrets)
    assert set(kept) == {
        "CONTAINS_SHORT",
        "ACCEPT",
        "A2IA_KEYMAP_FILE",
        "A2IA_AGENT__MAX_TOKENS",
        "A2IA_TOOLS__RUN_COMMAND_TIMEOUT_S",
    }
    assert not is_secret_name("OPENAI_API_KEY")  # the user's own variable: not a2ia's to drop by name


# --------------------------------------------------------------------------------------------
# run_command: nothing it starts outlives it

DAEMONS = r"""
import os, signal, sys, time
out, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            # a hardened daemon: ignores SIGTERM and SIGHUP, own session and group
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            if mode.endswith("-closed"):
                fd = os.open(os.devnull, os.O_RDWR)
                for k in (0, 1, 2):
                    os.dup2(fd, k)
            with open(f"{out}.{i}.tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(f"{out}.{i}.tmp", f"{out}.{i}")
            while True:
                time.sleep(1)
        os._exit(0)
    os.wait()  # the middle process is gone: the daemon is an orphan now
deadline = time.monotonic() + 30
while not all(os.path.exists(f"{out}.{i}") for i in range(n)) and time.monotonic() < deadline:
    time.sleep(0.01)
print("started", n, flush=True)
if mode.startswith("stay"):
    while True:
        time.sleep(1)
"""


def daemon_pids(base: Path, n: int) -> list[tuple[int, float | None]]:
    """The daemons' (pid, start time); None for one already gone (killed with its command)."""
    assert wait_until(lambda: all(Path(f"{base}.{i}").exists() for i in range(n)), 30)
    out: list[tuple[int, float | None]] = []
    for i in range(n):
        pid = int(Path(f"{base}.{i}").read_text())
        try:
            out.append((pid, psutil.Process(pid).create_time()))
        except psutil.NoSuchProcess:
            out.append((pid, None))
    return out


@pytest.mark.parametrize("mode, n", [("exit", 1), ("exit-closed", 3), ("stay", 2), ("stay-closed", 1), ("exit", 12)])
async def test_run_command_leaves_no_daemon_behind(tmp_path, mode, n):
    settings = settings_for(tmp_path)
    settings.tools.run_command_timeout_s = 3.0
    script = tmp_path / "ws" / "daemons.py"
    script.write_text(DAEMONS)
    base = tmp_path / "daemon"
    async with MCPHub({}, settings) as hub:
        r = await hub.call("run_command", {"command": [sys.executable, str(script), str(base), str(n), mode]})
        pids = daemon_pids(base, n)
        try:
            assert ("timed out" in r.text) == mode.startswith("stay"), r.text
            assert all(wait_until(lambda p=p: gone(*p), 10) for p in pids), [p for p in pids if not gone(*p)]
        finally:
            kill_quietly(p for p, _ in pids)


async def test_run_command_setsid_program_is_killed(tmp_path):
    settings = settings_for(tmp_path)
    settings.tools.run_command_timeout_s = 2.0
    pidfile = tmp_path / "sleep.pid"
    async with MCPHub({}, settings) as hub:
        # setsid(1) forks when it is a group leader (it is: run_command starts a new session),
        # so the command "ends" at once while the sleep lives on in a session of its own.
        # The outer shell waits for the daemon's pid file, so the clean-up cannot kill the daemon
        # before it has written it (under load it did, and the test never saw a pid).
        inner = f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}; exec sleep 300"
        outer = f"setsid sh -c '{inner}'; while [ ! -s {pidfile} ]; do sleep 0.01; done"
        r = await hub.call("run_command", {"command": ["sh", "-c", outer]})
        assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10)
        pid = int(pidfile.read_text())
        try:
            assert not r.is_error, r.text
            assert wait_until(lambda: gone(pid), 10)
        finally:
            kill_quietly([pid])


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "stdin closed"])
async def test_server_kills_what_run_command_started_when_it_quits(tmp_path, how):
    settings = settings_for(tmp_path)
    settings.tools.run_command_timeout_s = 120.0
    script = tmp_path / "ws" / "daemons.py"
    script.write_text(DAEMONS)
    base = tmp_path / "daemon"
    hub = MCPHub({}, settings)
    await hub.start()
    call = asyncio.create_task(
        hub.call("run_command", {"command": [sys.executable, str(script), str(base), "2", "stay"]})
    )
    pids: list[tuple[int, float]] = []
    try:
        pids = await asyncio.to_thread(daemon_pids, base, 2)
        assert not any(gone(*p) for p in pids)
        if how == "stdin closed":
            await hub.aclose()
        else:
            os.kill(server_pid(), getattr(signal, how))
        assert await asyncio.to_thread(lambda: all(wait_until(lambda p=p: gone(*p), 20) for p in pids))
    finally:
        call.cancel()
        with contextlib.suppress(BaseException):
            await call
        await hub.aclose()
        kill_quietly(p for p, _ in pids)


def state_dir() -> Path:
    return default_paths().run_dir / "commands"


async def test_stragglers_of_a_killed_server_are_killed_at_the_next_start(tmp_path):
    settings = settings_for(tmp_path)
    settings.tools.run_command_timeout_s = 120.0
    script = tmp_path / "ws" / "daemons.py"
    script.write_text(DAEMONS)
    base = tmp_path / "daemon"
    hub = MCPHub({}, settings)
    await hub.start()
    call = asyncio.create_task(
        hub.call("run_command", {"command": [sys.executable, str(script), str(base), "3", "stay"]})
    )
    pids: list[tuple[int, float]] = []
    try:
        pids = await asyncio.to_thread(daemon_pids, base, 3)

        def recorded() -> bool:
            listed = set()
            for f in state_dir().glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    listed |= {p for p, _ in json.loads(f.read_text())["procs"]}
            return {p for p, _ in pids} <= listed

        assert await asyncio.to_thread(wait_until, recorded, 20)
        files = list(state_dir().glob("*.json"))
        assert files and all(f.stat().st_mode & 0o777 == 0o600 for f in files)
        old = server_pid()
        os.kill(old, signal.SIGKILL)  # no chance to clean up: the daemons survive it...
        await asyncio.sleep(0.3)
        # ...until the hub restarts the server, which reads the dead server's state file.
        assert await asyncio.to_thread(lambda: all(wait_until(lambda p=p: gone(*p), 30) for p in pids)), [
            p for p in pids if not gone(*p)
        ]
        assert hub.states()["a2ia"].status in ("ready", "restarting", "starting")
    finally:
        call.cancel()
        with contextlib.suppress(BaseException):
            await call
        await hub.aclose()
        kill_quietly(p for p, _ in pids)


async def test_state_files_kill_only_exact_matches(tmp_path):
    """Hand-written state files: a reused pid (wrong start time), a live server's file, malformed
    files: nothing killed, the malformed ones removed. The exact match is killed."""
    sleepers = [subprocess.Popen(["sleep", "300"], start_new_session=True) for _ in range(3)]
    try:
        wrong_ct, live_server, exact = (psutil.Process(p.pid) for p in sleepers)
        dead = subprocess.Popen(["true"])
        dead.wait()
        d = state_dir()
        d.mkdir(parents=True, exist_ok=True)
        me = psutil.Process()
        (d / "1.json").write_text(
            json.dumps({"server": [dead.pid, 1.0], "procs": [[wrong_ct.pid, wrong_ct.create_time() - 1.5]]})
        )
        (d / "2.json").write_text(
            json.dumps({"server": [me.pid, me.create_time()], "procs": [[live_server.pid, live_server.create_time()]]})
        )
        (d / "3.json").write_text(json.dumps({"server": [dead.pid, 1.0], "procs": [[exact.pid, exact.create_time()]]}))
        malformed = [
            "not json",
            "{}",
            "[]",
            '{"server": 5, "procs": []}',
            '{"server": [1, 2], "procs": [["a", "b"]]}',
            '{"server": [1, 2], "procs": 7}',
            "\xff\xfe",
        ]
        for i, text in enumerate(malformed):
            (d / f"bad{i}.json").write_text(text, encoding="latin-1")
        async with MCPHub({}, load_settings(env={"A2IA_TOOLS__WORKSPACE": str(tmp_path)}).settings) as hub:
            assert hub.states()["a2ia"].status == "ready"
        assert wait_until(lambda: gone(exact.pid), 10)
        assert not gone(wrong_ct.pid) and not gone(live_server.pid)
        assert not any(d.glob("bad*.json")) and not (d / "1.json").exists()
        assert (d / "2.json").exists()  # a live server's file is its own
        assert len(malformed) + 3 == 10
    finally:
        for p in sleepers:
            p.kill()
            p.wait()


# --------------------------------------------------------------------------------------------
# run_command: output capped while read


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


FLOOD = r"""
import os, sys
os.write(1, b"HEAD-MARK\n")
os.write(2, "début\n".encode())
chunk = b"x" * 1048575 + b"\n"
echunk = ("é" * 4096 + "\n").encode()
for i in range(int(sys.argv[1])):
    os.write(1, chunk)
    if i % 16 == 0:
        os.write(2, echunk)
os.write(1, b"TAIL-MARK\n")
os.write(2, "fin-é\n".encode())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
async def test_run_command_output_is_capped_while_read(tmp_path):
    settings = settings_for(tmp_path)
    settings.tools.run_command_timeout_s = 120.0
    settings.tools.max_output_chars = 20_000
    script = tmp_path / "ws" / "flood.py"
    script.write_text(FLOOD)
    mib = 320
    async with MCPHub({}, settings) as hub:
        r = await hub.call("run_command", {"command": [sys.executable, str(script), str(mib)]})
        rss = peak_rss(server_pid())
        y = await hub.call("run_command", {"command": ["yes"], "timeout_s": 1})
    # 320 MiB went through the pipe; the server never held more than a small part of it.
    assert rss < 200 * 1048576, f"peak RSS {rss / 1048576:.0f} MiB"
    assert not r.is_error, r.text[:300]
    assert "exit code 0" in r.text
    out = r.text.split("--- stdout ---\n", 1)[1].split("\n--- stderr ---\n", 1)
    stdout, stderr = out[0], out[1]
    # The start and the end are kept, the middle counted; the whole flood went through the pipe.
    assert stdout.startswith("HEAD-MARK") and stdout.rstrip().endswith("TAIL-MARK")
    assert stderr.startswith("début") and stderr.rstrip().endswith("fin-é")
    assert len(stdout) <= 20_000 + 100 and len(stderr) <= 20_000 + 100
    assert f"of {mib * 1048576 + 20} bytes cut" in stdout
    assert "timed out" in y.text and "bytes cut" in y.text and len(y.text) <= 20_000 + 300


# --------------------------------------------------------------------------------------------
# pid files: only the process that was started


def record_for(proc: psutil.Process, **changes) -> dict:
    rec = {
        "engine": "vllm",
        "pid": proc.pid,
        "pgid": proc.pid,
        "argv": ["sleep", "300"],
        "cmdlines": [cmdline_digest(proc.cmdline())],
        "url": "http://127.0.0.1:9/v1",
        "model": "m",
        "log": "/nonexistent.log",
        "started_at": time.time(),
        "create_time": proc.create_time(),
    }
    rec.update(changes)
    return {k: v for k, v in rec.items() if v is not ...}


def pidfile_variants(proc: psutil.Process) -> list[tuple[str, str | bytes]]:
    """Pid files that name a live unrelated process without proving it is the engine."""
    j = json.dumps
    return [
        ("no start time", j(record_for(proc, create_time=...))),
        ("null start time", j(record_for(proc, create_time=None))),
        ("start time off by 1 s", j(record_for(proc, create_time=proc.create_time() + 1.0))),
        ("start time off by 1 day", j(record_for(proc, create_time=proc.create_time() - 86400))),
        ("start time as text", j(record_for(proc, create_time=str(proc.create_time())))),
        ("other command line", j(record_for(proc, argv=["vllm", "serve", "m"], cmdlines=[]))),
        (
            "other recorded cmdline",
            j(record_for(proc, argv=["vllm", "serve", "m"], cmdlines=[cmdline_digest(["python", "x"])])),
        ),
        ("no argv", j(record_for(proc, argv=...))),
        ("pid as text", j(record_for(proc, pid=str(proc.pid)))),
        ("pid true", j(record_for(proc, pid=True))),
        ("pid 1", j(record_for(proc, pid=1))),
        ("negative pid", j(record_for(proc, pid=-proc.pid))),
        ("cmdlines wrong type", j(record_for(proc, cmdlines="sleep 300"))),
        ("not JSON", "{pid: " + str(proc.pid)),
        ("a list", j([proc.pid, proc.create_time()])),
        ("empty", ""),
        ("binary", b"\xff\xfe\x00" + str(proc.pid).encode()),
    ]


async def test_engine_stop_never_kills_an_unrelated_process(tmp_path):
    from a2ia_tui.core.engines.manager import EngineManager

    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        proc = psutil.Process(sleeper.pid)
        loaded = load_settings(env={"A2IA_ENGINES__STOP_GRACE_S": "1", "A2IA_HOME": str(tmp_path / "home")})
        variants = pidfile_variants(proc)
        for label, content in variants:
            mgr = EngineManager(loaded.settings, loaded.paths)
            pidfile = mgr["vllm"].pidfile
            pidfile.parent.mkdir(parents=True, exist_ok=True)
            (pidfile.write_bytes if isinstance(content, bytes) else pidfile.write_text)(content)
            assert mgr.leftovers() == {}, label
            state = await mgr.stop_leftover("vllm")
            assert state.status == "stopped"
            assert sleeper.poll() is None and not gone(proc.pid), label
            assert len(mgr.notes) == 1 and "\n" not in mgr.notes[0] and str(pidfile) in mgr.notes[0], (label, mgr.notes)
            assert not pidfile.exists(), label
        assert len(variants) == 17
        # The control: the same process, recorded exactly, is adopted and stopped.
        mgr = EngineManager(loaded.settings, loaded.paths)
        mgr["vllm"].pidfile.write_text(json.dumps(record_for(proc)))
        assert mgr.leftovers()["vllm"]["pid"] == proc.pid
        await mgr.stop_leftover("vllm")
        assert wait_until(lambda: sleeper.poll() is not None, 10)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_engine_stop_command_notes_a_pidfile_without_start_time(tmp_path):
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        home = tmp_path / "home"
        run = home / "state" / "run"
        run.mkdir(parents=True)
        (run / "vllm.json").write_text(json.dumps({"pid": sleeper.pid, "pgid": sleeper.pid, "argv": ["sleep", "300"]}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("A2IA_")}
        env.update(A2IA_HOME=str(home), A2IA_ENGINES__STOP_GRACE_S="1")
        proc = subprocess.run(
            [sys.executable, "-m", "a2ia_tui", "engine", "stop", "vllm"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, proc.stderr
        notes = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(notes) == 1 and "malformed" in notes[0] and "no start time" in notes[0], proc.stderr
        assert "Traceback" not in proc.stderr
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
