"""A config file that is not UTF-8 TOML: exit 2 with one line, never a traceback (the real
``a2ia-tui config show`` run as a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BAD_FILES = {
    "latin-1": 'model = "café"\n'.encode("latin-1"),
    "utf-16 with BOM": 'model = "x"\n'.encode("utf-16"),
    "utf-16-le no BOM": 'model = "x"\n'.encode("utf-16-le"),
    "utf-32": 'model = "x"\n'.encode("utf-32"),
    "cp1252 quotes": "model = \x93x\x94\n".encode("latin-1"),
    "binary garbage": bytes(range(256)) * 4,
    "gzip header": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage",
    "lone continuation byte": b'model = "\x80"\n',
    "NUL in value": b'model = "\x00"\n',
    "deeply nested": b"a = " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
    "escape sequence in key": b"\x1b]52;c;aGk=\x07 = 1\n",
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_config_file_is_one_line_and_exit_2(tmp_path, name):
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(BAD_FILES[name])
    proc = subprocess.run(
        [sys.executable, "-m", "a2ia_tui.entry", "--config", str(cfg), "config", "show"],
        capture_output=True,
        timeout=120,
        env=os.environ,
    )
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("a2ia: configuration error: "), err
    assert str(cfg) in err
    assert "Traceback" not in err and "\x1b" not in err
