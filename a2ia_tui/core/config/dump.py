"""The settings as a user may see them (``a2ia-tui config show``): plain data, secrets masked."""

from pathlib import Path
from typing import Any

import msgspec

from .fields import Secret
from .sections import Settings


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by ``"***"`` and None values dropped
    (TOML has no null). Secrets are the :class:`Secret` fields and whatever
    :mod:`~a2ia_tui.core.redact` finds: header values, URL credentials and secret query values,
    the values of secret flags in ``extra_args``, string values under secret-looking keys."""
    from ..redact import MASK, is_secret_name, mask_argv, mask_headers, mask_url

    def encode(value: Any) -> Any:
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot show a {type(value).__name__}")

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if key == "headers":
                return mask_headers({k: str(v) for k, v in value.items()})
            return {k: clean(v, k) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                return mask_argv(value)
            return [clean(v) for v in value]
        if isinstance(value, str):
            return MASK if is_secret_name(key) else mask_url(value)
        return value

    shown: dict[str, Any] = clean(msgspec.to_builtins(settings, enc_hook=encode))
    return shown
