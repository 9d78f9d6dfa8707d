"""A folder's lock between processes: ``flock`` on ``<folder>/.lock``.

The local endpoint's quality-monitors API and the refresh job it starts
(:mod:`recipes.monitoring.refresh`) hold it on a refresh folder: the job to claim a
PENDING refresh, the endpoint to cancel one.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path


@contextlib.contextmanager
def locked(folder: Path):
    """The refresh folder's lock: held to claim a PENDING refresh (or to cancel one)."""
    with (folder / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
