"""Stand-ins for the endpoint's Manager, Endpoint and Entity, the app over them in process,
and a strict reader of the Prometheus text ``export_metrics`` answers.

They carry only what the metrics and OpenAPI routes read (``Entity``: ``spec.name``,
``running``, ``pid``, ``stats``, ``deployment``, ``message``, ``signature``; ``Endpoint``:
``name``, ``active.entities``/``routes``/``version``, ``entities``), so those routes are
tested with Starlette's TestClient, without a server process or a model worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from types import SimpleNamespace

from fastapi.testclient import TestClient

from recipes.endpoint.app import create_app
from recipes.endpoint.entity import EntityStats
from recipes.endpoint.metrics import Metrics
from recipes.errors import not_found

TOKEN = "test-token"


def fake_entity(
    name: str,
    *,
    running: bool = False,
    pid: int | None = None,
    signature: dict | None = None,
    loaded: bool = True,
    deployment: str = "DEPLOYMENT_READY",
    message: str = "",
) -> SimpleNamespace:
    """A served entity; ``loaded``: its worker has reported the model's signature."""
    stats = EntityStats(last_load_seconds=0.5 if loaded else None)
    return SimpleNamespace(
        spec=SimpleNamespace(name=name),
        running=running,
        pid=pid,
        stats=stats,
        signature=signature,
        deployment=deployment,
        message=message,
    )


def fake_endpoint(name: str, entities: dict, routes=None, *, active: bool = True):
    """An endpoint serving ``entities`` (all traffic to the first unless ``routes``)."""
    cfg = SimpleNamespace(
        entities=[SimpleNamespace(name=n) for n in entities],
        routes=tuple(routes or ((next(iter(entities)), 100),)),
        version=1,
    )
    return SimpleNamespace(name=name, active=cfg if active else None, entities=entities)


class FakeManager:
    def __init__(self, endpoints: dict):
        self.endpoints = endpoints
        self.metrics = Metrics()

    def _get(self, name: str):
        if name not in self.endpoints:
            raise not_found(f"Endpoint {name!r} does not exist.")
        return self.endpoints[name]

    async def restore(self) -> list[str]:
        return []

    async def scale_loop(self) -> None:
        await asyncio.Event().wait()

    async def shutdown(self) -> None:
        return None


@contextlib.contextmanager
def app_client(home, endpoints: dict):
    """``(TestClient, FakeManager)`` over the real app, sending the bearer token."""
    manager = FakeManager(endpoints)
    app = create_app(home=home, token=TOKEN, make_manager=lambda: manager)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client, manager


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> tuple[dict[str, str], dict[tuple[str, frozenset], float]]:
    """``({family: type}, {(sample name, labels): value})``; any malformed line fails."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ")
            assert family not in types, f"{family} declared twice"
            types[family] = kind
        elif line.startswith("# HELP "):
            continue
        else:
            m = SAMPLE.match(line)
            assert m, f"not a Prometheus sample: {line!r}"
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            key = (m.group(1), labels)
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(m.group(3))
    return types, samples


def dbx(ep: str, ent: str, **more) -> frozenset:
    return frozenset({"endpoint_name": ep, "served_model_name": ent, **more}.items())


def request_schema(doc: dict, path: str) -> dict:
    """The JSON schema of a POST body at ``path`` in an OpenAPI document."""
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
