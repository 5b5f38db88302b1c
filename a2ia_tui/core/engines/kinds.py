"""The engine registry: one :class:`EngineKind` per kind of managed engine, read by every part
that names engines (the manager, ``engine status``, the ``engine`` command, the sidebar rows,
the app's notes, the palette and the start form). Adding an engine kind is one
:class:`~.spec.EngineSpec` subclass (argv, probe, phases), one settings section
(``engines.<name>``) and one :func:`register` call here, with its tests.

::

    engine_kinds()                 # {"vllm": EngineKind, "local": EngineKind}, in registration order
    engine_kind("vllm").label      # "vLLM"
    kind_for_backend("local")      # the kind whose engine serves the backend named "local"
    undo = register(EngineKind(...))   # tests register a kind of their own, then undo()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .llamacpp import LlamaCppSpec
from .spec import EngineSpec
from .vllm import VLLMSpec

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class FormField:
    """An editable field of the start form: a key of the engine's settings section."""

    key: str
    label: str
    parse: Callable[[str], Any]
    check: Callable[[Any], bool]
    #: What a good value is, for the error line ("a whole number ≥ 1").
    must: str
    #: The builds it means something to (an autotune proposal's ``device``: "cuda", or "cpu" for
    #: vLLM's CPU build, which has no GPU memory to share out but a KV cache size).
    devices: tuple[str, ...] = ("cuda", "cpu")

    def read(self, text: str) -> Any:
        """The field's text as a value; ValueError with a one-line message naming the field."""
        try:
            value = self.parse(text.strip())
        except ValueError:
            raise ValueError(f"{self.label}: {text.strip()!r} is not {self.must}") from None
        if not self.check(value):
            raise ValueError(f"{self.label}: {text.strip()!r} is not {self.must}")
        return value


@dataclass(frozen=True)
class EngineKind:
    spec: type[EngineSpec]
    #: The settings key that ``engine start --engine-model M`` sets (a hub id, a GGUF path...).
    model_field: str = "model"
    #: Fields the start form offers; their starting values come from :attr:`autotune` or the settings.
    form_fields: tuple[FormField, ...] = ()
    #: The form and ``engine autotune`` show the GPU estimate (:mod:`.autotune`).
    autotune: bool = False
    #: A server elsewhere that this engine is attached to (monitored, never started), if configured.
    attach_url: Callable[[Settings], str | None] | None = None

    @property
    def name(self) -> str:
        """The kind's name: the ``engines.<name>`` section, the pid and log files, the CLI argument."""
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def backend(self) -> str:
        """The settings backend named after this engine: it talks to the engine wherever it runs."""
        return self.spec.backend_name

    def make_spec(self, settings: Settings, overrides: dict[str, Any] | None = None) -> EngineSpec:
        return self.spec(settings, overrides)

    def attached(self, settings: Settings) -> str | None:
        return self.attach_url(settings) if self.attach_url is not None else None


_KINDS: dict[str, EngineKind] = {}


def register(kind: EngineKind) -> Callable[[], None]:
    """Add a kind (or replace one of that name); returns a function that takes it away again."""
    previous = _KINDS.get(kind.name)
    _KINDS[kind.name] = kind

    def undo() -> None:
        if previous is None:
            _KINDS.pop(kind.name, None)
        else:
            _KINDS[kind.name] = previous

    return undo


def engine_kinds() -> dict[str, EngineKind]:
    return dict(_KINDS)


def engine_kind(name: str) -> EngineKind:
    return _KINDS[name]


def kind_for_backend(backend: str) -> EngineKind | None:
    return next((k for k in _KINDS.values() if k.backend == backend), None)


def _positive_int(value: int) -> bool:
    return value > 0


register(
    EngineKind(
        VLLMSpec,
        form_fields=(
            FormField(
                "gpu_memory_utilization",
                "GPU memory utilisation",
                float,
                lambda v: 0 < v <= 1,
                "a number in (0, 1]",
                devices=("cuda",),
            ),
            FormField("max_model_len", "max model length (tokens)", int, _positive_int, "a positive whole number"),
            FormField(
                "tensor_parallel_size",
                "tensor parallel size (GPUs)",
                int,
                lambda v: v >= 1,
                "a whole number ≥ 1",
                devices=("cuda",),
            ),
            FormField(
                "cpu_kvcache_space_gib",
                "CPU KV cache (GiB)",
                int,
                _positive_int,
                "a whole number ≥ 1",
                devices=("cpu",),
            ),
        ),
        autotune=True,
        attach_url=lambda settings: settings.engines.vllm.attach_url,
    )
)
register(EngineKind(LlamaCppSpec, model_field="model_path"))
