"""The REST helpers the serving tests call an endpoint with, real process or in process."""

from __future__ import annotations

import json
import time

READY_TIMEOUT = 90.0


class EndpointCalls:
    """The REST helpers a test calls an endpoint with, over a transport of the subclass's:
    ``api(method, path, **kwargs)`` for the control plane and ``post(path, body, **kwargs)``
    for the data plane (a real process: ``Server``; in process: ``tests.endpoint.inproc``)."""

    headers: dict[str, str]
    poll_seconds = 0.1

    def invoke(self, name: str, body, *, served: str | None = None, **kwargs):
        path = f"/serving-endpoints/{name}"
        path += f"/served-models/{served}/invocations" if served else "/invocations"
        kwargs.setdefault("headers", self.headers)
        return self.post(path, body, **kwargs)

    def endpoint(self, name: str) -> dict:
        resp = self.api("GET", f"/{name}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def create(self, name: str, config: dict, **extra) -> dict:
        resp = self.api("POST", json={"name": name, "config": config, **extra})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait_ready(self, name: str, timeout: float = READY_TIMEOUT) -> dict:
        """Poll GET until READY and NOT_UPDATING (fails on UPDATE_FAILED or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            ep = self.endpoint(name)
            state = ep["state"]
            if state == {"ready": "READY", "config_update": "NOT_UPDATING"}:
                return ep
            assert state["config_update"] != "UPDATE_FAILED", json.dumps(ep)
            assert time.monotonic() < deadline, f"{name} not ready: {json.dumps(ep)}"
            time.sleep(self.poll_seconds)
