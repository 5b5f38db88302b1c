"""Secrets never printed: config show, error messages, --debug lines, engine command lines and
pid files all go through core/redact.py. Each case is a hostile input: a secret in a place it
must not leak from."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from a2ia_tui.core.redact import MASK, mask_argv, mask_headers, mask_url, redact_text

SECRET = "s3cr3t-VALUE-42"

URLS = [
    f"http://bob:{SECRET}@127.0.0.1:8000/v1",
    f"https://{SECRET}@example.org/v1",
    f"http://h:1/v1?api_key={SECRET}",
    f"http://h:1/v1?x=1&token={SECRET}&y=2",
    f"http://h:1/v1?access_token={SECRET}",
    f"http://u:{SECRET}@h/v1?apikey={SECRET}#frag",
    f"http://h/v1?sig={SECRET}",
    f"http://[::1]:8000/v1?password={SECRET}",
]


@pytest.mark.parametrize("url", URLS)
def test_mask_url_hides_credentials_and_secret_query_values(url):
    out = mask_url(url)
    assert SECRET not in out and MASK in out


def test_mask_url_keeps_plain_urls_untouched():
    for url in ("http://127.0.0.1:8000/v1", "http://h/v1?model=x&stream=1", "not a url"):
        assert mask_url(url) == url


ARGVS = [
    ["vllm", "serve", "m", "--api-key", SECRET],
    ["vllm", "serve", "m", f"--api-key={SECRET}"],
    ["vllm", "serve", "m", "--hf-token", SECRET, "--port", "8000"],
    ["x", f"--hf_token={SECRET}"],
    ["env", f"HF_TOKEN={SECRET}", "vllm"],
    ["env", f"OPENAI_API_KEY={SECRET}", "vllm"],
    ["x", "--secret", SECRET],
    ["x", "--password", SECRET],
    ["x", f"--download-url=https://u:{SECRET}@h/m"],
    ["x", f"https://{SECRET}@huggingface.co/m"],
]


@pytest.mark.parametrize("argv", ARGVS)
def test_mask_argv(argv):
    out = mask_argv(argv)
    assert SECRET not in " ".join(out) and len(out) == len(argv)
    assert out[0] == argv[0]


def test_mask_argv_keeps_ordinary_flags():
    argv = ["vllm", "serve", "Qwen/Q", "--port", "8000", "--max-model-len", "4096", "--tool-call-parser", "hermes"]
    assert mask_argv(argv) == argv


def test_mask_headers_masks_every_header_but_harmless_ones():
    h = {
        "Authorization": f"Bearer {SECRET}",
        "X-Api-Key": SECRET,
        "Cookie": f"s={SECRET}",
        "X-Custom": SECRET,
        "Content-Type": "application/json",
    }
    out = mask_headers(h)
    assert SECRET not in json.dumps(out)
    assert out["Content-Type"] == "application/json" and set(out) == set(h)


TEXTS = [
    f"cannot reach http://bob:{SECRET}@h:8000/v1: connection refused",
    f"Authorization: Bearer {SECRET}",
    f"authorization: basic {SECRET}",
    f"X-Api-Key: {SECRET}",
    f'{{"api_key": "{SECRET}"}}',
    f"api_key={SECRET}&model=x",
    f"started with --api-key {SECRET} --port 1",
    f"HF_TOKEN={SECRET} vllm serve",
    f"Cookie: session={SECRET}",
    f"password: {SECRET}",
]


@pytest.mark.parametrize("text", TEXTS)
def test_redact_text(text):
    assert SECRET not in redact_text(text)


def test_redact_text_keeps_prose_and_counts():
    text = "HTTP 400: max_tokens: 512 is more than 4096 tokens. However, the tokenizer: ok"
    assert redact_text(text) == text


def test_redact_text_masks_known_secret_values_anywhere():
    assert SECRET not in redact_text(f"the server said {SECRET[::-1]} and {SECRET}", secrets=[SECRET])


# -- the real commands ------------------------------------------------------------------------


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_config_show_masks_headers_urls_extra_args_and_keys(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
[backends.remote]
kind = "openai"
base_url = "https://bob:{SECRET}@llm.example.org/v1?api_key={SECRET}"
api_key = "{SECRET}"
headers = {{ Authorization = "Bearer {SECRET}", "X-Api-Key" = "{SECRET}", Cookie = "sid={SECRET}" }}

[engines.vllm]
extra_args = ["--hf-token", "{SECRET}", "--api-key={SECRET}", "HF_TOKEN={SECRET}", "--seed", "1"]
attach_url = "http://u:{SECRET}@10.0.0.2:8000/v1"

[engines.local]
extra_args = ["--api_key", "{SECRET}"]
""",
        encoding="utf-8",
    )
    for fmt in ([], ["--json"]):
        proc = _run("--config", str(cfg), "config", "show", *fmt, env={})
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr
        assert "llm.example.org" in proc.stdout and "--seed" in proc.stdout and "Authorization" in proc.stdout


def test_config_show_masks_secrets_from_environment_variables():
    env = {
        "A2IA_BACKENDS__VLLM__BASE_URL": f"http://u:{SECRET}@127.0.0.1:8000/v1",
        "A2IA_BACKENDS__VLLM__HEADERS": json.dumps({"X-Api-Key": SECRET}),
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(["--hf-token", SECRET]),
    }
    proc = _run("config", "show", env=env)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout


def test_engine_command_masks_secret_flags_but_print0_stays_exact():
    env = {
        "A2IA_ENGINES__VLLM__EXTRA_ARGS": json.dumps(["--hf-token", SECRET, f"--api-key={SECRET}"]),
        "A2IA_ENGINES__VLLM__EXECUTABLE": sys.executable,
    }
    for fmt in ([], ["--json"]):
        proc = _run("engine", "command", "vllm", *fmt, env=env)
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout and "--hf-token" in proc.stdout
    exact = _run("engine", "command", "vllm", "--print0", env=env)
    assert SECRET in exact.stdout  # scripts run this one: it must be the real command


def test_error_line_masks_url_credentials():
    """An unreachable backend's error names the URL: without its password."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "a2ia_tui.cli",
            "--backend",
            "vllm",
            "--vllm-url",
            f"http://bob:{SECRET}@127.0.0.1:9/v1?api_key={SECRET}",
            "--model",
            "m",
            "--no-tools",
            "--debug",
            "-p",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert proc.returncode != 0
    assert "127.0.0.1" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_line_masks_the_backend_url():
    from tests.fakes.llm_server import FakeLLMServer, Reply

    with FakeLLMServer("vllm", [Reply(text="ok")]).threaded() as srv:
        url = srv.url.replace("http://", f"http://bob:{SECRET}@") + f"?token={SECRET}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "a2ia_tui.cli",
                "--backend",
                "vllm",
                "--vllm-url",
                url,
                "--model",
                "m",
                "--no-tools",
                "--debug",
                "-p",
                "hi",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ,
        )
    assert "[debug] backend vllm at" in proc.stderr, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_engine_pidfile_argv_is_masked(tmp_path):
    from a2ia_tui.core.engines.process import Engine

    class Spec:
        name = "vllm"
        url = "http://127.0.0.1:1/v1"
        model = "m"

    eng = Engine(Spec(), log_dir=tmp_path / "logs", run_dir=tmp_path)
    eng._pid = os.getpid()
    eng._write_pidfile(["vllm", "serve", "m", "--hf-token", SECRET, f"--api-key={SECRET}"])
    record = json.loads(eng.pidfile.read_text())
    assert SECRET not in json.dumps(record) and record["argv"][:3] == ["vllm", "serve", "m"]


def test_backend_errors_never_show_url_credentials():
    from a2ia_tui.core.errors import BackendUnreachable

    for url in URLS:
        text = str(BackendUnreachable(url, f"refused; token={SECRET}"))
        assert SECRET not in text and "cannot reach" in text
