"""The building blocks of the settings sections: the strict section base, the secret string and
the constrained number types (msgspec checks the bounds while it converts)."""

from typing import Annotated

from msgspec import Meta, Struct


class Secret:
    """A secret string (an API key). Its ``repr`` and ``str`` are masked, so it never reaches a
    log, a traceback's locals or ``config show``; :meth:`get_secret_value` gives the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


Positive = Annotated[float, Meta(gt=0)]
Port = Annotated[int, Meta(ge=1, le=65535)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
PositiveInt = Annotated[int, Meta(ge=1)]


class Strict(Struct, kw_only=True, forbid_unknown_fields=True):
    """A settings section: keyword-only fields, and an unknown key is an error (a misspelt key
    must not be silently ignored)."""
