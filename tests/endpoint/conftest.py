"""The endpoint's tests get a real server per module, or the session's shared one
(``tests/endpoint/server.py``)."""

from tests.endpoint.server import churn_store, pyfunc_models, server, shared_server  # noqa: F401
