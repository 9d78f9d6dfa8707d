"""make test's xdist scheduling (tests/conftest.py): the files that share the per-worker
session servers run on one worker, as one unit."""

from __future__ import annotations

import re

from recipes.target import repo_root
from tests.conftest import SHARED_SERVER_FILES, SharedServersTogether

# a test or fixture that asks for a per-worker server (``served``: the notebooks' fixture)
_USES = re.compile(r"def \w+\([^)]*\b(spark_connect|serving_home|connect_kernel)\b", re.S)
_SERVED = re.compile(r"def test_\w+\([^)]*\bserved\b", re.S)
# files that start servers of their own on purpose, or only name the fixtures
_OWN = {
    "tests/conftest.py",
    "tests/notebooks/conftest.py",
    "tests/unit/test_spark.py",
    "tests/unit/test_scheduling.py",
}


def test_every_file_that_uses_a_shared_server_is_in_the_group_and_exists():
    root = repo_root()
    users = {
        str(p.relative_to(root))
        for p in (root / "tests").rglob("*.py")
        if (
            _USES.search(p.read_text())
            or (p.parent.name == "notebooks" and _SERVED.search(p.read_text()))
        )
        and str(p.relative_to(root)) not in _OWN
    }
    assert users, "the pattern found no file: it is out of date"
    assert users <= SHARED_SERVER_FILES, sorted(users - SHARED_SERVER_FILES)
    assert all((root / f).is_file() for f in SHARED_SERVER_FILES), sorted(
        f for f in SHARED_SERVER_FILES if not (root / f).is_file()
    )


def test_the_group_is_one_scope_and_other_files_stay_their_own():
    split = SharedServersTogether._split_scope
    assert {split(None, f"{f}::test_x[1]") for f in SHARED_SERVER_FILES} == {"shared-servers"}
    assert split(None, "tests/notebooks/test_story.py::test_a") == "tests/notebooks/test_story.py"
    assert split(None, "tests/unit/test_spark.py::T::test_b") == "tests/unit/test_spark.py"
