"""recipes.tooling.runner: notebook selection, CLI values, the parameter contract and real papermill runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from recipes.errors import NotFoundError, ParameterError
from recipes.tooling import runner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "notebooks"
TYPED = FIXTURES / "typed_parameters.ipynb"
BROKEN = FIXTURES / "broken1.ipynb"


@pytest.fixture
def numbered(tmp_path) -> Path:
    """A notebooks folder holding 02_beta, 01_alpha and a non-numbered notebook."""
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(TYPED, root / "02_beta.ipynb")
    shutil.copy(TYPED, root / "01_alpha.ipynb")
    shutil.copy(TYPED, root / "scratch.ipynb")
    return root


def test_notebook_paths_default_is_numbered_notebooks_in_order(numbered):
    assert [p.name for p in runner.notebook_paths(None, root=numbered)] == [
        "01_alpha.ipynb",
        "02_beta.ipynb",
    ]


@pytest.mark.parametrize("name", ["01_alpha", "01", "01_alpha.ipynb"])
def test_notebook_paths_accepts_stem_number_or_file_name(numbered, name):
    assert runner.notebook_paths([name], root=numbered) == [numbered / "01_alpha.ipynb"]


def test_notebook_paths_accepts_a_path_outside_the_folder(numbered):
    assert runner.notebook_paths([str(TYPED)], root=numbered) == [TYPED]


def test_notebook_paths_unknown_name_lists_the_available_ones(numbered):
    with pytest.raises(NotFoundError, match="available are 01_alpha, 02_beta"):
        runner.notebook_paths(["03"], root=numbered)


def test_notebook_paths_empty_folder_is_an_error(tmp_path):
    with pytest.raises(NotFoundError, match="No notebooks"):
        runner.notebook_paths([], root=tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("False", False),
        ("42", 42),
        ("-3", -3),
        ("0.5", 0.5),
        ("1e3", 1000.0),
        ("abc", "abc"),
        ("1.2.3", "1.2.3"),
        ("", ""),
    ],
)
def test_parse_value_infers_bool_int_float_else_str(text, expected):
    value = runner.parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_parse_value_with_a_declared_kind():
    assert runner.parse_value("2024", "str") == "2024"
    assert runner.parse_value("1", "float") == 1.0
    assert isinstance(runner.parse_value("1", "float"), float)
    with pytest.raises(ParameterError, match="'1.5' is not an int"):
        runner.parse_value("1.5", "int")


def test_check_run_parameters_accepts_declared_names_and_widens_int_to_float():
    got = runner.check_run_parameters(TYPED, {"n": 3, "ratio": 1, "flag": True})
    assert got == {"n": 3, "ratio": 1.0, "flag": True}
    assert isinstance(got["ratio"], float)


def test_check_run_parameters_rejects_an_unknown_name_in_one_line():
    with pytest.raises(ParameterError) as info:
        runner.check_run_parameters(TYPED, {"nn": 3})
    msg = str(info.value)
    assert msg.startswith("typed_parameters.ipynb has no parameter 'nn'")
    assert msg.endswith("its parameters are n, name, ratio, flag")
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("name", "value"), [("n", "3"), ("n", 1.5), ("n", True), ("flag", 1), ("name", 5)]
)
def test_check_run_parameters_rejects_a_value_of_the_wrong_type(name, value):
    with pytest.raises(ParameterError, match=f"parameter '{name}' is "):
        runner.check_run_parameters(TYPED, {name: value})


def test_check_run_parameters_from_cli_reads_text_with_the_declared_type():
    got = runner.check_run_parameters(TYPED, {"n": "7", "name": "2024", "flag": "true"}, True)
    assert got == {"n": 7, "name": "2024", "flag": True}
    with pytest.raises(ParameterError, match="'n' is int, got str 'x'"):
        runner.check_run_parameters(TYPED, {"n": "x"}, from_cli=True)


def test_plan_gives_each_notebook_only_what_it_declares():
    got = runner.plan([TYPED, BROKEN], {"name": "y", "n": 2})
    assert got == {TYPED: {"name": "y", "n": 2}, BROKEN: {"n": 2}}
    with pytest.raises(ParameterError, match="selected notebooks have no parameter 'zz'"):
        runner.plan([TYPED, BROKEN], {"zz": 1})


@pytest.mark.notebook  # starts kernels
def test_run_notebooks_ok_and_failed_keep_going_and_write_summary(tmp_path, mdk_home):
    seen = []
    results = runner.run_notebooks(
        [BROKEN, TYPED],
        {"n": "5", "name": "out", "reason": "for the test"},
        out_dir=tmp_path / "run",
        progress=lambda event, path, result: seen.append((event, path.name)),
        from_cli=True,
    )
    broken, typed = results
    assert (broken.status, typed.status) == ("failed", "ok")
    assert broken.error == "ValueError: broken for the test n=5"
    assert typed.error is None and typed.seconds > 0
    assert broken.output.exists() and typed.output == tmp_path / "run" / TYPED.name
    assert json.loads((mdk_home / "out.json").read_text()) == {
        "n": 5,
        "name": "out",
        "ratio": 0.5,
        "flag": False,
    }
    assert seen == [
        ("start", BROKEN.name),
        ("end", BROKEN.name),
        ("start", TYPED.name),
        ("end", TYPED.name),
    ]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [(r["notebook"], r["status"], r["parameters"]) for r in summary["results"]] == [
        ("broken1.ipynb", "failed", {"n": 5, "reason": "for the test"}),
        ("typed_parameters.ipynb", "ok", {"n": 5, "name": "out"}),
    ]
    assert summary["results"][0]["error"] == broken.error


@pytest.mark.notebook  # starts kernels
def test_run_notebooks_defaults_to_mdk_home_runs(mdk_home):
    (first,) = runner.run_notebooks([TYPED], {"name": "default"})
    (second,) = runner.run_notebooks([TYPED], {"name": "default"})
    assert first.status == second.status == "ok"
    assert first.output.parent.parent == mdk_home / "runs"
    assert (first.output.parent / "summary.json").exists()
    assert second.output.parent != first.output.parent and second.output.exists()


@pytest.mark.notebook  # starts kernels
def test_kernel_talks_over_ipc_and_leaves_no_sockets(mdk_home, capfd, monkeypatch):
    import shutil
    import tempfile

    # a private temp folder (short: a socket path has a ~107 byte limit), so kernels that
    # other tests or workers start at the same time cannot show up here
    private = Path(tempfile.mkdtemp(prefix="mdk-ipc-"))
    try:
        with monkeypatch.context() as patch:
            patch.setattr(tempfile, "tempdir", str(private))
            manager = runner.ipc_kernel_manager()()
            assert manager.transport == "ipc" and manager.ip.startswith(str(private))
            (result,) = runner.run_notebooks([TYPED], {"name": "ipc"})
        assert result.status == "ok"
        assert "without encryption" not in capfd.readouterr().err  # ipykernel's TCP warning
        assert list(private.glob("mdk-kernel-*")) == []
    finally:
        shutil.rmtree(private, ignore_errors=True)


def test_run_notebooks_checks_parameters_before_running_any(tmp_path):
    with pytest.raises(ParameterError):
        runner.run_notebooks([TYPED], {"n": "x"}, out_dir=tmp_path / "run", from_cli=True)
    assert not (tmp_path / "run").exists()


PICTURES = FIXTURES / "pictures.ipynb"


@pytest.mark.notebook  # starts kernels
def test_run_notebooks_saves_every_picture_as_a_png(mdk_home, monkeypatch):
    import matplotlib.image
    import nbformat

    from recipes.pictures import PNG_MAGIC, png_size
    from tests.notebooks.nbtools import noise, png_outputs

    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    (result,) = runner.run_notebooks([PICTURES], {"width": "4", "label": "my line"}, from_cli=True)
    assert result.status == "ok", result.error
    run_dir = result.output.parent
    assert run_dir.parent == mdk_home / "runs"
    nb = nbformat.read(result.output, as_version=4)
    assert noise(nb) == []
    # one picture in the first figure cell, two in the loop cell (papermill adds a cell)
    cells = [i for i, c in enumerate(nb.cells) if "show(" in c.source]
    first, loop = cells
    names = [p.name for p in result.pictures]
    assert names == [
        f"pictures-cell{first:02d}-1-my-line.png",
        f"pictures-cell{loop:02d}-1.png",
        f"pictures-cell{loop:02d}-2.png",
    ]
    sizes = []
    for path, embedded in zip(result.pictures, png_outputs(nb), strict=True):
        data = path.read_bytes()
        assert path.parent == run_dir and data == embedded
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
        sizes.append(png_size(data))
        assert matplotlib.image.imread(path).shape[:2] == sizes[-1][::-1]
    assert sizes == [(400, 200), (200, 200), (200, 200)]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["results"][0]["pictures"] == names
    # the kernel ran with MLflow's progress widgets off; this process's environment is as it was
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "progress bar: false" in text
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ


def test_save_pictures_without_pictures_or_notebook(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert runner.save_pictures(TYPED, out) == []
    assert runner.save_pictures(out / "missing.ipynb") == []
    assert list(out.iterdir()) == []


@pytest.mark.notebook  # starts kernels
def test_a_failed_run_records_no_pictures_of_its_own(tmp_path):
    (broken,) = runner.run_notebooks([BROKEN], {"reason": "x"}, out_dir=tmp_path / "run")
    assert broken.status == "failed" and broken.pictures == ()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["results"][0]["pictures"] == []


def _local_only(folder: Path) -> Path:
    """A notebook that runs on the local target only (as 07 does) and leaves a file."""
    import nbformat

    params = nbformat.v4.new_code_cell('target: str = "local"  # where to run')
    params.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(
        'import os, pathlib\n(pathlib.Path(os.environ["MDK_HOME"]) / "ran").write_text(target)'
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# local only"), params, work]
    )
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "mdk": {"targets": ["local"]},
    }
    path = folder / "07_local_only.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_local_only_notebook_is_skipped_on_databricks_with_one_line(tmp_path, mdk_home):
    path = _local_only(tmp_path)
    seen = []
    (result,) = runner.run_notebooks(
        [path],
        {"target": "databricks"},
        out_dir=tmp_path / "run",
        progress=lambda event, p, r: seen.append((event, r.status if r else None)),
    )
    assert result.status == "skipped" and result.seconds == 0.0
    assert "runs on the local target only, not 'databricks'" in result.error
    assert "\n" not in result.error and seen == [("end", "skipped")]
    assert not result.output.exists() and not (mdk_home / "ran").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["results"][0]["status"] == "skipped"


def test_the_target_comes_from_the_parameter_else_mdk_target(tmp_path, monkeypatch):
    path = _local_only(tmp_path)
    assert runner.skip_reason(path, {}) is None
    assert runner.skip_reason(path, {"target": "local"}) is None
    monkeypatch.setenv("MDK_TARGET", "databricks")
    assert "not 'databricks'" in runner.skip_reason(path, {})
    assert runner.skip_reason(path, {"target": "local"}) is None
    assert runner.skip_reason(TYPED, {}) is None  # no targets in its metadata: runs anywhere
    exam = runner.notebooks_dir() / "07_exam_practice.ipynb"
    assert runner.skip_reason(exam, {}).startswith("07_exam_practice runs on the local target only")


def test_a_local_only_notebook_runs_locally(tmp_path, mdk_home):
    (result,) = runner.run_notebooks([_local_only(tmp_path)], {}, out_dir=tmp_path / "run")
    assert result.status == "ok" and (mdk_home / "ran").read_text() == "local"


def test_mdk_target_is_every_notebooks_target_unless_a_parameter_says(monkeypatch):
    paths = [runner.notebooks_dir() / "01_register.ipynb", TYPED]
    monkeypatch.delenv("MDK_TARGET")
    assert "target" not in runner.plan(paths, {})[paths[0]]  # the notebook's "local"
    monkeypatch.setenv("MDK_TARGET", " Databricks ")
    planned = runner.plan(paths, {})
    assert planned[paths[0]]["target"] == "databricks"
    assert "target" not in planned[TYPED]  # declares no target: gets none
    assert runner.plan(paths, {"target": "local"})[paths[0]]["target"] == "local"
    monkeypatch.setenv("MDK_TARGET", "azure")
    with pytest.raises(ParameterError, match="Unknown target 'azure'"):
        runner.plan(paths, {})


def test_on_databricks_the_plan_gives_each_notebook_the_workspace_names(monkeypatch):
    nbs = {
        n: runner.notebooks_dir() / f"{n}.ipynb"
        for n in ("01_register", "04_ab_split", "05_batch_score")
    }
    monkeypatch.setenv("MDK_TARGET", "databricks")
    monkeypatch.setenv("MDK_CATALOG", "dev")
    monkeypatch.setenv("MDK_SCHEMA", "churn")
    planned = runner.plan(list(nbs.values()), {})
    assert planned[nbs["01_register"]]["model_name"] == "dev.churn.churn_predictor"
    assert planned[nbs["04_ab_split"]]["catalog"] == "dev"
    assert planned[nbs["04_ab_split"]]["schema"] == "churn"
    assert (
        planned[nbs["05_batch_score"]]["model_uri"] == "models:/dev.churn.churn_predictor@champion"
    )
    assert planned[nbs["05_batch_score"]]["output_table"] == "dev.churn.churn_scores"
    # a -p value always wins, and locally nothing is injected
    given = runner.plan(list(nbs.values()), {"model_name": "a.b.c"})
    assert given[nbs["01_register"]]["model_name"] == "a.b.c"
    local = runner.plan(list(nbs.values()), {"target": "local"})
    assert local[nbs["01_register"]] == {"target": "local"}


def _notebook(path: Path, *code: str) -> Path:
    import nbformat

    cells = [nbformat.v4.new_code_cell('target: str = "local"', metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(c) for c in code]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), path)
    return path


def test_uses_spark_reads_the_code_cells(tmp_path):
    assert runner.uses_spark(_notebook(tmp_path / "a.ipynb", "df = spark.table('t')"))
    assert not runner.uses_spark(_notebook(tmp_path / "b.ipynb", "spark_url = 1  # no session"))


def test_a_run_shares_one_spark_between_its_kernels_and_stops_it(tmp_path, mdk_home, monkeypatch):
    """A local notebook that names ``spark`` gets the ``spark`` service's URL in
    ``MDK_SPARK_REMOTE`` (the service started once for the run, stopped after it); the
    variable is gone from this process afterwards."""
    from recipes import stack

    monkeypatch.delenv("MDK_SPARK_REMOTE", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    calls = []
    fake = stack.Service("spark", 4242, 1, "sc://127.0.0.1:1", "now", ["x"])
    monkeypatch.setattr(
        runner.stack,
        "service_status",
        lambda *a: stack.ServiceStatus("spark", None, None, None, False, False),
    )
    monkeypatch.setattr(
        runner.stack, "start", lambda name, **kw: calls.append(("start", name, kw["home"])) or fake
    )
    monkeypatch.setattr(
        runner.stack, "stop", lambda name, home: calls.append(("stop", name, home)) or 4242
    )
    first = _notebook(
        tmp_path / "01_a.ipynb",
        "import os\nspark = os.environ.get('MDK_SPARK_REMOTE')\nprint(spark)",
    )
    second = _notebook(
        tmp_path / "02_b.ipynb", "import os\nprint(os.environ.get('MDK_SPARK_REMOTE'))"
    )
    said = []
    results = runner.run_notebooks(
        [first, second], {}, out_dir=tmp_path / "run", report=said.append
    )
    assert [r.status for r in results] == ["ok", "ok"]
    for r in results:
        assert "sc://127.0.0.1:1" in json.dumps(
            json.loads(r.output.read_text())["cells"][-1]["outputs"]
        )
    assert calls == [("start", "spark", mdk_home), ("stop", "spark", mdk_home)]
    assert said[0].startswith("Spark: one local Spark Connect server") and "pid 4242" in said[0]
    assert "MDK_SPARK_REMOTE" not in os.environ


def test_no_shared_spark_for_the_users_own_server_or_another_target(tmp_path, monkeypatch):
    notebook = _notebook(tmp_path / "01_a.ipynb", "spark.range(1)")
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.delenv("MDK_SPARK_REMOTE", raising=False)
    assert runner._needs_shared_spark({notebook: {}})
    assert not runner._needs_shared_spark({notebook: {"target": "databricks"}})
    plain = _notebook(tmp_path / "02_b.ipynb", "x = 1")
    assert not runner._needs_shared_spark({plain: {}})
    monkeypatch.setenv("MDK_SPARK_REMOTE", "sc://127.0.0.1:9")
    assert not runner._needs_shared_spark({notebook: {}})


def test_when_the_shared_spark_cannot_start_each_kernel_starts_its_own(
    tmp_path, mdk_home, monkeypatch
):
    from recipes import stack

    monkeypatch.delenv("MDK_SPARK_REMOTE", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)

    def refuse(name, **kw):
        raise stack.ServiceError("spark server exited with code 1; see spark.log: no java")

    monkeypatch.setattr(runner.stack, "start", refuse)
    notebook = _notebook(tmp_path / "01_a.ipynb", "spark = 1")
    said = []
    with runner.shared_spark({notebook: {}}, said.append) as svc:
        assert svc is None and "MDK_SPARK_REMOTE" not in os.environ
    assert said == [
        "each notebook starts its own Spark: the shared one did not start "
        "(spark server exited with code 1; see spark.log: no java)"
    ]
