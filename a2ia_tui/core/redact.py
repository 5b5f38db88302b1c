"""Secrets masked before anything is printed, logged or saved: the one place that knows what a
secret looks like.

Used by ``config show``, error messages (a URL in an error), ``--debug`` lines, and the engine
command line shown in the UI, the engine log and the pid file. What counts as a secret:

* the password (or a lone user name, which is often a token: ``https://TOKEN@host``) in a URL's
  ``user:password@`` part, and the values of query parameters named like a secret
  (``?api_key=``, ``token=``, ``sig=``...);
* header values (:func:`mask_headers` masks all of them but a few harmless ones: a custom header
  is as likely to carry a key as ``Authorization``);
* the value after a secret-looking flag in an argv (``--api-key X``, ``--api-key=X``,
  ``--hf-token X``) and ``NAME=value`` words whose NAME looks secret (``HF_TOKEN=...``);
* in free text, all of the above plus ``Bearer xxx`` and ``Authorization: xxx``.

Masking keeps the shape (``https://user:***@host/v1?api_key=***``) so the line stays useful.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"

#: A name (flag, header, query parameter, variable) that holds a secret.
_SECRET_NAME = re.compile(
    r"(api[-_]?key|apikey|token|secret|passw(or)?d|pwd|auth|credential|cookie|session|signature|\bsig\b|private[-_]?key|access[-_]?key)",
    re.IGNORECASE,
)

#: Headers whose values are never secret (shown as they are).
_PLAIN_HEADERS = {
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "user-agent",
    "cache-control",
    "connection",
    "host",
    "origin",
    "referer",
}


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def mask_url(url: str) -> str:
    """``url`` with its ``user:password@`` and its secret query values masked."""
    if "@" not in url and "=" not in url:
        return url  # the common case, without parsing
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url, _urls=False)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        # A lone user name in a URL is usually a token (https://TOKEN@github.com/...).
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = "&".join(
                f"{k}={MASK}" if is_secret_name(k) else (f"{k}={v}" if v or "=" in query else k) for k, v in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The header names with their values masked (but for a few harmless headers)."""
    return {k: (v if k.lower() in _PLAIN_HEADERS else MASK) for k, v in headers.items()}


def mask_env(env: Mapping[str, str]) -> dict[str, str]:
    """Environment variables with the values of secret-looking names masked."""
    return {k: (MASK if is_secret_name(k) else mask_url(v)) for k, v in env.items()}


def mask_argv(argv: Iterable[str]) -> list[str]:
    """A command line with the values of secret flags (``--api-key X``, ``--api-key=X``),
    secret ``NAME=value`` words and URL credentials masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        arg = str(arg)
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if arg.startswith("-"):
            flag, eq, _value = arg.partition("=")
            if is_secret_name(flag):
                if eq:
                    out.append(f"{flag}={MASK}")
                else:
                    out.append(arg)
                    hide_next = True
                continue
            out.append(f"{flag}={mask_url(_value)}" if eq else arg)
            continue
        name, eq, _ = arg.partition("=")
        if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name) and is_secret_name(name):
            out.append(f"{name}={MASK}")
        else:
            out.append(mask_url(arg))
    return out


_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_NAME = r"[A-Za-z0-9_-]*(?:api[-_]?key|apikey|token|secret|passw(?:or)?d|authorization|cookie|credential)[A-Za-z0-9_-]*"
# "Authorization: xxx", "X-Api-Key: xxx", "api_key=xxx", '"token": "xxx"', and "--hf-token xxx"
# (a bare space separates a value only after a flag: "4096 tokens. However" is prose).
_NAMED = re.compile(
    rf"""(?P<name>{_NAME})(?P<sep>["']?\s*[:=]\s*["']?)(?P<value>[^\s"',;&]+)"""
    rf"""|(?P<fname>--{_NAME})(?P<fsep>\s+)(?P<fvalue>[^\s"',;&-][^\s"',;&]*)""",
    re.IGNORECASE,
)
#: Names that contain a secret word but count things ("max_tokens: 512", "tokenizer: ...").
_NOT_SECRET = re.compile(r"tokens$|tokeniz|token_?ids?$|token_?count", re.IGNORECASE)


def redact_text(text: str, *, secrets: Iterable[str] = (), _urls: bool = True) -> str:
    """Free text (an error message, a debug line, a log line) with every secret it shows masked;
    ``secrets`` are known secret values (configured API keys) masked wherever they appear."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, MASK)
    if _urls and "://" in text:
        text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _NAMED.sub(_mask_named, text)


def _mask_named(m: re.Match[str]) -> str:
    name, sep, value = (
        (m.group("name"), m.group("sep"), m.group("value"))
        if m.group("name")
        else (m.group("fname"), m.group("fsep"), m.group("fvalue"))
    )
    if value.endswith(MASK) or value.lower() in ("bearer", "basic", "token") or _NOT_SECRET.search(name):
        return m.group(0)
    return f"{name}{sep}{MASK}"
