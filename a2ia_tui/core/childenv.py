"""How a2ia starts child processes: which Python flags, and which environment each one gets.

Python children a2ia starts itself (the built-in tool server, the bundled llama.cpp engine, vLLM
run as a Python, the llama.cpp preflight probe) run isolated, ``python -I``: the current directory
is often the workspace, which the model can write, and a planted ``argparse.py`` there (or on
``PYTHONPATH``, or in the user site) would otherwise be imported and run at every start. ``-I``
also ignores every ``PYTHON*`` variable, and the virtual environment a2ia is installed in still
supplies a2ia itself and its dependencies.

Environments (each decided here, in one place):

=========================  =====================================================================
child                      environment
=========================  =====================================================================
configured MCP server      the mcp SDK's safe default (``HOME LOGNAME PATH SHELL TERM USER``)
                           plus exactly the variables its ``env`` entry names
built-in tool server       the user's environment without a2ia's secrets: it needs ``A2IA_HOME``
                           / ``A2IA_CONFIG`` and the ``A2IA_*`` settings (its status tools read
                           the same settings), ``PATH``/``HOME``/``LANG``; and it is the parent
                           of what ``run_command`` starts, which gets the same
``run_command``'s programs  the user's environment without a2ia's secrets (a build or a test
                           needs the user's toolchain variables; a2ia's keys are not theirs)
managed engines            the user's environment without a2ia's secrets, plus what the engine
                           spec adds (vLLM's own key as ``VLLM_API_KEY``)
app under ``serve``        a minimal environment (:func:`served_app_env`): what locates the
                           user's files and GPUs, and a2ia's own ``A2IA_*`` settings; nothing
                           else (no agent sockets, no cloud credentials)
=========================  =====================================================================

a2ia's secrets: every ``api_key`` of the settings (any :class:`~.config.Secret`), the values of
headers whose name looks secret (``Authorization``, ``X-Api-Key``...), and every ``A2IA_*``
variable whose name has a secret word (:data:`SECRET_WORDS`: ``KEY``, ``TOKEN``, ``SECRET``,
``PASSWORD``, ``AUTH``, ``HEADERS``...). A variable is dropped when its name looks secret
(``A2IA_*`` only: a user's own ``OPENAI_API_KEY`` is theirs to pass on) or its value is, or
contains, one of those secret values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

#: Words of a variable or header name (split at ``_ - .``) that mark its value as a secret. Whole
#: words, so ``A2IA_AGENT__MAX_TOKENS`` (a number) stays while ``A2IA_..._API_KEY`` goes.
SECRET_WORDS = frozenset(
    {
        "KEY",
        "APIKEY",
        "TOKEN",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "AUTH",
        "AUTHORIZATION",
        "CREDENTIAL",
        "CREDENTIALS",
        "HEADERS",
        "COOKIE",
        "BEARER",
    }
)
_WORD_SPLIT = re.compile(r"[_\-.\s]+")
#: A secret at least this long is also removed where it is part of a longer value
#: ("Bearer sk-…"); shorter ones ("EMPTY", a dummy key) only where they are the whole value.
MIN_SUBSTRING_SECRET = 8


def isolated_python(python: str) -> list[str]:
    """The start of the argv for a Python child that must not import from its cwd or env."""
    return [python, "-I"]


def secret_values(settings: Any, extra: Iterable[str] = ()) -> set[str]:
    """Every secret value the settings hold (api keys, secret-looking header values), plus ``extra``."""
    values = {v for v in extra if v}
    values.update(v for v in _walk(settings) if v)
    # "Bearer <token>": the token alone is the secret a variable would hold.
    for v in list(values):
        scheme, _, rest = v.partition(" ")
        if rest and len(rest.strip()) >= MIN_SUBSTRING_SECRET and scheme.isalpha():
            values.add(rest.strip())
    return values


def _walk(obj: Any) -> Iterator[str]:
    from .config import Secret

    if isinstance(obj, Secret):
        yield obj.get_secret_value()
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            if isinstance(value, str):
                if isinstance(key, str) and _secret_words(key):
                    yield value
            else:
                yield from _walk(value)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for value in obj:
            yield from _walk(value)
    elif hasattr(obj, "__struct_fields__"):  # a msgspec Struct (a settings section)
        for name in obj.__struct_fields__:
            yield from _walk(getattr(obj, name))


def _secret_words(name: str) -> bool:
    return not SECRET_WORDS.isdisjoint(_WORD_SPLIT.split(name.upper()))


def is_secret_name(name: str) -> bool:
    """An ``A2IA_*`` variable whose name says it holds a secret (``A2IA_BACKENDS__X__API_KEY``)."""
    upper = name.upper()
    return upper.startswith("A2IA_") and _secret_words(upper[len("A2IA_") :])


def without_secrets(environ: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """``environ`` less a2ia's secret-named ``A2IA_*`` variables and any variable holding a secret."""
    exact = {s for s in secrets if s}
    long = [s for s in exact if len(s) >= MIN_SUBSTRING_SECRET]
    out: dict[str, str] = {}
    for name, value in environ.items():
        if is_secret_name(name) or value in exact or any(s in value for s in long):
            continue
        out[name] = value
    return out


def user_env(
    settings: Any = None, environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()
) -> dict[str, str]:
    """The user's environment (``os.environ`` by default) without the secrets a2ia holds."""
    env = os.environ if environ is None else environ
    secrets = secret_values(settings, extra) if settings is not None else {v for v in extra if v}
    return without_secrets(env, secrets)


#: Variables the app started by ``a2ia-tui serve`` keeps: where the user's files are (its chats and
#: settings), the locale, and which GPUs are visible.
SERVED_APP_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "LD_LIBRARY_PATH",
    }
)
#: Prefixes kept too, less any variable whose name looks secret (``HF_TOKEN``, ``VLLM_API_KEY``).
#: ``A2IA_*`` are a2ia's own settings and kept whole: the app needs its backends' keys.
SERVED_APP_PREFIXES = ("LC_", "XDG_", "CUDA_", "NVIDIA_", "HF_", "VLLM_")


def served_app_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the app ``a2ia-tui serve`` starts for a browser: an allow-list, so that
    whoever holds the page's token reaches no more of the user's environment than the app needs
    (no ``SSH_AUTH_SOCK``, no cloud credentials, no tokens of other programs)."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name, value in env.items():
        upper = name.upper()
        if upper.startswith("A2IA_") or name in SERVED_APP_NAMES:
            out[name] = value
        elif upper.startswith(SERVED_APP_PREFIXES) and not _secret_words(upper):
            out[name] = value
    return out


__all__ = [
    "is_secret_name",
    "isolated_python",
    "secret_values",
    "served_app_env",
    "user_env",
    "without_secrets",
]
