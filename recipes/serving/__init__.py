"""Model Serving, the client side the notebooks call: on the local endpoint and a workspace.

* :mod:`.client` — the databricks-sdk ``WorkspaceClient`` and a plain HTTP connection for
  either target (locally the ``serving`` service of :mod:`recipes.stack`, with the token of
  :mod:`recipes.auth`);
* :mod:`.deploy`, :mod:`.traffic`, :mod:`.probe` — what the notebooks call.

The local server itself is :mod:`recipes.endpoint`; this package never imports it.
Importing this package has no side effects.
"""
