"""The refresh job's checks before and around Spark: columns from the Delta log, and a session
whose catalog is not the endpoint's warehouse refused in one line (no JVM here)."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from recipes import tables
from recipes.delta_lake import CATALOG_CLASS
from recipes.errors import KitError
from recipes.monitoring.refresh import check_catalog


def _session(conf: dict[str, str]):
    return SimpleNamespace(
        conf=SimpleNamespace(get=lambda key, default=None: conf.get(key, default))
    )


def test_columns_come_from_the_delta_log(mdk_home):
    tables.append("main.mdk.t_payload", pa.table({"timestamp": [1], "prediction": [0.5]}))
    assert tables.column_names("main.mdk.t_payload", home=mdk_home) == ["timestamp", "prediction"]


def test_a_session_over_another_warehouse_is_refused(mdk_home, tmp_path):
    ours = {"spark.sql.catalog.main": CATALOG_CLASS,
            "spark.sql.catalog.main.root": str(mdk_home / "warehouse" / "main")}  # fmt: skip
    check_catalog(_session(ours), "main.mdk.t_payload", mdk_home)  # the endpoint's: fine
    check_catalog(_session({}), "main.mdk.t_payload", mdk_home)  # not the kit's catalog
    other = {**ours, "spark.sql.catalog.main.root": str(tmp_path / "elsewhere" / "main")}
    with pytest.raises(KitError) as exc:
        check_catalog(_session(other), "main.mdk.t_payload", mdk_home)
    message = str(exc.value)
    assert "\n" not in message and "elsewhere" in message and "MDK_SPARK_REMOTE" in message
