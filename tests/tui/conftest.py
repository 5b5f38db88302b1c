"""Every app test fails when the app's boundary had to report an unexpected error (a bug a worker
hit is shown to the user as one line and the app goes on: without this, a test would not see it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from a2ia_tui.tui import app as app_module


@pytest.fixture(autouse=True)
def _no_unexpected_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    app_module.reported_errors.clear()
    yield
    errors = list(app_module.reported_errors)
    app_module.reported_errors.clear()
    if "reports_errors" not in request.keywords:
        assert errors == [], "the app reported unexpected errors"
