"""Payload and processed tables of a test's own, in the warehouse of the session's classic Spark.

The classic session (``spark``, tests/conftest.py) resolves ``main.<schema>.<table>`` under its
own ``MDK_HOME`` (``spark_run.home``), shared by every test of the run, not under the test's
``MDK_HOME``; so each test gets table names no other test uses, and writes its payload rows
(as the endpoint does, with delta-rs) where that session reads them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.monitoring import payloads


@dataclass(frozen=True)
class Tables:
    """A test's table names, and the home whose warehouse its Spark session reads."""

    home: Path
    payload: str
    processed: str

    def write(self, rows: list[dict], name: str | None = None) -> str:
        """Append payload ``rows`` to ``name`` (default :attr:`payload`), one Delta commit."""
        return payloads.write(name or self.payload, rows, home=self.home)


def unique_names(stem: str = "ep") -> tuple[str, str]:
    """``main.mdk.<stem>_<hex>_payload`` and ``..._processed``: names no other test uses."""
    base = f"main.mdk.{stem}_{uuid.uuid4().hex[:10]}"
    return f"{base}_payload", f"{base}_processed"


@pytest.fixture
def tbl(spark_run) -> Tables:
    """This test's payload and processed table names, in the classic session's warehouse."""
    return Tables(spark_run.home, *unique_names())
