"""Text handling of the built-in file tools, apart from any I/O: encodings, edits, search patterns.

Encodings: a file starting with a byte order mark is UTF-8 (``EF BB BF``) or UTF-16 (``FF FE``
little-endian, ``FE FF`` big-endian); anything else is read as UTF-8. ``edit_file`` decodes
strictly and refuses other encodings (latin-1, UTF-32, UTF-16 without a BOM, broken UTF-8) with
the reason, because rewriting them would change bytes it was not asked to change. Its result is
spliced at the byte level: every byte outside the edited span is the file's own.

Line endings: ``old_text`` matches exactly, or else with each of its line breaks matching ``\\n``
or ``\\r\\n`` (models write ``\\n``; files may be CRLF or mixed). ``new_text`` written with bare
``\\n`` takes the line ending found in the span it replaces (or the file's most common one).

Search patterns: RE2 (google-re2), which matches in time linear in the input, so a pattern such as
``(a+)+$`` cannot stall the server. RE2 has no backreferences or lookaround; such patterns are
refused with a message saying so.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

_UTF32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def sniff_encoding(head: bytes) -> tuple[str, bytes]:
    """The codec and byte order mark of a file starting with ``head`` (4 bytes are enough)."""
    if head.startswith(_UTF32):  # before UTF-16 LE: FF FE 00 00 starts with FF FE
        return "utf-32", b""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, bom
    return "utf-8", b""


def edit_bytes(raw: bytes, old_text: str, new_text: str, name: str = "the file") -> bytes:
    """``raw`` with the one occurrence of ``old_text`` replaced by ``new_text`` (see the module)."""
    if not old_text:
        raise ValueError("old_text is empty; give the exact text to replace")
    codec, bom = sniff_encoding(raw[:4])
    if codec == "utf-32":
        raise ValueError(f"{name} is UTF-32; edit_file edits UTF-8 (with or without BOM) and UTF-16 with a BOM only")
    try:
        text = raw[len(bom) :].decode(codec)
    except UnicodeDecodeError as exc:
        what = "UTF-16" if codec.startswith("utf-16") else "UTF-8"
        raise ValueError(
            f"{name} is not valid {what} (byte {exc.start + len(bom)}: {exc.reason}); edit_file edits UTF-8 "
            "(with or without BOM) and UTF-16 with a BOM only, and refuses to rewrite other encodings"
        ) from None
    start, end = _locate(text, old_text)
    replacement = _with_line_endings(new_text, text, text[start:end])
    try:
        middle = replacement.encode(codec)
    except UnicodeEncodeError:
        raise ValueError(
            "new_text is not valid Unicode (it holds a lone surrogate); the file was not changed"
        ) from None
    head = len(bom) + len(text[:start].encode(codec))
    tail = len(bom) + len(text[:end].encode(codec))
    return raw[:head] + middle + raw[tail:]


def _locate(text: str, old: str) -> tuple[int, int]:
    # old_text with bare LF line breaks is matched flexibly at once, so that "a\nb" in a file
    # holding both "a\r\nb" and "a\nb" is ambiguous rather than silently the LF one.
    count = 0 if "\n" in old and "\r" not in old else text.count(old)
    if count == 1:
        at = text.index(old)
        return at, at + len(old)
    if count > 1:
        raise ValueError(f"old_text occurs {count} times; include more context so it matches once")
    if "\n" in old:
        # Each line break of old_text matches LF or CRLF: a literal pattern (escaped pieces), so
        # matching is linear.
        pieces = old.replace("\r\n", "\n").split("\n")
        found = list(re.finditer("\r?\n".join(re.escape(p) for p in pieces), text))
        if len(found) == 1:
            return found[0].span()
        if len(found) > 1:
            raise ValueError(f"old_text occurs {len(found)} times; include more context so it matches once")
    raise ValueError("old_text was not found in the file (it must match exactly, whitespace included)")


def _with_line_endings(new: str, text: str, span: str) -> str:
    if "\r" in new or "\n" not in new:
        return new  # the model chose its line endings, or there are none
    if "\r\n" in span:
        eol = "\r\n"
    elif "\n" in span:
        eol = "\n"
    else:
        crlf = text.count("\r\n")
        eol = "\r\n" if crlf > text.count("\n") - crlf else "\n"
    return new if eol == "\n" else new.replace("\n", eol)


def compile_search_pattern(pattern: str) -> Any:
    """A compiled RE2 pattern, or ValueError with a one-line reason."""
    import re2

    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the pattern is not valid Unicode (it holds a lone surrogate)") from None
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refusal on the server's stderr
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        why = exc.args[0] if exc.args else ""
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        raise ValueError(
            f"invalid or unsupported regular expression: {why} (search_files uses RE2, which runs in linear time: "
            "no backreferences or lookaround; write \\z for \\Z)"
        ) from None
