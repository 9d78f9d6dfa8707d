"""One way to run a background process: ``subprocess.Popen`` appears only in the services
module (:mod:`recipes.stack`: start on a free loopback port, pid and log under a home, a
readiness probe, status, stop by pid) and in the runners of jobs the kit starts and waits
for (a monitor refresh, a benchmark's measured child), which are not services.

Scanned: the kit (``recipes/``, ``widgets/``), the benchmarks, and the tests' fixtures and
helpers (``conftest.py`` and every module that is not a ``test_*.py``). A test file itself
may spawn a throwaway process as the subject of its test (a sleeper whose pid is reused, a
busy child to measure), which is not a service either.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "recipes/stack.py": "the services module",
    "recipes/endpoint/monitors/manager.py": "the monitor refresh jobs' runner",
    "benchmarks/harness.py": "the benchmarks' measured child (run_child waits for it)",
}


def _popens(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name == "Popen":
                lines.append(node.lineno)
    return lines


def _scanned() -> list[Path]:
    files = [*ROOT.glob("recipes/**/*.py"), *ROOT.glob("widgets/**/*.py")]
    files += ROOT.glob("benchmarks/**/*.py")
    files += [p for p in ROOT.glob("tests/**/*.py") if not p.name.startswith("test_")]
    return sorted(files)


def test_popen_only_in_the_services_module_and_the_job_runners():
    found = {}
    for path in _scanned():
        relative = path.relative_to(ROOT).as_posix()
        lines = _popens(path)
        if lines and relative not in ALLOWED:
            found[relative] = lines
    assert found == {}, f"start background processes with recipes.stack.start: {found}"


def test_the_scan_sees_the_allowed_ones():
    """The scanner finds the calls it is meant to find (so the test above can fail)."""
    for relative in ALLOWED:
        assert _popens(ROOT / relative), relative
    assert len(_scanned()) > 100
