from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from a2ia_tui.core.config import load_mcp_servers, load_settings, masked_dump
from a2ia_tui.core.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_have_the_three_named_backends():
    s = load_settings(env={}).settings
    assert s.default_backend == "auto"
    assert s.backends["ollama"].base_url == "http://127.0.0.1:11434"
    assert s.backends["ollama"].model == "a2ia-qwen"
    # the vllm backend has no URL of its own: it is the managed engine's (engines.vllm)
    assert s.backends["vllm"].kind == "vllm" and s.backends["vllm"].base_url is None
    from a2ia_tui.core.llm.registry import backend_url

    assert backend_url(s, "vllm") == "http://127.0.0.1:8000/v1"
    assert s.backends["local"].kind == "local"
    assert s.engines.vllm.host == "127.0.0.1"


def test_layers_file_then_env_then_flags(tmp_path):
    cfg = write(
        tmp_path / "c.toml",
        """
default_backend = "vllm"
[backends.vllm]
model = "from-file"
[backends.lmstudio]
kind = "openai"
base_url = "http://127.0.0.1:1234/v1"
api_key = "sk-secret"
headers = { "X-Team" = "a" }
[agent]
max_steps = 7
""",
    )
    env = {"A2IA_AGENT__MAX_STEPS": "9", "A2IA_BACKENDS__VLLM__MODEL": "from-env"}
    loaded = load_settings(cfg, env=env, flags={"backends.vllm.model": "from-flag"})
    s = loaded.settings
    assert loaded.config_file_used == cfg
    assert s.default_backend == "vllm"
    assert s.agent.max_steps == 9  # env beats file
    assert s.backends["vllm"].model == "from-flag"  # flag beats env
    assert s.backends["vllm"].kind == "vllm" and s.backends["vllm"].base_url is None  # untouched default kept
    assert s.backends["lmstudio"].api_key.get_secret_value() == "sk-secret"
    assert s.backends["lmstudio"].headers == {"X-Team": "a"}


def test_environment_strings_become_numbers_booleans_paths_and_secrets(tmp_path):
    env = {
        "A2IA_ENGINES__VLLM__PORT": "8001",
        "A2IA_ENGINES__VLLM__GPU_MEMORY_UTILIZATION": "0.8",
        "A2IA_UI__SIDEBAR": "false",
        "A2IA_HISTORY__PATH": str(tmp_path / "h.sqlite3"),
        "A2IA_BACKENDS__VLLM__API_KEY": "sk-env",
        "A2IA_TOOLS__DESTRUCTIVE_TOOLS": '["rm"]',
    }
    s = load_settings(None, env=env).settings
    assert (s.engines.vllm.port, s.engines.vllm.gpu_memory_utilization, s.ui.sidebar) == (8001, 0.8, False)
    assert s.history.path == tmp_path / "h.sqlite3" and s.tools.destructive_tools == ["rm"]
    assert s.backends["vllm"].api_key.get_secret_value() == "sk-env"
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={"A2IA_UI__SIDEBAR": "maybe"})
    assert str(info.value) == "environment variable A2IA_UI__SIDEBAR: ui.sidebar: expected true or false, got a string"


def test_a_secret_never_shows_its_text():
    from a2ia_tui.core.config import Secret

    s = load_settings(None, env={"A2IA_BACKENDS__VLLM__API_KEY": "sk-hidden"}).settings
    for text in (repr(s), str(s.backends["vllm"]), f"{s.backends['vllm'].api_key}", repr(masked_dump(s))):
        assert "sk-hidden" not in text
    assert Secret("a") == Secret("a") != Secret("b") and not Secret("")


def test_config_path_from_env(tmp_path):
    cfg = write(tmp_path / "x.toml", 'default_backend = "ollama"\n')
    assert load_settings(env={"A2IA_CONFIG": str(cfg)}).settings.default_backend == "ollama"


@pytest.mark.parametrize(
    "text, key, fragment",
    [
        ("[agent]\nmax_stepz = 3\n", "agent.max_stepz", "unknown key"),
        ("[agent]\nmax_steps = 'many'\n", "agent.max_steps", "expected an integer, got a string"),
        ("[agent]\nmax_steps = 0\n", "agent.max_steps", "expected an integer >= 1"),
        ("[agent]\nmode = 'fast'\n", "agent.mode", "'fast' is not one of 'native', 'react', 'auto'"),
        ("agent = 3\n", "agent", "expected a table, got an integer"),
        ("[backends.x]\nkind = 'openai'\n", "backends.x", "needs base_url"),
        # only the backend named after the managed vLLM engine may leave its URL to the engine
        ("[backends.x]\nkind = 'vllm'\n", "", "backends.x needs base_url"),
        # a dict's entries are named, not "backends[...]"
        ("[backends.lm]\nkind = 'openai'\nbase_url = 'http://h'\nport = 3\n", "backends.lm.port", "unknown key"),
        ("[tools.overrides]\nrun_command = 'maybe'\n", "tools.overrides.run_command", "'maybe' is not one of"),
        ("[tools.server_timeouts]\nfs = 'slow'\n", "tools.server_timeouts.fs", "expected a number, got a string"),
        ("[tools]\ndestructive_tools = ['ok', 1]\n", "tools.destructive_tools.1", "expected a string, got an integer"),
        ("[engines.vllm]\nport = 70000\n", "engines.vllm.port", "expected an integer <= 65535"),
        ("[backends.vllm]\napi_key = 5\n", "backends.vllm.api_key", "expected a string, got an integer"),
        ("[engines.local]\nmodel_path = true\n", "engines.local.model_path", "expected a string, got true or false"),
        ("default_backend = 'nope'\n", "", "not a configured backend"),
        ("[agent\n", "", "invalid TOML"),
    ],
)
def test_bad_file_names_file_key_and_problem(tmp_path, text, key, fragment):
    cfg = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={})
    err = info.value
    assert err.source == str(cfg)
    assert err.key == key
    assert fragment in str(err)
    assert "\n" not in str(err)


def test_bad_env_names_the_variable():
    with pytest.raises(ConfigError) as info:
        load_settings(env={"A2IA_AGENT__MAX_STEPS": "zero"})
    assert info.value.source == "environment variable A2IA_AGENT__MAX_STEPS"
    assert info.value.key == "agent.max_steps"


def test_unknown_env_key_is_an_error():
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(env={"A2IA_NOPE": "1"})


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml", env={})


def test_masked_dump_hides_secrets(tmp_path):
    cfg = write(tmp_path / "c.toml", "[backends.r]\nkind='vllm'\nbase_url='http://h:8000/v1'\napi_key='sk-123456'\n")
    dumped = json.dumps(masked_dump(load_settings(cfg, env={}).settings))
    assert "sk-123456" not in dumped
    assert '"api_key": "***"' in dumped


def test_mcp_servers_standard_format(tmp_path):
    path = write(
        tmp_path / "mcp.json",
        json.dumps(
            {
                "mcpServers": {
                    "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}, "autoApprove": []},
                    "remote": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer x"}},
                }
            }
        ),
    )
    servers = load_mcp_servers(path)
    assert servers["time"].transport == "stdio" and servers["time"].args == ["mcp-server-time"]
    assert servers["remote"].transport == "http"
    assert load_mcp_servers(tmp_path / "absent.json") == {}


@pytest.mark.parametrize(
    "body, key, fragment",
    [
        ("{not json", "", "invalid JSON"),
        ('{"mcpServers": {"a": {"args": []}}}', "mcpServers.a", "exactly one"),
        ('{"mcpServers": {"a": {"command": "x", "bogus": 1}}}', "mcpServers.a.bogus", "unknown key"),
        (
            '{"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}',
            "mcpServers.a.env.K",
            "expected a string, got an integer",
        ),
        ('{"mcpServers": {"a": {"command": "x", "timeout": 0}}}', "mcpServers.a.timeout", "expected a number > 0"),
        ('{"other": {}}', "mcpServers", "missing"),
    ],
)
def test_bad_mcp_file(tmp_path, body, key, fragment):
    path = write(tmp_path / "mcp.json", body)
    with pytest.raises(ConfigError) as info:
        load_mcp_servers(path)
    assert info.value.key == key and fragment in str(info.value)


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_bad_config_exits_2_with_one_line(tmp_path):
    cfg = write(tmp_path / "bad.toml", "[engines.vllm]\nport = 'high'\n")
    proc = run_cli("--config", str(cfg), "config", "show")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(cfg) in lines[0] and "engines.vllm.port" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_config_show_and_path(tmp_path):
    cfg = write(tmp_path / "c.toml", "[backends.vllm]\napi_key = 'sk-topsecret'\n")
    show = run_cli("--config", str(cfg), "config", "show")
    assert show.returncode == 0, show.stderr
    assert "sk-topsecret" not in show.stdout and 'api_key = "***"' in show.stdout
    path = run_cli("--config", str(cfg), "config", "path")
    assert str(cfg) in path.stdout and "mcp.json" in path.stdout


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("a2ia-tui ")
    help_text = run_cli("--help").stdout
    for flag in ("--backend", "--model", "--vllm-url", "--ollama-url", "--config", "--mcp-config", "--react"):
        assert flag in help_text


def test_app_with_a_bad_mcp_servers_file_exits_2_before_the_screen_opens(tmp_path):
    bad = write(tmp_path / "mcp.json", '{"mcpServers": {"x": {"command": "a", "url": "http://b"}}}')
    proc = run_cli("--mcp-config", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"a2ia: configuration error: {bad}: mcpServers.x: give exactly one of 'command' (stdio) or 'url' (streamable HTTP)"
    ]


def test_an_mcp_servers_file_named_on_purpose_must_exist(tmp_path):
    """The default mcp.json may be absent (no servers); one given with --mcp-config (or
    A2IA_MCP_CONFIG, or tools.mcp_config) that is not there is a typo to report, not "no tools"."""
    with pytest.raises(ConfigError) as info:
        load_mcp_servers(tmp_path / "absent.json", required=True)
    assert str(info.value) == f"{tmp_path / 'absent.json'}: file not found"
    home = {"A2IA_HOME": str(tmp_path / "home")}
    assert load_settings(None, env=home).mcp_servers() == {}  # the default file, absent: fine
    named = load_settings(None, env={**home, "A2IA_MCP_CONFIG": str(tmp_path / "absent.json")})
    with pytest.raises(ConfigError):
        named.mcp_servers()
    proc = run_cli("--mcp-config", str(tmp_path / "absent.json"), env_extra=home)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"a2ia: configuration error: {tmp_path / 'absent.json'}: file not found"
    ]
