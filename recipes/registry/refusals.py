"""What Unity Catalog's registry refuses, shown in one line instead of a traceback.

A notebook types the exam's calls as a learner would, on every target. Some of them exist
only in the workspace (and local) registry: stages, stage URIs, ``filter_string`` on
``search_registered_models``, tag filters on ``search_model_versions``. On Unity Catalog
MLflow's own client (or the server) refuses them. Wrapped in :func:`unity_catalog_refuses`,
such a call runs unchanged where it is supported; on Unity Catalog the refusal is printed
as one line with the alternative, and the notebook goes on::

    with registry.unity_catalog_refuses(instead="aliases: client.set_registered_model_alias(...)"):
        client.transition_model_version_stage(name=model_name, version=2, stage="Production")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from recipes.registry.models import _unity_catalog

#: What MLflow's Unity Catalog client and server say when they refuse a call.
_REFUSALS = (
    "unsupported for models in the unity catalog",
    "unsupported in unity catalog",
    "not supported in unity catalog",
    "not supported for unity catalog",
)


def refusal(exc: BaseException) -> str | None:
    """The first sentence of ``exc`` if it is Unity Catalog refusing a call, else None."""
    from mlflow.exceptions import MlflowException

    if not isinstance(exc, MlflowException):
        return None
    text = " ".join(str(exc.message).split())
    if not any(marker in text.lower() for marker in _REFUSALS):
        return None
    first, dot, _ = text.partition(". ")
    return first + (dot.strip() or "")


@contextlib.contextmanager
def unity_catalog_refuses(instead: str) -> Iterator[None]:
    """Run the block; on a Unity Catalog registry, show its refusal in one line and go on.

    Off Unity Catalog nothing is caught. On Unity Catalog only a refusal is caught (see
    :func:`refusal`); any other error is raised as it is. The rest of the block after the
    refused call does not run.

    Args:
        instead: what to use on Unity Catalog, printed after the refusal.
    """
    if not _unity_catalog():
        yield
        return
    try:
        yield
    except Exception as exc:
        line = refusal(exc)
        if line is None:
            raise
        print(f"Unity Catalog refuses this: {line} Instead: {instead}")
