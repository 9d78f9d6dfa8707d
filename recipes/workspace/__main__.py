"""``python -m recipes.workspace``: the workspace double in the foreground.

``mdk workspace up`` starts it (with its tracking server, serving endpoint and Spark Connect
server); by hand::

    python -m recipes.workspace --tracking-url http://127.0.0.1:5000 --port 8800 \\
        [--serving-url http://127.0.0.1:8765]
    export DATABRICKS_HOST=http://127.0.0.1:8800 DATABRICKS_TOKEN=$(cat $MDK_HOME/serving/token)
"""

import argparse
import logging
from pathlib import Path

import uvicorn

from recipes.auth import token
from recipes.target import mdk_home
from recipes.workspace.app import create_app

parser = argparse.ArgumentParser(prog="python -m recipes.workspace")
parser.add_argument("--tracking-url", required=True, help="a running `mlflow server`")
parser.add_argument("--serving-url", default=None, help="the kit's serving endpoint (optional)")
parser.add_argument("--home", type=Path, default=None, help="state folder (default: MDK_HOME)")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8800)
args = parser.parse_args()
home = (args.home or mdk_home()).resolve()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
app = create_app(home, args.tracking_url, token=token(home), serving_url=args.serving_url)
uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning", access_log=False)
