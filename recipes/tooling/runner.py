"""Run the kit's notebooks with papermill, with parameters checked before any work starts.

papermill only logs a parameter a notebook does not declare, and injects any value it is
given. Here every parameter must be declared by a selected notebook and match the type
inferred from its ``parameters`` cell (``n_rows: int = 5000``); each notebook gets only
the parameters it declares. Results go to ``$MDK_HOME/runs/<time>/`` with a ``summary.json``,
and every picture (``image/png`` output) also as a ``.png`` file there.

The notebooks of one run share one Spark: when a notebook that uses Spark runs on the local
target, the run starts the ``spark`` service (a local Spark Connect server over
``$MDK_HOME/warehouse``, :mod:`recipes.stack`) and gives every kernel its URL in
``MDK_SPARK_REMOTE``, as notebooks attached to one Databricks cluster share it, instead of
each kernel starting a JVM of its own; the endpoint a notebook starts inherits it for its
monitor refreshes. The run stops it at the end. A kernel opened in JupyterLab starts its own
local Spark, as before.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from recipes import stack
from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.jsonfile import write_json
from recipes.params import conforms, example
from recipes.quiet import QUIET_ENV
from recipes.target import mdk_home, repo_root
from recipes.workspace_names import LOCAL_DEFAULTS
from recipes.workspace_names import apply as apply_names

_KINDS = {"int": int, "float": float, "str": str, "bool": bool}
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class RunResult:
    """The outcome of one notebook run.

    Attributes:
        notebook: the notebook's file name.
        status: ``"ok"``, ``"failed"`` or ``"skipped"`` (the notebook does not run on the
            target; see :func:`skip_reason`).
        seconds: wall time of the run.
        output: the executed notebook.
        error: one line, ``"<ename>: <evalue>"``, when the run failed; why, when skipped.
        pictures: the ``image/png`` outputs saved beside it (see :func:`save_pictures`).
    """

    notebook: str
    status: str
    seconds: float
    output: Path
    error: str | None = None
    pictures: tuple[Path, ...] = ()


ProgressFn = Callable[[str, Path, RunResult | None], None]
"""Called with ``("start", path, None)`` before and ``("end", path, result)`` after each run."""


def notebooks_dir() -> Path:
    """The kit's ``notebooks/`` folder."""
    return repo_root() / "notebooks"


def notebook_paths(names: Iterable[str] | None = None, root: Path | None = None) -> list[Path]:
    """Resolve notebook names to paths.

    Args:
        names: ``01_register``, ``01``, ``01_register.ipynb`` or a path; None or empty
            selects every ``NN_*.ipynb`` in order.
        root: the notebooks folder; defaults to :func:`notebooks_dir`.

    Raises:
        NotFoundError: a name matches no notebook; the message lists the available ones.
    """
    root = Path(root) if root is not None else notebooks_dir()
    available = sorted(root.glob("[0-9][0-9]_*.ipynb"))
    names = list(names or [])
    if not names:
        if not available:
            raise NotFoundError(f"No notebooks NN_*.ipynb in {root}: pass a notebook path.")
        return available
    found = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            found.append(path.resolve())
            continue
        stem = path.name.removesuffix(".ipynb")
        hits = [p for p in available if p.stem == stem or p.stem.split("_", 1)[0] == stem]
        if len(hits) != 1:
            listing = ", ".join(p.stem for p in available) or "none"
            raise NotFoundError(f"No notebook {name!r} in {root}: available are {listing}.")
        found.append(hits[0])
    return found


def skip_reason(path: Path, params: Mapping[str, Any]) -> str | None:
    """Why ``path`` does not run with ``params``, or None when it does.

    A notebook limits its targets in its metadata, ``{"mdk": {"targets": ["local"]}}``
    (exam practice creates and deletes endpoints and versions, which the kit never does in a
    workspace). The target is the notebook's ``target`` parameter, else ``MDK_TARGET``, else
    ``local``.
    """
    import nbformat

    from recipes.target import resolve

    try:
        targets = nbformat.read(path, as_version=4).metadata.get("mdk", {}).get("targets")
    except (OSError, ValueError):
        return None  # papermill reports an unreadable notebook itself
    if not targets:
        return None
    name = resolve(params.get("target") or None).name
    if name in targets:
        return None
    return (
        f"{path.stem} runs on the {' or '.join(targets)} target only, not {name!r}: it "
        "creates and deletes what it practises on, which the kit never does in a workspace."
    )


def parse_value(text: str, kind: str | None = None) -> Any:
    """Turn a command-line value into a Python value.

    Args:
        text: the value as typed.
        kind: the declared type (``int``, ``float``, ``str``, ``bool``); None infers it:
            ``true``/``false`` (any case) → bool, then int, then float, else str.

    Raises:
        ParameterError: ``text`` cannot be read as ``kind``.
    """
    low = text.strip().lower()
    if kind == "str":
        return text
    if kind in (None, "bool") and low in ("true", "false"):
        return low == "true"
    if kind in (None, "int") and _INT.fullmatch(low):
        return int(low)
    if kind in (None, "float") and _FLOAT.fullmatch(low):
        return float(low)
    if kind in _KINDS:
        article = "an" if kind == "int" else "a"
        raise ParameterError(
            f"{text!r} is not {article} {kind}: pass e.g. {example(_KINDS[kind])}."
        )
    return text


def _inspect(path: Path) -> dict[str, dict]:
    """papermill's view of the notebook's ``parameters`` cell, or one line saying why not."""
    import papermill

    try:
        return papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
        raise ParameterError(f"Cannot inspect {path.name}: {exc} Fix its metadata.") from exc


def declared(path: Path) -> dict[str, str]:
    """The notebook's parameters mapped to their inferred type names (``"None"`` if untyped)."""
    return {name: p["inferred_type_name"] for name, p in _inspect(path).items()}


def declared_defaults(path: Path) -> dict[str, Any]:
    """The notebook's parameters mapped to their default values (literals only)."""
    import ast

    out = {}
    for name, p in _inspect(path).items():
        with contextlib.suppress(ValueError, SyntaxError):
            out[name] = ast.literal_eval(p["default"])
    return out


def workspace_names(path: Path, given: Mapping[str, Any]) -> dict[str, Any]:
    """On ``target="databricks"``, the names a notebook's local defaults become there.

    Each parameter of :data:`recipes.workspace_names.LOCAL_DEFAULTS` that ``given`` leaves out and the
    notebook still declares with its local default gets the workspace name from
    ``MDK_CATALOG``, ``MDK_SCHEMA`` (:func:`recipes.workspace_names.apply`), so
    ``MDK_TARGET=databricks mdk run`` needs no ``-p`` on Unity Catalog. The executed
    notebook shows them in papermill's injected-parameters cell. Locally, nothing.
    """
    if given.get("target") != "databricks":
        return {}
    local = {
        k: v
        for k, v in declared_defaults(path).items()
        if k in LOCAL_DEFAULTS and k not in given and v == LOCAL_DEFAULTS[k]
    }
    return {k: v for k, v in apply_names(local, "databricks").items() if v != local[k]}


def _matches(value: Any, kind: str) -> bool:
    return kind not in _KINDS or conforms(value, _KINDS[kind])  # untyped: not checked


def _typed(nb: str, name: str, value: Any, kind: str, from_cli: bool) -> Any:
    if from_cli and isinstance(value, str):
        # on a parse error keep the text: the message below names the parameter and the fix
        with contextlib.suppress(ParameterError):
            value = parse_value(value, kind if kind in _KINDS else None)
    if not _matches(value, kind):
        raise ParameterError(
            f"{nb} parameter {name!r} is {kind}, got {type(value).__name__} {value!r}: "
            f"pass e.g. -p {name} {example(_KINDS[kind])}."
        )
    return float(value) if kind == "float" else value


def _unknown(name: str, who: str, whose: str, known: Iterable[str]) -> ParameterError:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(known) or "none"
    return ParameterError(f"{who} no parameter {name!r}{hint}: {whose} parameters are {listing}")


def check_run_parameters(path: Path, params: Mapping[str, Any], from_cli: bool = False) -> dict:
    """Check parameters against one notebook's ``parameters`` cell.

    Args:
        path: the notebook.
        params: names and values; all must be declared by the notebook.
        from_cli: values are command-line strings, read with the declared type.

    Returns:
        The parameters, with ints widened to float where a float is declared.

    Raises:
        ParameterError: an unknown name or a value of the wrong type.
    """
    path = Path(path)
    types = declared(path)
    for name in params:
        if name not in types:
            raise _unknown(name, f"{path.name} has", "its", types)
    return {n: _typed(path.name, n, v, types[n], from_cli) for n, v in params.items()}


def plan(
    paths: Iterable[Path], params: Mapping[str, Any], from_cli: bool = False
) -> dict[Path, dict[str, Any]]:
    """Give each notebook the parameters it declares, checking all before any run.

    Every parameter must be declared by at least one notebook and is type-checked in
    each notebook that declares it. Without a ``target`` parameter, a notebook that
    declares one gets ``MDK_TARGET`` when it is set (a notebook's own default is
    ``"local"``), so ``MDK_TARGET=databricks mdk run`` runs them all on the workspace,
    with the workspace's default names (:func:`workspace_names`).

    Raises:
        ParameterError: an unknown name, a value of the wrong type, or an unknown
            ``MDK_TARGET``.
    """
    from recipes.target import resolve

    types = {Path(p): declared(Path(p)) for p in paths}
    every = list(dict.fromkeys(n for t in types.values() for n in t))
    for name in params:
        if name not in every:
            raise _unknown(name, "The selected notebooks have", "their", every)
    if "target" not in params and os.environ.get("MDK_TARGET", "").strip():
        params = {**params, "target": resolve().name}
    checked = {
        p: {n: _typed(p.name, n, v, t[n], from_cli) for n, v in params.items() if n in t}
        for p, t in types.items()
    }
    return {p: {**given, **workspace_names(p, given)} for p, given in checked.items()}


def _one_line(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None)
    text = f"{ename}: {evalue if evalue is not None else exc}"
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _write_summary(out_dir: Path, started: str, plan_: dict, results: list[RunResult]) -> None:
    rows = [
        {
            **asdict(r),
            "output": str(r.output),
            "pictures": [p.name for p in r.pictures],
            "parameters": plan_[path],
        }
        for r, path in zip(results, plan_, strict=False)
    ]
    summary = {"started_at": started, "results": rows}
    write_json(out_dir / "summary.json", summary, default=str)


def save_pictures(notebook: Path, out_dir: Path | None = None) -> list[Path]:
    """Write every ``image/png`` output of an executed notebook to a ``.png`` file.

    Files are named ``<notebook stem>-cell<NN>-<k>.png`` (``NN`` the cell's index, ``k``
    the picture's index within that cell), or ``...-<k>-<name>.png`` when the output's
    metadata carries a ``name`` (as :func:`recipes.pictures.show` records it). A notebook
    that cannot be read gives no pictures.

    Returns:
        The files written, in notebook order.
    """
    import base64

    import nbformat

    notebook = Path(notebook)
    out_dir = Path(out_dir) if out_dir is not None else notebook.parent
    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):  # the run died before papermill wrote it
        return []
    saved = []
    for index, cell in enumerate(nb.cells):
        k = 0
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if not png:
                continue
            k += 1
            name = out.get("metadata", {}).get("image/png", {}).get("name")
            tail = f"-{_slug(name)}" if name and _slug(name) else ""
            path = out_dir / f"{notebook.stem}-cell{index:02d}-{k}{tail}.png"
            data = png if isinstance(png, bytes) else base64.b64decode("".join(png))
            path.write_bytes(data)
            saved.append(path)
    return saved


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-.")[:60]


@contextlib.contextmanager
def _kernel_env(values: Mapping[str, str]):
    """Set ``values`` in ``os.environ`` (which the kernel inherits) unless already set."""
    import os

    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


_SPARK_WORD = re.compile(r"\bspark\b")


def uses_spark(path: Path) -> bool:
    """Whether a code cell of the notebook names ``spark`` (a session, ``spark_udf``...)."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return False
    return any(c.cell_type == "code" and _SPARK_WORD.search(c.source) for c in nb.cells)


def _needs_shared_spark(per_notebook: Mapping[Path, Mapping[str, Any]]) -> bool:
    from recipes.target import resolve

    if os.environ.get("MDK_SPARK_REMOTE") or os.environ.get("SPARK_REMOTE"):
        return False  # the user's own Spark Connect server
    return any(
        resolve(params.get("target") or None).is_local
        and skip_reason(path, params) is None
        and uses_spark(path)
        for path, params in per_notebook.items()
    )


@contextlib.contextmanager
def shared_spark(
    per_notebook: Mapping[Path, Mapping[str, Any]], report: Callable[[str], None] | None = None
):
    """Start the ``spark`` service for the block when a local notebook needs Spark, put its
    URL in ``MDK_SPARK_REMOTE`` for the kernels, and stop it afterwards (unless it ran
    before). Yields the service, or None. When it cannot start, the kernels start their own
    local Spark, and ``report`` says why."""
    say = report or (lambda line: None)
    if not _needs_shared_spark(per_notebook):
        yield None
        return
    home = mdk_home()
    was_running = stack.service_status("spark", home).alive
    try:
        svc = stack.start("spark", home=home, timeout=180)
    except KitError as exc:
        say(f"each notebook starts its own Spark: the shared one did not start ({exc})")
        yield None
        return
    say(
        f"Spark: one local Spark Connect server for this run's notebooks, {svc.url} (pid {svc.pid})"
    )
    try:
        with _kernel_env({"MDK_SPARK_REMOTE": svc.url}):
            yield svc
    finally:
        if not was_running and stack.stop("spark", home) is not None:
            say(f"stopped spark (pid {svc.pid}), which this run started")


@functools.cache
def ipc_kernel_manager() -> type:
    """A kernel manager whose kernel talks over unix sockets, not loopback TCP.

    The kernel is local anyway; IPC keeps its traffic off the network stack and spares every
    run ipykernel's "running over TCP without encryption" warning. The sockets live in the
    temp folder under a random prefix and are removed at kernel shutdown.
    """
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            return str(Path(tempfile.gettempdir()) / f"mdk-kernel-{uuid.uuid4().hex[:12]}")

    return IPCKernelManager


def run_notebooks(
    paths: Iterable[Path],
    params: Mapping[str, Any] | None = None,
    out_dir: Path | None = None,
    kernel_name: str = "python3",
    progress: ProgressFn | None = None,
    from_cli: bool = False,
    report: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """Execute notebooks in order with papermill; a failure does not stop the rest.

    Args:
        paths: the notebooks (see :func:`notebook_paths`).
        params: parameters; each notebook gets those it declares (see :func:`plan`).
        out_dir: where executed notebooks and ``summary.json`` go; defaults to
            ``$MDK_HOME/runs/<YYYYmmdd-HHMMSS>/``.
        kernel_name: the Jupyter kernel to run them with.
        progress: called before and after each notebook (see :data:`ProgressFn`).
        from_cli: parameter values are command-line strings (see :func:`parse_value`).
        report: told, in one line each, about the Spark the run shares (:func:`shared_spark`).

    Returns:
        One :class:`RunResult` per notebook, also written to ``summary.json``.

    Raises:
        ParameterError: a parameter is unknown or mistyped; nothing has run.
    """

    params = dict(params or {})
    per_notebook = plan(list(paths), params, from_cli=from_cli)
    now = datetime.now()
    if out_dir is None:
        base = mdk_home() / "runs" / now.strftime("%Y%m%d-%H%M%S")
        out_dir, n = base, 1
        while out_dir.exists():  # two runs in the same second get separate folders
            n += 1
            out_dir = base.with_name(f"{base.name}-{n}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = now.isoformat(timespec="seconds")
    results: list[RunResult] = []
    with shared_spark(per_notebook, report):
        for path, nb_params in per_notebook.items():
            results.append(_run_one(path, nb_params, out_dir, kernel_name, progress))
            _write_summary(out_dir, started, per_notebook, results)
            if progress:
                progress("end", path, results[-1])
    return results


def _run_one(
    path: Path,
    nb_params: dict[str, Any],
    out_dir: Path,
    kernel_name: str,
    progress: ProgressFn | None,
) -> RunResult:
    """Execute one notebook into ``out_dir`` (or skip it); never raises for a failed cell."""
    import papermill

    output = out_dir / path.name
    reason = skip_reason(path, nb_params)
    if reason is not None:
        return RunResult(path.name, "skipped", 0.0, output, reason)
    if progress:
        progress("start", path, None)
    t0 = time.perf_counter()
    error = None
    try:
        with _kernel_env(QUIET_ENV):
            papermill.execute_notebook(
                str(path),
                str(output),
                parameters=nb_params,
                kernel_name=kernel_name,
                progress_bar=False,
                cwd=str(repo_root()),
                kernel_manager_class=ipc_kernel_manager(),
            )
    except Exception as exc:  # PapermillExecutionError, a dead kernel, ...
        error = _one_line(exc)
    seconds = time.perf_counter() - t0
    pictures = tuple(save_pictures(output, out_dir))  # a failed run keeps its pictures too
    return RunResult(path.name, "failed" if error else "ok", seconds, output, error, pictures)
