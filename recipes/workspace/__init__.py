"""The local workspace double: what MLflow's Databricks clients call, on one loopback host.

So far it serves the Unity Catalog model registry (``databricks-uc``) and passes MLflow's
``databricks`` tracking calls through to a real ``mlflow server``:

* :mod:`.app` — ``create_app(home, tracking_url)``, the ASGI app;
* :mod:`.uc_registry` — the ``/api/2.0/mlflow/unity-catalog/...`` routes, over
  :mod:`.uc_store` (models, versions, aliases, tags under ``<home>/uc``) and
  :mod:`.uc_rules` (UC's checks: three-level names, aliases, search filters);
* :mod:`.files` — model version files: the Files API and presigned URLs;
* :mod:`.tracking_proxy` — ``/api/2.0/mlflow/...`` forwarded to the tracking server;
* :mod:`.request_log` — the bearer-token check and the log of every request;
* ``python -m recipes.workspace`` — run it in the foreground.

Like the serving endpoint it sits beside the verbs and imports only infrastructure (never
``recipes.tooling``, the verbs or widgets; import-linter checks it). Importing this package
has no side effects.
"""
