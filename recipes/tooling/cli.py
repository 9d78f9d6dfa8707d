"""The ``mdk`` command: a thin typer layer over :mod:`recipes.stack`, :mod:`recipes.tooling.runner`
and :mod:`recipes.tooling.doctor`.

Every :class:`~recipes.errors.KitError` is printed as ``error: <message>`` with exit code 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from recipes.errors import KitError, ParameterError

app = typer.Typer(
    name="mdk",
    help="Model Deployment Kit: the local stack, notebook runs and a machine check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _kit_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print a KitError as one ``error:`` line and exit 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KitError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain left-aligned text table."""
    cells = [list(map(str, headers)), *[["" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


@app.command()
@_kit_errors
def up(
    port: Annotated[
        int | None, typer.Option(help="Port for mlflow server (default: free).")
    ] = None,
    serving_port: Annotated[
        int | None, typer.Option(help="Port for the serving endpoint (default: free).")
    ] = None,
) -> None:
    """Start the local MLflow tracking server and the serving endpoint in the background."""
    from recipes import stack
    from recipes.target import resolve

    svc = stack.start_mlflow_server(port=port)
    typer.echo(f"mlflow server running at {svc.url} (pid {svc.pid})")
    typer.echo(f"logs: {stack.log_path('mlflow')}")
    serving = stack.start("serving", port=serving_port)
    typer.echo(f"serving endpoint running at {serving.url} (pid {serving.pid})")
    typer.echo(f"  models from {resolve().tracking_uri}; token: `mdk token`")
    typer.echo(f"  logs: {stack.log_path('serving')}")
    typer.echo(f"export MLFLOW_TRACKING_URI={svc.url}")


@app.command()
@_kit_errors
def down() -> None:
    """Stop the background services that `mdk up` started."""
    from recipes import stack

    for name in reversed(stack.SERVICES):
        pid = stack.stop(name)
        typer.echo(f"{name}: stopped pid {pid}" if pid else f"{name}: not running")


@app.command()
@_kit_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    idle_seconds: Annotated[
        float | None,
        typer.Option(help="Scale-to-zero idle time (default: MDK_SERVING_IDLE_SECONDS or 300)."),
    ] = None,
) -> None:
    """Run the local Model Serving endpoint in the foreground (Ctrl-C stops it)."""
    from recipes.endpoint.server import serve as serve_

    typer.echo(f"serving endpoint on http://{host}:{port}; Ctrl-C stops it. In another shell:")
    typer.echo(f"  export MDK_SERVING_URL=http://{host}:{port}  # token: `mdk token`")
    serve_(host, port, idle_seconds=idle_seconds)


@app.command()
@_kit_errors
def token() -> None:
    """Print the local serving endpoint's bearer token (kept in MDK_HOME, mode 0600)."""
    from recipes.auth import token as token_

    typer.echo(token_())


@app.command()
@_kit_errors
def status() -> None:
    """Show the background services and whether they are healthy."""
    from recipes import stack

    rows = [
        (s.name, s.pid, s.port, s.url, "yes" if s.alive else "no", "yes" if s.healthy else "no")
        for s in stack.status()
    ]
    typer.echo(table(("service", "pid", "port", "url", "alive", "healthy"), rows))


def split_run_args(args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``run``'s arguments into notebook names and ``-p NAME VALUE`` pairs."""
    names: list[str] = []
    params: dict[str, str] = {}
    it = iter(args)
    for token in it:
        if token in ("-p", "--param", "--parameters"):
            pair = [next(it, None), next(it, None)]
            if None in pair:
                raise ParameterError(f"{token} needs a name and a value: e.g. -p n_rows 5000.")
            params[pair[0]] = pair[1]
        elif token.startswith("-"):
            raise ParameterError(f"Unknown option {token!r}: see mdk run --help.")
        else:
            names.append(token)
    return names, params


def open_in_browser(page: Path) -> bool:
    """Open a file in the default browser when there is one; otherwise say how to open it."""
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        typer.echo(f"no browser found here: open {page} on a machine with one")
        return False
    return webbrowser.open(page.resolve().as_uri())


@app.command(context_settings={"ignore_unknown_options": True})
@_kit_errors
def run(
    args: Annotated[
        list[str] | None, typer.Argument(metavar="[NOTEBOOK]... [-p NAME VALUE]...")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: MDK_HOME/runs/<time>).")
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open report.html in the default browser afterwards.")
    ] = False,
) -> None:
    """Run notebooks with papermill (all of notebooks/NN_*.ipynb by default).

    NOTEBOOK is 01_register, 01, 01_register.ipynb or a path. -p NAME VALUE sets a
    parameter in every selected notebook that declares it; all are checked before any run.
    The run folder gets report.html: a table of the runs, each executed notebook as HTML,
    and any failing cell at the top.
    """
    from recipes.tooling import report as report_
    from recipes.tooling import runner

    names, raw = split_run_args(args or [])
    paths = runner.notebook_paths(names)

    def progress(event: str, path: Path, result: runner.RunResult | None) -> None:
        if result is None:
            typer.echo(f"▶ {path.name} ...")
        elif result.status == "skipped":
            typer.echo(f"⏭ {path.name} skipped: {result.error}")
        else:
            mark = "✓" if result.status == "ok" else "✗"
            tail = f": {result.error}" if result.error else ""
            typer.echo(f"{mark} {path.name} {result.status} in {result.seconds:.1f}s{tail}")

    from recipes import stack

    # the notebooks may start the serving endpoint: stop it afterwards unless it was running
    with stack.stopping_new_services(report=typer.echo):
        results = runner.run_notebooks(
            paths, raw, out_dir=out, progress=progress, from_cli=True, report=typer.echo
        )
    rows = [
        (r.notebook, r.status, f"{r.seconds:.1f}", r.output if r.status != "skipped" else "-")
        for r in results
    ]
    typer.echo("\n" + table(("notebook", "status", "seconds", "output"), rows))
    page = report_.write_report(results[0].output.parent)
    typer.echo(f"report: {page}")
    if open_:
        open_in_browser(page)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
@_kit_errors
def doctor() -> None:
    """Check Python, Java, packages, the tracking server and ports; print the fix for each gap."""
    from recipes.tooling import doctor as checks_

    checks = checks_.run_checks()
    for c in checks:
        note = "" if c.ok or c.required else " (informational)"
        typer.echo(f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}{note}")
        if not c.ok and c.fix:
            typer.echo(f"    fix: {c.fix}")
    if checks_.required_failures(checks):
        raise typer.Exit(1)


@app.command()
@_kit_errors
def golden(
    notebooks: Annotated[list[str] | None, typer.Argument(metavar="[NOTEBOOK]...")] = None,
) -> None:
    """Regenerate 07's question cells from the bank, then re-run notebooks in a fresh embedded
    store and rewrite only their golden (nbval) cells."""
    from recipes.tooling import golden as golden_
    from recipes.tooling import runner

    paths = runner.notebook_paths(notebooks or [])
    typer.echo(f"re-executing {len(paths)} notebook(s) in a fresh MDK_HOME ...")
    for path in golden_.refresh(paths):
        typer.echo(f"✓ {path.name}: golden outputs rewritten, all others stripped")


def _interactive() -> bool:
    """Whether a person can answer a confirmation (stdin and stdout are terminals)."""
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
@_kit_errors
def teardown(
    target: Annotated[
        str | None, typer.Option(help="databricks, or local (default: MDK_TARGET, else local).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """List what the kit made on a workspace (tagged created_by=mdk), then delete it."""
    from recipes import workspace_names
    from recipes.target import resolve
    from recipes.tooling import teardown as td

    t = resolve(target)
    if t.is_local:
        typer.echo(
            f"locally everything lives under MDK_HOME ({t.home}): `mdk down` stops the "
            "servers, then `make clean` (or removing that folder) deletes the rest."
        )
        return
    where = workspace_names.for_target(t.name)
    w, client = td.clients(t)
    typer.echo(
        f"looking in {w.config.host}: endpoints, tables of {where.catalog}.{where.schema} "
        f"and {where.catalog}.{workspace_names.FEATURE_SCHEMA}, models of {where.catalog}.{where.schema}"
    )
    plan = td.find(w, client, where, unity_catalog=t.unity_catalog)
    for line in plan.kept:
        typer.echo(line)
    if not plan.items:
        typer.echo(f"nothing carries {td.TAGGED}: nothing to delete.")
        return
    typer.echo(table(("kind", "name", "why"), plan.rows()))
    if not yes:
        if not _interactive():
            typer.echo(
                f"nothing deleted: no terminal to confirm on; rerun with --yes to delete "
                f"these {len(plan.items)}."
            )
            raise typer.Exit(1)
        if not typer.confirm(f"Delete these {len(plan.items)}?", default=False):
            typer.echo("nothing deleted.")
            raise typer.Exit(1)

    def progress(o: td.Outcome) -> None:
        typer.echo(
            f"deleted {o.item.kind} {o.item.label}"
            if o.error is None
            else f"failed {o.item.kind} {o.item.label}: {o.error}"
        )

    failed = [o for o in td.delete(w, client, plan, progress) if o.error is not None]
    typer.echo(f"{len(plan.items) - len(failed)} deleted, {len(failed)} failed.")
    if failed:
        raise typer.Exit(1)


workspace_app = typer.Typer(
    name="workspace",
    help="The local workspace double: a Databricks workspace's APIs on one loopback host.",
    no_args_is_help=True,
)
app.add_typer(workspace_app)


@workspace_app.command("up")
@_kit_errors
def workspace_up(
    port: Annotated[
        int | None, typer.Option(help="The double's port (default: its last one, else free).")
    ] = None,
    spark: Annotated[
        bool, typer.Option(help="Also start a Spark Connect server for Databricks Connect.")
    ] = True,
) -> None:
    """Start the workspace double (tracking server, serving endpoint, Spark Connect, one host)."""
    from recipes.workspace import services

    ws = services.up(port=port, spark=spark)
    typer.echo(f"workspace double at {ws.host} (state in {ws.home})")
    _workspace_table(services.status())
    typer.echo(
        'use it: eval "$(mdk workspace env)"; then MDK_TARGET=databricks .venv-dbx/bin/mdk run'
    )


@workspace_app.command("down")
@_kit_errors
def workspace_down() -> None:
    """Stop every process of the workspace double, by pid."""
    from recipes.workspace import services

    for name, pid in services.down().items():
        typer.echo(f"{name}: stopped pid {pid}" if pid else f"{name}: not running")


@workspace_app.command("status")
@_kit_errors
def workspace_status() -> None:
    """Show the workspace double's processes and whether they are healthy."""
    from recipes.workspace import services

    _workspace_table(services.status())


@workspace_app.command("env")
@_kit_errors
def workspace_env() -> None:
    """Print the shell lines that point Databricks clients at the double: eval "$(mdk workspace env)"."""
    from recipes.workspace import services

    typer.echo(services.export_lines(services.env()))


def _workspace_table(rows) -> None:
    yes = lambda flag: "yes" if flag else "no"  # noqa: E731
    typer.echo(
        table(
            ("part", "pid", "port", "url", "alive", "healthy"),
            [(r.name, r.pid, r.port, r.url, yes(r.alive), yes(r.healthy)) for r in rows],
        )
    )
