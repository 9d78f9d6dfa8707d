"""``python -m recipes.endpoint``: the endpoint in the foreground (what ``mdk up`` starts)."""

import argparse

from recipes.endpoint.server import HOST, serve

parser = argparse.ArgumentParser(prog="python -m recipes.endpoint")
parser.add_argument("--host", default=HOST)
parser.add_argument("--port", type=int, default=8765)
parser.add_argument("--idle-seconds", type=float, default=None)
parser.add_argument("--seed", type=int, default=None)
args = parser.parse_args()
serve(args.host, args.port, idle_seconds=args.idle_seconds, seed=args.seed)
