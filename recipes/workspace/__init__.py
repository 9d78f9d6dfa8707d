"""The local workspace double: what MLflow's Databricks clients call, on one loopback host.

It serves the Unity Catalog model registry (``databricks-uc``), passes MLflow's
``databricks`` tracking calls through to a real ``mlflow server`` and the serving-endpoints
and quality-monitors APIs to the kit's serving endpoint; ``mdk workspace up`` starts it with
all its parts and a Spark Connect server:

* :mod:`.app` — ``create_app(home, tracking_url, serving_url=...)``, the ASGI app (the one
  loopback host clients see);
* :mod:`.uc_registry` — the ``/api/2.0/mlflow/unity-catalog/...`` routes, over
  :mod:`.uc_store` (models, versions, aliases, tags under ``<home>/uc``) and
  :mod:`.uc_rules` (UC's checks: three-level names, aliases, search filters);
* :mod:`.files` — model version files: the Files API and presigned URLs;
* :mod:`.proxy` — ``/api/2.0/mlflow/...`` and the run artifacts forwarded to the tracking
  server, the serving APIs to the serving endpoint;
* :mod:`.request_log` — the bearer-token check and the log of every request;
* :mod:`.services` — ``mdk workspace up|down|status|env``: the tracking server, the serving
  endpoint, a Spark Connect server and the double, as background processes under
  ``$MDK_HOME/workspace``;
* ``python -m recipes.workspace`` — run the double in the foreground.

Like the serving endpoint it sits beside the verbs and imports only infrastructure (never
``recipes.tooling``, the verbs or widgets; import-linter checks it). Importing this package
has no side effects.
"""
