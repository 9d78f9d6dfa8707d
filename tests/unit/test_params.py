"""The notebooks' first check: typed parameters."""

from __future__ import annotations

import pytest

from recipes.errors import ParameterError
from recipes.params import check_parameters


def ns(**values):
    annotations = {"target": str, "n_rows": int, "ratio": float, "apply": bool}
    return {"__annotations__": annotations, **values}


def good(**over):
    return ns(**{"target": "local", "n_rows": 10, "ratio": 0.5, "apply": True, **over})


def test_valid_parameters_come_back():
    assert check_parameters(good()) == {
        "target": "local",
        "n_rows": 10,
        "ratio": 0.5,
        "apply": True,
    }


def test_int_widens_to_float():
    assert check_parameters(good(ratio=2))["ratio"] == 2.0


@pytest.mark.parametrize(
    "over,match",
    [
        ({"n_rows": "5000"}, "'n_rows' must be int, got str '5000'"),
        ({"n_rows": True}, "'n_rows' must be int, got bool"),
        ({"n_rows": 1.5}, "'n_rows' must be int"),
        ({"apply": 1}, "'apply' must be bool"),
        ({"apply": "False"}, "'apply' must be bool"),
        ({"ratio": "x"}, "'ratio' must be float"),
        ({"target": 3}, "'target' must be str"),
    ],
)
def test_wrong_type_is_one_line_naming_the_fix(over, match):
    with pytest.raises(ParameterError, match=match) as exc:
        check_parameters(good(**over))
    assert "pass e.g. -p" in str(exc.value) and "\n" not in str(exc.value)


def test_choices_and_minimum():
    with pytest.raises(ParameterError, match="use one of 'local', 'databricks'"):
        check_parameters(good(target="cloud"), choices={"target": ("local", "databricks")})
    with pytest.raises(ParameterError, match="at least 100"):
        check_parameters(good(n_rows=5), minimum={"n_rows": 100})
    with pytest.raises(ParameterError, match="at most 10"):
        check_parameters(good(n_rows=50), maximum={"n_rows": 10})
    assert check_parameters(good(n_rows=10), maximum={"n_rows": 10})["n_rows"] == 10


def test_string_annotations_and_missing_contract():
    assert check_parameters({"__annotations__": {"k": "int"}, "k": 3}) == {"k": 3}
    with pytest.raises(ParameterError, match="typed literals"):
        check_parameters({"k": 3})
    with pytest.raises(ParameterError, match="Unsupported parameter type"):
        check_parameters({"__annotations__": {"k": list}, "k": []})
