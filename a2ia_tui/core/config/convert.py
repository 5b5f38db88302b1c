"""Plain data (parsed TOML, JSON, environment strings) into the typed settings, and a failed
conversion into words: the dotted key that is wrong and what is wrong with it."""

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Struct

from .fields import Secret


def _decode(type_: type, value: Any) -> Any:
    """The types msgspec does not convert by itself: paths and secrets, from strings."""
    if type_ in (Path, Secret) and isinstance(value, str):
        return type_(value)
    got = {bool: "true or false", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    raise TypeError(f"expected a string, got {got.get(type(value), type(value).__name__)}")


def convert(data: Any, type_: Any) -> Any:
    """``data`` (parsed TOML / JSON / environment strings) as ``type_``; numbers and booleans
    may be given as strings ("8000", "true"). Raises ``msgspec.ValidationError``."""
    return msgspec.convert(data, type_, strict=False, dec_hook=_decode)


def _bare(type_: Any) -> Any:
    """``type_`` without ``Annotated`` constraints and without ``| None``."""
    while True:
        if get_origin(type_) is Annotated:
            type_ = get_args(type_)[0]
        elif get_origin(type_) in (Union, type(int | None)):
            args = [a for a in get_args(type_) if a is not type(None)]
            if len(args) != 1:
                return type_
            type_ = args[0]
        else:
            return type_


def _field_type(struct: Any, name: str) -> Any:
    for f in msgspec.structs.fields(struct):
        if f.name == name:
            return f.type
    return Any


_AT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def explain(exc: msgspec.ValidationError, data: Any, type_: Any) -> tuple[str, str]:
    """(dotted key, problem) for a validation error. msgspec names the place as a JSON path in
    its message (`` - at `$.agent.max_steps` ``), with ``[...]`` for a dict's value: that key is
    found by converting the dict's values one by one."""
    text, _, where = str(exc).rpartition(" - at `")
    if not _:
        text, where = str(exc), "$`"
    keys: list[str] = []
    node, typ = data, type_
    for name, index in _AT.findall(where.removesuffix("`").removeprefix("$")):
        typ = _bare(typ)
        if name:
            keys.append(name)
            typ = _field_type(typ, name) if isinstance(typ, type) and issubclass(typ, Struct) else Any
            node = node.get(name) if isinstance(node, dict) else None
        elif index == "...":
            value_type = get_args(typ)[1] if get_origin(typ) is dict else Any
            bad = next((k for k, v in (node or {}).items() if not _converts(v, value_type)), "?")
            keys.append(str(bad))
            node, typ = (node or {}).get(bad), value_type
        else:
            keys.append(index)
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            typ = (get_args(typ) or (Any,))[0]
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", text)
    if unknown:
        return ".".join([*keys, unknown.group(1)]), "unknown key"
    choices = get_args(_bare(typ)) if get_origin(_bare(typ)) is Literal else ()
    if text.startswith("Invalid enum value") and choices:
        return ".".join(keys), f"{text.removeprefix('Invalid enum value ')} is not one of " + ", ".join(
            map(repr, choices)
        )
    missing = re.fullmatch(r"Object missing required field `(.+)`", text)
    if missing:
        return ".".join([*keys, missing.group(1)]), "missing"
    return ".".join(keys), _TYPE_WORD.sub(lambda m: _TYPE_WORDS.get(m.group(1), m.group(1)), text).replace(
        "Expected", "expected", 1
    )


#: msgspec's type names in its messages ("Expected `int`, got `str`"), in words.
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "a list",
    "null": "nothing",
}
_TYPE_WORD = re.compile(r"`([^`]*)`")


def _converts(value: Any, type_: Any) -> bool:
    try:
        convert(value, type_)
    except msgspec.ValidationError:
        return False
    return True
