"""Unity Catalog's rules for registry requests, as the double applies them.

Each check answers what UC answers MLflow's client: 400 ``INVALID_PARAMETER_VALUE`` with a
one-line message. The three-level-name message is UC's own text, which MLflow's client
looks for ("specify all three levels") to add its hint about the workspace registry.
"""

from __future__ import annotations

import re

from recipes.errors import invalid

_ALIAS = re.compile(r"^[\w\-]+$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_FILTER = re.compile(r"^\s*(name|run_id)\s*=\s*'([^']*)'\s*$")
_BAD_NAME = (
    "Bad model name: please specify all three levels of the model in the form "
    "`catalog_name.schema_name.model_name`"
)
MAX_ALIAS = 255
PAGE = 1000


def check_name(name: str | None) -> str:
    """``name`` if it has three non-empty levels (``catalog.schema.model``)."""
    parts = (name or "").split(".")
    if len(parts) != 3 or not all(p.strip() for p in parts) or "/" in (name or ""):
        raise invalid(f"{_BAD_NAME}, got {name!r}.")
    return name


def check_alias(alias: str) -> str:
    """``alias`` if it is a valid, unreserved alias name (``latest`` and ``v<N>`` are taken)."""
    if not alias or not _ALIAS.match(alias) or len(alias) > MAX_ALIAS:
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    if alias.lower() == "latest" or _VERSION_ALIAS.match(alias):
        raise invalid(f"Alias name '{alias}' is reserved.")
    return alias


def version_number(version) -> str:
    """A version number as UC spells it: a string of a positive integer."""
    try:
        number = int(str(version))
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise invalid(f"Model version must be a positive integer, got {version!r}.")
    return str(number)


def parse_filter(filter_string: str | None) -> tuple[str, str]:
    """``("name", "<c.s.m>")`` or ``("run_id", "<id>")``: the two filters UC's search takes."""
    match = _FILTER.match(filter_string or "")
    if match is None:
        raise invalid(
            f"Unsupported filter query : `{(filter_string or '').strip()}`. Please specify "
            "your filter parameter in the format `name = 'model_name'`."
        )
    key, value = match.groups()
    if key == "name":
        check_name(value)
    return key, value


def page(rows: list[dict], key: str, max_results, page_token) -> dict:
    """One page of ``rows`` under ``key``; the token is the next row's offset."""
    try:
        start = int(page_token) if page_token else 0
        size = int(max_results) if max_results else PAGE
    except ValueError:
        raise invalid("page_token and max_results must be integers.") from None
    if size <= 0 or start < 0:
        raise invalid("max_results must be positive and page_token must not be negative.")
    out: dict = {key: rows[start : start + size]}
    if start + size < len(rows):
        out["next_page_token"] = str(start + size)
    return out
