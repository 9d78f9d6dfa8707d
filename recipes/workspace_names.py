"""One setting for names on a workspace: the catalog, the schema and the experiment folder.

On ``target="databricks"`` every notebook's default names come from three variables:

- ``MDK_CATALOG`` (default ``main``) and ``MDK_SCHEMA`` (default ``mdk``): the model is
  ``<catalog>.<schema>.churn_predictor`` and every table the kit makes lives in
  ``<catalog>.<schema>`` (predictions, features, inference and metric tables);
- ``MDK_EXPERIMENT_DIR`` (default ``/Shared/mdk``): the workspace folder of the experiment.

Locally nothing changes: the notebooks' own defaults stand (``churn-predictor``,
``main.predictions.churn_scores``, ``main.mdk`` for inference tables). The notebooks do not
call anything here: ``MDK_TARGET=databricks mdk run`` passes each notebook the workspace's
names as parameters (:func:`recipes.tooling.runner.workspace_names`, through
:func:`apply`), and papermill's injected cell shows them. :func:`apply` replaces only the
values that are still the notebook's local default, so a parameter passed with ``-p``
always wins. Nothing here imports MLflow or reads a workspace.

:data:`CREATED_BY` is the tag on everything the kit creates on a workspace (endpoints,
registered models and versions, tables); ``mdk teardown`` deletes what carries it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recipes.errors import ParameterError

CATALOG_VAR, SCHEMA_VAR, EXPERIMENT_DIR_VAR = "MDK_CATALOG", "MDK_SCHEMA", "MDK_EXPERIMENT_DIR"
DEFAULT_CATALOG, DEFAULT_SCHEMA, DEFAULT_EXPERIMENT_DIR = "main", "mdk", "/Shared/mdk"
LOCAL_MODEL = "churn-predictor"  # a registry name: hyphens are fine locally
UC_MODEL = "churn_predictor"  # Unity Catalog names are identifiers
FEATURE_SCHEMA = "features"  # 05's feature table: <catalog>.features.churn_customers
#: The one tag the kit puts on what it creates on a workspace (``mdk teardown`` looks for it).
CREATED_BY = ("created_by", "mdk")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: The notebooks' local defaults that the setting replaces on a workspace, by parameter name.
LOCAL_DEFAULTS: dict[str, str] = {
    "model_name": LOCAL_MODEL,
    "model_uri": f"models:/{LOCAL_MODEL}@champion",
    "output_table": "main.predictions.churn_scores",
    "catalog": DEFAULT_CATALOG,
    "schema": DEFAULT_SCHEMA,
}


@dataclass(frozen=True)
class Names:
    """Where the kit's objects go on one target.

    Attributes:
        target: ``"local"`` or ``"databricks"``.
        catalog: the catalog of every table the kit makes (and of the model on UC).
        schema: the schema of every table the kit makes (and of the model on UC).
        experiment_dir: the experiments' folder on a workspace; None locally (flat names).
        model_name: the registered model's default name.
    """

    target: str
    catalog: str
    schema: str
    experiment_dir: str | None
    model_name: str

    def table(self, name: str) -> str:
        """``<catalog>.<schema>.<name>``."""
        return f"{self.catalog}.{self.schema}.{name}"

    def experiment(self, name: str) -> str:
        """The experiment's path: ``name`` locally or when absolute, else under the folder."""
        if self.experiment_dir is None or name.startswith("/"):
            return name
        return f"{self.experiment_dir}/{name}"

    def model_uri(self, ref: str = "@champion") -> str:
        """``models:/<model_name><ref>``, e.g. ``ref="@champion"`` or ``"/3"``."""
        return f"models:/{self.model_name}{ref}"


def _identifier(var: str, default: str, environ: Mapping[str, str]) -> str:
    value = (environ.get(var) or "").strip() or default
    if not _IDENTIFIER.match(value):
        raise ParameterError(
            f"{var}={value!r} is not a Unity Catalog name: use letters, digits and "
            f"underscores, e.g. {var}={default}."
        )
    return value


def experiment_dir(environ: Mapping[str, str] = os.environ) -> str:
    """``MDK_EXPERIMENT_DIR`` (default ``/Shared/mdk``), without a trailing slash.

    Raises:
        ParameterError: it is not an absolute workspace path.
    """
    value = (environ.get(EXPERIMENT_DIR_VAR) or "").strip() or DEFAULT_EXPERIMENT_DIR
    if not value.startswith("/") or value.rstrip("/") == "":
        raise ParameterError(
            f"{EXPERIMENT_DIR_VAR}={value!r} must be an absolute workspace folder, "
            f"e.g. {EXPERIMENT_DIR_VAR}={DEFAULT_EXPERIMENT_DIR} or /Users/<you>/mdk."
        )
    return value.rstrip("/")


def for_target(target: str, environ: Mapping[str, str] = os.environ) -> Names:
    """The default names on ``target`` (``"local"`` or ``"databricks"``).

    Raises:
        ParameterError: on databricks, a setting that is not a valid name.
    """
    if target != "databricks":
        return Names(target, DEFAULT_CATALOG, DEFAULT_SCHEMA, None, LOCAL_MODEL)
    catalog = _identifier(CATALOG_VAR, DEFAULT_CATALOG, environ)
    schema = _identifier(SCHEMA_VAR, DEFAULT_SCHEMA, environ)
    return Names(target, catalog, schema, experiment_dir(environ), f"{catalog}.{schema}.{UC_MODEL}")


def workspace_defaults(names: Names) -> dict[str, str]:
    """What each of :data:`LOCAL_DEFAULTS` becomes under ``names``."""
    return {
        "model_name": names.model_name,
        "model_uri": names.model_uri("@champion"),
        "output_table": names.table("churn_scores"),
        "catalog": names.catalog,
        "schema": names.schema,
    }


def apply(
    params: Mapping[str, Any], target: str, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """``params`` with the local defaults replaced by the target's names.

    Locally ``params`` comes back unchanged. On databricks each parameter of
    :data:`LOCAL_DEFAULTS` that still holds its local default gets the setting's name; any
    other value (one passed with ``-p``) is kept.

    Args:
        params: a notebook's checked parameters (:func:`recipes.params.check_parameters`).
        target: the notebook's ``target`` parameter.
    """
    out = dict(params)
    if target != "databricks":
        return out
    names = workspace_defaults(for_target(target, environ))
    for key, local in LOCAL_DEFAULTS.items():
        if out.get(key) == local:
            out[key] = names[key]
    return out
