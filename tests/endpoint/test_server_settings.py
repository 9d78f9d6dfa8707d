"""The local endpoint's settings from the environment: idle seconds and the capture flush."""

from __future__ import annotations

import pytest

from recipes.endpoint import server
from recipes.errors import ParameterError


@pytest.mark.parametrize(
    ("var", "read", "default"),
    [
        ("MDK_SERVING_IDLE_SECONDS", server.idle_seconds_default, 300.0),
        ("MDK_CAPTURE_FLUSH_SECONDS", server.flush_seconds, 1.0),
    ],
)
def test_a_positive_number_of_seconds_or_one_line_naming_the_variable(
    monkeypatch, var, read, default
):
    monkeypatch.delenv(var, raising=False)
    assert read() == default
    monkeypatch.setenv(var, "0.25")
    assert read() == 0.25
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv(var, bad)
        with pytest.raises(ParameterError, match=f"^{var} must be a positive number, got '{bad}'"):
            read()
