"""The local Model Serving endpoint and its thin clients.

* :mod:`.server` / :mod:`.app` — the FastAPI front speaking the Databricks serving API;
* :mod:`.endpoints` — endpoint state machine, persistence, routing, the invocation path;
* :mod:`.entity`, :mod:`.pool`, :mod:`.worker`, :mod:`.protocol` — model workers;
* :mod:`.config`, :mod:`.payload`, :mod:`.render`, :mod:`.apierror`, :mod:`.metrics`;
* :mod:`.capture` — the inference-table writer;
* :mod:`.auth`, :mod:`.client` — the token and the databricks-sdk client for either target;
* :mod:`.deploy`, :mod:`.traffic`, :mod:`.probe` — what the notebooks call.

Importing this package has no side effects.
"""
