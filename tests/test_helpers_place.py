"""Shared test helpers live in tests/helpers (docs/architecture.md, "The tests' layout"): no test
module imports from another test file or from a conftest (fixtures reach tests through pytest)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(source: str, package: list[str]) -> list[str]:
    """Every module ``source`` (a module of ``package``) imports, relative imports resolved."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            out.append(module)
            if not node.module:  # `from . import x`: x may be a module
                out += [f"{module}.{a.name}" for a in node.names]
    return out


def forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith("tests.") and m.rsplit(".", 1)[-1].startswith(("test_", "conftest"))]


def test_no_test_imports_a_test_file_or_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS)
        if rel.parts[0] == "fixtures":
            continue
        found = forbidden(imported_modules(path.read_text(encoding="utf-8"), ["tests", *rel.parent.parts]))
        offenders += [f"tests/{rel}: {m}" for m in found]
    assert offenders == [], "shared helpers belong in tests/helpers:\n" + "\n".join(offenders)


def test_the_check_sees_relative_and_absolute_imports() -> None:
    source = (
        "from ..test_x import a\nfrom .conftest import b\nimport tests.core.test_y\nfrom . import test_z\n"
        "from tests.helpers.app import c\nfrom .texts import d\n"
    )
    assert forbidden(imported_modules(source, ["tests", "tui", "widgets"])) == [
        "tests.tui.test_x",
        "tests.tui.widgets.conftest",
        "tests.core.test_y",
        "tests.tui.widgets.test_z",
    ]
