"""Serving benchmark: ``mlflow models serve`` against the kit's local endpoint, side by side.

Run from the repo root::

    .venv/bin/python benchmarks/serving.py [--duration 10] [--repeats 3] [--quick] [--keep]

One run trains ``churn-predictor`` v1/v2 into a fresh temporary ``MDK_HOME``, starts both
servers on 127.0.0.1, and measures three targets with the same body (the seed's record),
the same sequential client and the same load generator:

* ``mlflow``: ``mlflow models serve -m models:/churn-predictor/1`` (1 worker), ``/invocations``;
* ``entity``: the kit, ``/serving-endpoints/bench-entity/served-models/champion/invocations``;
* ``split``: the kit, ``/serving-endpoints/bench-split/invocations``: champion/challenger
  (both v1) at 90/10 with ``ai_gateway.inference_table_config`` on (table ``main.bench.ab_payload``);
* ``floor``: the HTTP floor (``benchmarks/floor_app.py``), a bare ASGI app on the kit's
  stack (uvicorn, uvloop, httptools, one worker) answering the kit's own response bytes.

After a warm-up, ``--repeats`` rounds run per target, interleaved (A,B,C,A,B,C,...): a share
of ``--seq`` sequential single-record requests over one keep-alive connection (p50/p99 over
all of them), then ``--duration`` s with 8 keep-alive clients (``wrk -t2 -c8``; a Python
asyncio generator if wrk is missing). Throughput is the median of the rounds.

Goals: ``throughput_x`` = entity rps / mlflow rps >= 20; ``floor_fraction`` = entity rps /
floor rps >= 0.6; ``seq_p50_ratio`` = entity p50 / mlflow p50 <= 0.5;
``routing_capture_added_p50_ms`` = split p50 - entity p50 <= 1.0; and the inference table
holds at least as many rows as 2xx answers the split target gave.
Beside them, ``params_seq_p50_ms``: ``--seq`` sequential requests with ``"params":
{"threshold": 0.3}`` to ``bench-params``, serving :mod:`recipes.threshold_model` (a pyfunc
with a params schema: ``pyfunc.predict(df, params=...)``, no sklearn fast path).
The last printed line is a JSON summary. ``MDK_BENCH_PROFILE=<file>`` runs the kit's server
under cProfile and writes its stats there (this slows the kit: diagnosis only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes import stack
from recipes.formats import encode

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable  # the venv's python (not resolved: its bin/ is what mlflow needs on PATH)
HOST = "127.0.0.1"
MODEL = "churn-predictor"
RECORD = {"total_purchases": 15, "avg_session_duration": 320, "days_since_last_visit": 7}
BODY = json.dumps(encode([RECORD], "dataframe_records")).encode()
PARAMS_MODEL = "churn-threshold"  # recipes.threshold_model over churn-predictor v1
PARAMS_BODY = json.dumps(encode([RECORD], "dataframe_records", params={"threshold": 0.3})).encode()
TABLE = "main.bench.ab_payload"
CAPTURE = {
    "catalog_name": "main",
    "schema_name": "bench",
    "table_name_prefix": "ab",
    "enabled": True,
}
LUA = """wrk.method = "POST"
wrk.body = [[%(body)s]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d}\\n', summary.requests,
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Target:
    name: str
    port: int
    path: str
    seq: list[float] = field(default_factory=list)  # ms per sequential request
    rps: list[float] = field(default_factory=list)  # one per throughput run
    ok: int = 0  # 2xx answers, all phases
    errors: int = 0  # non-2xx answers and socket errors, all phases


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def call(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    """One control-plane or check request on a fresh connection: (status, decoded JSON)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    try:
        conn.request(method, path, data, headers(token))
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    with contextlib.suppress(ValueError):
        return resp.status, json.loads(raw) if raw else None
    return resp.status, raw.decode(errors="replace")


def start(
    name: str, cmd: list[str], env: dict, home: Path, port: int, health: str, timeout: float
) -> stack.Service:
    """Start ``cmd`` as a service of the kit's services module (its pid and log under
    ``home``, ready when ``health`` answers 200); a failure stops the benchmark in one line."""
    spec = stack.ServiceSpec(name, lambda _port, _home: cmd, marker=cmd[2], health_path=health)
    exact = {k: None for k in os.environ if k not in env} | env  # this env, nothing more
    try:
        return stack.start(name, port=port, home=home, spec=spec, env=exact, timeout=timeout)
    except stack.ServiceError as exc:
        raise SystemExit(str(exc)) from exc


def stop(name: str, home: Path, *, first: int | None = None) -> None:
    """Stop the service by its recorded pid; ``first``: a signal for its front process alone
    before that (SIGINT, so a profiled server writes its stats), waited on for 10 s."""
    svc = stack.read_record(name, home)
    if first is not None and svc is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(svc.pid, first)
        deadline = time.monotonic() + 10
        while stack.pid_alive(svc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    stack.stop(name, home)


def create_endpoint(
    port: int,
    token: str,
    name: str,
    entities: list[str],
    routes: list[int],
    capture: dict | None,
    model: str = MODEL,
) -> None:
    served = [
        {
            "name": e,
            "entity_name": model,
            "entity_version": "1",
            "workload_size": "Small",
            "scale_to_zero_enabled": False,
        }
        for e in entities
    ]
    config: dict[str, Any] = {
        "served_entities": served,
        "traffic_config": {
            "routes": [
                {"served_model_name": e, "traffic_percentage": p}
                for e, p in zip(entities, routes, strict=True)
            ]
        },
    }
    body: dict[str, Any] = {"name": name, "config": config}
    if capture:  # the AI Gateway inference table (legacy auto_capture_config is refused)
        body["ai_gateway"] = {"inference_table_config": capture}
    status, out = call(port, "POST", "/api/2.0/serving-endpoints", token, body)
    if status != 200:
        raise SystemExit(f"creating {name}: {status} {out}")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = call(port, "GET", f"/api/2.0/serving-endpoints/{name}", token)[1]["state"]
        if state["config_update"] == "NOT_UPDATING" and state["ready"] == "READY":
            return
        if state["config_update"] == "UPDATE_FAILED":
            raise SystemExit(f"endpoint {name} failed: {state}")
        time.sleep(0.2)
    raise SystemExit(f"endpoint {name} not ready after 180 s")


def sequential(t: Target, n: int, token: str, limit_s: float = 90, body: bytes = BODY) -> None:
    """n requests, one at a time, on one keep-alive connection; each timed."""
    conn, head = http.client.HTTPConnection(HOST, t.port, timeout=30), headers(token)
    end = time.perf_counter() + limit_s
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("POST", t.path, body, head)
            resp = conn.getresponse()
            resp.read()
            t.seq.append((time.perf_counter() - t0) * 1000)
            good = 200 <= resp.status < 300
            t.ok, t.errors = t.ok + good, t.errors + (not good)
            if t0 > end:
                break
    finally:
        conn.close()


def wrk_load(t: Target, seconds: float, script: Path) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t2",
        "-c8",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(script),
        f"http://{HOST}:{t.port}{t.path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    match = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
    if not match:
        raise SystemExit(f"wrk gave no summary for {t.name}:\n{out}")
    s = json.loads(match.group(1))
    errors = s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"]
    return {
        "requests": s["requests"],
        "ok": s["requests"] - s["status"],
        "errors": errors,
        "rps": s["requests"] / (s["duration_us"] / 1e6),
    }


def py_load(t: Target, seconds: float, token: str) -> dict[str, float]:
    """Fallback generator: 8 asyncio raw-socket keep-alive clients (slower than wrk)."""
    req = (
        f"POST {t.path} HTTP/1.1\r\nHost: {HOST}:{t.port}\r\nAuthorization: Bearer {token}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    tally = {"requests": 0, "ok": 0, "status": 0, "errors": 0}

    async def client(end: float) -> None:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(HOST, t.port)
            while time.perf_counter() < end:
                writer.write(req + BODY)
                status, length = int((await reader.readline()).split()[1]), 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    key, _, value = line.partition(b":")
                    length = int(value) if key.strip().lower() == b"content-length" else length
                await reader.readexactly(length)
                tally["requests"] += 1
                tally["ok" if 200 <= status < 300 else "status"] += 1
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            tally["errors"] += 1
        finally:
            if writer is not None:
                writer.close()

    async def run() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(t0 + seconds) for _ in range(8)))
        return time.perf_counter() - t0

    elapsed = asyncio.run(asyncio.wait_for(run(), seconds + 60))
    return {
        "requests": tally["requests"],
        "ok": tally["ok"],
        "errors": tally["status"] + tally["errors"],
        "rps": tally["requests"] / elapsed,
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def captured_rows(home: Path) -> int:
    """Rows in the inference table (a Delta table the endpoint appends with delta-rs), from its
    log's file statistics: no data file is read, no JVM started."""
    from recipes import tables
    from recipes.errors import NotFoundError

    try:
        return tables.row_count(TABLE, home=home)
    except NotFoundError:
        return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=None, help="seconds per throughput run")
    ap.add_argument("--repeats", type=int, default=None, help="throughput runs per target")
    ap.add_argument("--seq", type=int, default=None, help="sequential requests per target")
    ap.add_argument("--quick", action="store_true", help="short runs (3 s, 1 repeat, 300 seq)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary MDK_HOME")
    ap.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    args = ap.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    repeats = args.repeats or (1 if args.quick else 3)
    n_seq = args.seq or (300 if args.quick else 2000)
    warm = 1.0 if args.quick else 2.0

    home = Path(tempfile.mkdtemp(prefix="mdk-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    }
    env.update(
        MDK_HOME=str(home),
        PATH=f"{Path(PY).parent}{os.pathsep}{env.get('PATH', '')}",
        MDK_SERVING_IDLE_SECONDS="3600",
        PYTHONWARNINGS="ignore",
    )
    started: list[str] = []
    kit_port, mlflow_port = stack.free_port(), stack.free_port()
    token, made, status = "", [], 1
    prof = os.environ.get("MDK_BENCH_PROFILE")
    try:
        t0 = time.monotonic()
        code = (
            f"from recipes import bootstrap, target; target.use_target(); "
            f"print(bootstrap.ensure_versions({MODEL!r}, 2)); "
            f"from recipes.threshold_model import log_threshold_model; "
            f"log_threshold_model(registered_model_name={PARAMS_MODEL!r})"
        )
        with (home / "train.log").open("wb") as out:
            done = subprocess.run(
                [PY, "-c", code],
                cwd=REPO,
                env=env,
                timeout=600,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if done.returncode:
            raise SystemExit(f"training failed:\n{(home / 'train.log').read_text()[-3000:]}")
        print(f"trained {MODEL} v1, v2 in {time.monotonic() - t0:.1f} s (MDK_HOME={home})")
        ml_env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
        serve = [PY, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL}/1"]
        serve += ["--env-manager", "local", "--host", HOST, "-p", str(mlflow_port)]
        started.append("mlflow")
        start("mlflow", serve, ml_env, home, mlflow_port, "/ping", 180)
        runner = ["-m", "cProfile", "-o", str(Path(prof).resolve())] if prof else []
        started.append("kit")
        start(
            "kit",
            [PY, *runner, "-m", "recipes.endpoint", "--host", HOST, "--port", str(kit_port)],
            env,
            home,
            kit_port,
            "/health",
            120,
        )
        print(f"servers up after {time.monotonic() - t0:.1f} s")
        sys.path.insert(0, str(REPO))
        from recipes.auth import token as serving_token

        token = serving_token(home)
        create_endpoint(kit_port, token, "bench-entity", ["champion"], [100], None)
        made.append("bench-entity")
        create_endpoint(
            kit_port, token, "bench-split", ["champion", "challenger"], [90, 10], CAPTURE
        )
        made.append("bench-split")
        create_endpoint(kit_port, token, "bench-params", ["champion"], [100], None, PARAMS_MODEL)
        made.append("bench-params")
        targets = [
            Target("mlflow", mlflow_port, "/invocations"),
            Target(
                "entity",
                kit_port,
                "/serving-endpoints/bench-entity/served-models/champion/invocations",
            ),
            Target("split", kit_port, "/serving-endpoints/bench-split/invocations"),
        ]
        answers = {}  # every target must answer 200 with the same predictions
        for t in targets:
            code, out = call(t.port, "POST", t.path, token, BODY)
            t.ok += code == 200
            answers[t.name] = (code, out.get("predictions") if isinstance(out, dict) else out)
        if len({json.dumps(a) for a in answers.values()}) != 1 or answers["mlflow"][0] != 200:
            raise SystemExit(f"targets disagree on the predictions: {answers}")
        print(f"all targets answer {answers['mlflow'][1]} for the seed's record")
        kit_bytes = json.dumps({"predictions": answers["entity"][1]})
        floor_port = stack.free_port()
        floor = [PY, "-m", "uvicorn", "floor_app:app", "--app-dir", str(REPO / "benchmarks")]
        floor += ["--host", HOST, "--port", str(floor_port), "--loop", "uvloop"]
        floor += ["--http", "httptools", "--workers", "1", "--log-level", "warning"]
        started.append("floor")
        start(
            "floor",
            [*floor, "--no-access-log"],
            {**env, "MDK_FLOOR_BODY": kit_bytes},
            home,
            floor_port,
            "/",
            60,
        )
        targets.append(Target("floor", floor_port, "/invocations"))
        code, out = call(floor_port, "POST", "/invocations", token, BODY)
        if (code, out) != (200, json.loads(kit_bytes)):
            raise SystemExit(f"the floor answered {code} {out}")

        use_wrk = shutil.which("wrk") is not None and not args.no_wrk
        generator = "wrk -t2 -c8 (Lua POST script)" if use_wrk else "python asyncio, 8 conns"
        if not use_wrk:
            print("NOTE: not using wrk: the Python asyncio load generator runs instead")
        script = home / "post.lua"
        script.write_text(LUA % {"body": BODY.decode(), "token": token})

        def load(t: Target, seconds: float) -> float:
            r = wrk_load(t, seconds, script) if use_wrk else py_load(t, seconds, token)
            t.ok, t.errors = t.ok + int(r["ok"]), t.errors + int(r["errors"])
            if r["errors"]:
                print(f"!! {t.name}: {r['errors']:.0f} non-2xx/socket errors in one run")
            return r["rps"]

        for t in targets:  # warm up, then rounds interleave the targets: A,B,C,A,B,C,...
            load(t, warm)
            sequential(t, 100, token)
            t.seq.clear()
        for i in range(repeats):
            for t in targets:
                sequential(t, n_seq // repeats + (i < n_seq % repeats), token)
                t.rps.append(load(t, duration))
                print(
                    f"round {i + 1}/{repeats} {t.name:7s} seq p50 {pct(t.seq, 50):6.3f} ms  "
                    f"{t.rps[-1]:8.1f} req/s"
                )
        # a pyfunc with a params schema, called with params (pyfunc.predict, no fast path)
        with_params = Target(
            "params", kit_port, "/serving-endpoints/bench-params/served-models/champion/invocations"
        )
        sequential(with_params, 50, token, body=PARAMS_BODY)
        with_params.seq.clear()
        sequential(with_params, n_seq, token, body=PARAMS_BODY)
        params_p50 = round(pct(with_params.seq, 50), 3)
        print(f"params  seq p50 {params_p50:6.3f} ms ({PARAMS_MODEL}, threshold 0.3)")
        sent, deadline = targets[2].ok, time.monotonic() + 8
        while (captured := captured_rows(home)) < sent and time.monotonic() < deadline:
            time.sleep(0.25)  # the capture writer flushes every second

        med = {
            t.name: {
                "seq_p50_ms": round(pct(t.seq, 50), 3),
                "seq_p99_ms": round(pct(t.seq, 99), 3),
                "seq_n": len(t.seq),
                "rps_median": round(statistics.median(t.rps), 1),
                "rps_runs": [round(r, 1) for r in t.rps],
                "ok": t.ok,
                "errors": t.errors,
            }
            for t in targets
        }
        print(f"\n{'target':8s} {'seq p50 ms':>10s} {'seq p99 ms':>10s} {'rps median':>11s}  runs")
        for name, m in med.items():
            print(
                f"{name:8s} {m['seq_p50_ms']:10.3f} {m['seq_p99_ms']:10.3f} "
                f"{m['rps_median']:11.1f}  {m['rps_runs']}"
            )
        ml, ent, spl, flo = (med[t.name] for t in targets)
        result = {
            "throughput_x": round(ent["rps_median"] / ml["rps_median"], 2),
            "floor_fraction": round(ent["rps_median"] / flo["rps_median"], 3),
            "split_floor_fraction": round(spl["rps_median"] / flo["rps_median"], 3),
            "seq_p50_ratio": round(ent["seq_p50_ms"] / ml["seq_p50_ms"], 3),
            "routing_capture_added_p50_ms": round(spl["seq_p50_ms"] - ent["seq_p50_ms"], 3),
            "split_throughput_x": round(spl["rps_median"] / ml["rps_median"], 2),
            "params_seq_p50_ms": params_p50,
        }
        errors = sum(t.errors for t in [*targets, with_params])
        goals = {
            "throughput_x_ge_20": result["throughput_x"] >= 20,
            "floor_fraction_ge_0_6": result["floor_fraction"] >= 0.6,
            "seq_p50_ratio_le_0_5": result["seq_p50_ratio"] <= 0.5,
            "routing_capture_added_le_1ms": result["routing_capture_added_p50_ms"] <= 1.0,
            "capture_complete": captured >= sent,
            "no_errors": errors == 0,
        }
        print()
        for key, what, goal in [
            ("throughput_x", "entity rps / mlflow rps", ">= 20"),
            ("floor_fraction", "entity rps / floor rps", ">= 0.6"),
            ("split_floor_fraction", "split rps / floor rps", ""),
            ("seq_p50_ratio", "entity p50 / mlflow p50", "<= 0.5"),
            ("routing_capture_added_p50_ms", "split p50 - entity p50", "<= 1.0"),
            ("split_throughput_x", "split rps / mlflow rps", ""),
            ("params_seq_p50_ms", f"{PARAMS_MODEL} with params, p50 ms", ""),
        ]:
            print(f"{key:29s} {result[key]:8.3f}  ({what}){'  goal ' + goal if goal else ''}")
        print(f"capture: {captured} rows in {TABLE} for {sent} 2xx answers from split")
        print(
            f"errors (non-2xx + socket): {errors}; load generator: {generator}; goals: "
            + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in goals.items())
        )
        print(
            json.dumps(
                {
                    **result,
                    "medians": med,
                    "load_generator": generator,
                    "cpu_count": os.cpu_count(),
                    "duration_s": duration,
                    "repeats": repeats,
                    "seq_requests": n_seq,
                    "captured_rows": captured,
                    "capture_sent_2xx": sent,
                    "errors": errors,
                    "goals": goals,
                }
            )
        )
        status = 0 if goals["capture_complete"] and goals["no_errors"] else 1
    finally:
        for name in made:
            with contextlib.suppress(OSError):
                call(kit_port, "DELETE", f"/api/2.0/serving-endpoints/{name}", token)
        for name in started:  # uvicorn re-raises the signal it got: with SIGTERM cProfile
            stop(name, home, first=signal.SIGINT if prof and name == "kit" else None)  # writes none
        if args.keep:
            print(f"kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
