"""The stream parsers' JSON reader (`_fast.parse_json`): orjson where it accepts the line, the
standard library wherever it does not, so that what counts as JSON is exactly what the standard
library says, except that lone surrogates come back as U+FFFD (textsafe.scrub)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2ia_tui.core.llm import _fast
from a2ia_tui.core.llm._fast import parse_json
from a2ia_tui.core.textsafe import scrub_obj

EVENT = (
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764000000,"model":"m",'
    '"choices":[{"index":0,"delta":{"content":" w\\u00e9\\n"},"logprobs":null,"finish_reason":null}]}'
)


def test_uses_orjson_when_installed() -> None:
    pytest.importorskip("orjson")
    assert _fast._orjson_loads is not None


@pytest.mark.parametrize(
    "line",
    [
        EVENT,
        '{"done": true, "eval_count": 12}',
        '{"x": NaN, "y": -Infinity}',  # not JSON to orjson; the standard library reads it
        '{"s": "\\ud800 lone surrogate"}',  # orjson refuses lone surrogates; made U+FFFD
        '{"a": 1} trailing text is ignored',
        '  {"leading": "whitespace"}',
        '"just a string"',
        "[1, 2.5, null]",
    ],
)
def test_agrees_with_the_standard_library(line: str) -> None:
    got = parse_json(line)
    want = scrub_obj(json.JSONDecoder().raw_decode(line.lstrip())[0])
    if isinstance(want, dict) and any(isinstance(v, float) and math.isnan(v) for v in want.values()):
        assert math.isnan(got["x"]) and got["y"] == -math.inf
    else:
        assert got == want and type(got) is type(want)


def test_an_integer_beyond_64_bits_is_still_read() -> None:
    line = '{"big": 123456789012345678901234567890, "ok": 18446744073709551615}'
    got = parse_json(line)
    assert got["ok"] == 18446744073709551615  # 64 bits (unsigned) read exactly
    # beyond that orjson gives a float (the standard library alone, an int)
    assert got["big"] == pytest.approx(123456789012345678901234567890)


@pytest.mark.parametrize("line", ["", "{", "data: {}", '{"a": }', "[DONE]", "{'single': 1}"])
def test_malformed_raises_value_error(line: str) -> None:
    with pytest.raises(ValueError):
        parse_json(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_round_trips(value) -> None:
    line = json.dumps(value)
    assert parse_json(line) == scrub_obj(json.loads(line))


@pytest.mark.parametrize("orjson", [True, False])
@pytest.mark.parametrize(
    "line",
    ['{"s": "a\\ud800b"}', '{"\\udfff": ["\\uDBFF", {"k": "\\ud83d"}]}', '"\\ud800"'],
)
def test_lone_surrogates_come_back_replaced(line: str, orjson: bool, monkeypatch) -> None:
    if not orjson:
        monkeypatch.setattr(_fast, "_orjson_loads", None)
    json.dumps(parse_json(line), ensure_ascii=False).encode("utf-8")  # encodable: no surrogate left


def test_json_nested_too_deeply_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError):
        parse_json('{"a":' * 50_000 + "1" + "}" * 50_000)
