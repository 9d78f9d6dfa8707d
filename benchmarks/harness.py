"""What the benchmarks share: a clean child environment, fresh-process runs with peak
tree RSS and CPU, medians, and a fixed-cost + rate fit.

Benchmarks run as scripts (``python benchmarks/<name>.py``), so this module is imported
as ``harness`` from the script's own folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def child_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARK_REMOTE", "MDK_SPARK_REMOTE", "MLFLOW_REGISTRY_URI", "MDK_SPARK_MASTER")
    }
    env.update(
        MDK_HOME=str(home),
        MDK_TARGET="local",
        MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
    )
    return env


def sample_rss(proc, cpu: dict) -> int:
    """RSS of ``proc`` and its descendants now; records each one's CPU seconds in ``cpu``."""
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with (
            contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError),
            p.oneshot(),
        ):
            total += p.memory_info().rss
            t = p.cpu_times()
            cpu[(p.pid, p.create_time())] = t.user + t.system
    return total


def run_child(script: str, kind: str, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``script --child kind argv`` in a fresh interpreter; wall time, peak tree RSS and
    tree CPU (the child prints one JSON object last).

    CPU is summed over every process of the tree as last seen by the 50 ms poller (the
    JVM and Spark's Python workers are not reliably reaped by the child, so
    ``RUSAGE_CHILDREN`` would miss them); a process loses at most its last 50 ms.
    """
    import psutil

    cmd = [sys.executable, str(Path(script).resolve()), "--child", kind, *argv]
    start = time.perf_counter()
    popen = subprocess.Popen(
        cmd, env=env, cwd=env["MDK_HOME"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc = psutil.Process(popen.pid)
    peak = 0
    cpu: dict = {}
    done = threading.Event()

    def poll():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sample_rss(proc, cpu))
            done.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = popen.communicate()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    if popen.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({popen.returncode}):\n{err[-4000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return result | {"wall": wall, "peak_rss": peak, "cpu": sum(cpu.values())}


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def fixed_and_rate(points: dict[int, float]) -> tuple[float, float] | None:
    """Least-squares wall = fixed + rows / rate over the sizes (None with one size)."""
    if len(points) < 2:
        return None
    xs, ys = list(points), list(points.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - slope * mx, (1 / slope if slope > 0 else float("inf"))
