"""The local Model Serving endpoint: ``python -m recipes.endpoint`` (what ``mdk up`` starts).

* :mod:`.server` / :mod:`.app` — the FastAPI front speaking the Databricks serving API;
  :mod:`.fastpath` — the ASGI data plane for invocations; :mod:`.asgi` — the bearer check
  and body reader both share;
* :mod:`.endpoints` — endpoint state machine, persistence; :mod:`.routing` — the
  invocation path; :mod:`.params_schema` — a request's ``params`` against the model's;
* :mod:`.entity`, :mod:`.pool`, :mod:`.worker`, :mod:`.protocol`, :mod:`.linear` — model
  workers; :mod:`.zygote` / :mod:`.zygote_client` — the fork server they start from;
* :mod:`.config`, :mod:`.render`, :mod:`.metrics`; :mod:`.gateway` — the AI Gateway
  (inference table, rate limits);
* :mod:`.capture` — the inference-table writer;
* :mod:`.monitors` — Lakehouse Monitoring's quality-monitors API (refreshes run
  ``recipes.monitoring.refresh`` in their own process).

It imports only infrastructure (:mod:`recipes.tables`, :mod:`recipes.target`,
:mod:`recipes.formats`, :mod:`recipes.errors`, :mod:`recipes.auth`, …), never
:mod:`recipes.serving`, :mod:`recipes.monitoring` or pyspark (import-linter checks it).
Importing this package has no side effects.
"""
