"""The HTTP floor of this machine: a bare ASGI app that answers every request with one fixed
JSON body (``MDK_FLOOR_BODY``), run on the same stack as the kit's endpoint (one uvicorn
worker on uvloop and httptools). No routing, no auth, no parsing, no model: what serving
costs before the kit does anything. Used by ``benchmarks/serving.py``'s ``floor`` target::

    MDK_FLOOR_BODY='{"predictions": [0]}' python -m uvicorn floor_app:app \\
        --app-dir benchmarks --loop uvloop --http httptools --port 8000
"""

from __future__ import annotations

import os

BODY = os.environ.get("MDK_FLOOR_BODY", '{"predictions": [0]}').encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # read the request body, as any server must
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
