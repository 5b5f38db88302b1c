"""The text-safety primitives every entry point uses (core/textsafe.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from a2ia_tui.core.textsafe import has_controls, printable, scrub, scrub_obj

HOSTILE = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC 52 clipboard write
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x9b31m",  # C1 CSI
    "line\roverwrite",
    "bell\x07 and del\x7f",
    "\ud800 lone high, \udfff lone low",
]


def test_printable_leaves_no_control_character():
    for text in HOSTILE:
        out = printable(text)
        assert not has_controls(out)
        out.encode("utf-8")  # no surrogate left either


def test_printable_keeps_newlines_tabs_and_the_visible_text():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("x\r\ny") == "x\ny"
    assert printable("\x1b[2Jhi") == "\u241b[2Jhi"


def test_scrub_is_identity_on_clean_text():
    s = "héllo wörld — 🙂"
    assert scrub(s) is s


def test_scrub_obj_reaches_nested_keys_and_values():
    value = {"a\ud800": ["x\udfff", {"k": "\ud83d"}], "n": 3}
    out = scrub_obj(value)
    import json

    json.dumps(out, ensure_ascii=False).encode("utf-8")
    assert out["n"] == 3


@settings(max_examples=500, derandomize=True)
@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_printable_output_is_always_safe(text):
    out = printable(text)
    assert not has_controls(out)
    out.encode("utf-8")
