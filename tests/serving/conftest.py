"""The serving client's tests call a real endpoint: the session's ``shared_server`` and
``pyfunc_models`` (tests/conftest.py), and the model and record of tests/endpoint/server.py,
which this folder's modules import from here."""

from tests.endpoint.server import MODEL, RECORD

__all__ = ["MODEL", "RECORD"]
