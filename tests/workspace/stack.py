"""The ``mdk workspace up`` stack as tests see it: its home, what ``env`` exports, its pids."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from recipes.tooling.cli import app

_runner = CliRunner()
PARTS = ["mlflow", "serving", "spark", "double"]


@dataclass
class Stack:
    home: Path  # the MDK_HOME given to `mdk workspace up`
    env: dict[str, str]  # what `mdk workspace env` exports
    unset: list[str]  # what it unsets
    pids: dict[str, int]  # every part's pid after `up`

    @property
    def ws(self) -> Path:
        return self.home / "workspace"

    @property
    def host(self) -> str:
        return self.env["DATABRICKS_HOST"]

    def requests_since(self, mark: int) -> list[dict]:
        """The double's request log after line ``mark``, metadata probes left out."""
        lines = (self.ws / "logs" / "workspace-requests.jsonl").read_text().splitlines()
        entries = [json.loads(line) for line in lines[mark:]]
        return [e for e in entries if e["path"] != "/.well-known/databricks-config"]

    def mark(self) -> int:
        return len((self.ws / "logs" / "workspace-requests.jsonl").read_text().splitlines())


def mdk_cli(home: Path, *args: str) -> str:
    result = _runner.invoke(app, list(args), env={"MDK_HOME": str(home)})
    assert result.exit_code == 0, result.output
    return result.output


def parse_env(text: str) -> tuple[dict[str, str], list[str]]:
    exports, unset = {}, []
    for line in text.splitlines():
        words = shlex.split(line)
        if words and words[0] == "export":
            key, _, value = words[1].partition("=")
            exports[key] = value
        elif words and words[0] == "unset":
            unset += words[1:]
    return exports, unset


def status_pids(text: str) -> dict[str, int]:
    rows = [line.split() for line in text.splitlines()]
    return {r[0]: int(r[1]) for r in rows if r and r[0] in PARTS and r[1].isdigit()}
