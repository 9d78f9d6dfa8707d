"""Q2 · Model Serving, the study module's: a request to a scale-to-zero endpoint after
30 minutes idle.
"""

from __future__ import annotations

from recipes.exam.endpoints import KEEP_WARM, endpoint
from recipes.exam.questions import Option, Outcome, Question


def q2_scenario(lab) -> dict:
    """A scale-to-zero endpoint left idle past its idle time, then one request (once)."""

    def run() -> dict:
        from recipes.data import seed_record
        from recipes.serving import deploy, probe

        w, conn = lab.serving()
        name, idle = endpoint(lab, "champion"), lab.sizes.idle_seconds
        deploy.set_idle_seconds(w, name, idle)
        try:
            cold = probe.cold_start(w, conn, name, seed_record(), idle_seconds=idle)
        finally:
            deploy.set_idle_seconds(w, name, int(KEEP_WARM))
        after = w.serving_endpoints.get(name)
        entity = after.config.served_entities[0]
        return {
            "cold": cold,
            "scaled_to_zero": cold.scaled_to_zero,
            "status": cold.status,
            "cold_ms": cold.cold_ms,
            "warm_ms": cold.warm_ms,
            "server_cold_start_ms": cold.server_cold_start_ms,
            "idle_seconds": cold.idle_seconds,
            "exists_after": after.name == name,
            "version_after": int(entity.entity_version),
            "ready_after": after.state.ready.value if after.state and after.state.ready else None,
            "client_timeout_s": 300,
            "restarted_by_us": False,
        }

    return lab.once("q2", run)


def _q2_outcome(lab, fits: bool, tail: str, code: str | None = None) -> Outcome:
    from recipes.exam.cold_start import POLICY
    from recipes.serving import probe

    scenario = q2_scenario(lab)
    cold = scenario["cold"]
    # the client's side on Databricks (recipes.exam.cold_start cites the documentation)
    ev = {**{k: v for k, v in scenario.items() if k != "cold"}, "client_retry": POLICY.as_dict()}
    happened = (
        f"After {ev['idle_seconds']:.1f} s idle the worker was "
        f"{'stopped (scaled to zero)' if ev['scaled_to_zero'] else 'still up'}; the next request "
        f"got HTTP {ev['status']} in {ev['cold_ms']:,.0f} ms against {ev['warm_ms']:,.1f} ms warm. {tail}"
    )
    figure = lab.once("q2:figure", lambda: probe.plot_latency(cold))
    return Outcome(happened, fits=fits, evidence=ev, table=cold.frame(), figure=figure, code=code)


def _unit(ms: float) -> str:
    """How long a wait was, in words: ``milliseconds``, ``seconds`` or ``minutes``."""
    return "milliseconds" if ms < 1000 else "seconds" if ms < 60_000 else "minutes"


def q2_a(lab) -> Outcome:
    ev = q2_scenario(lab)
    timed_out = ev["status"] != 200 or ev["cold_ms"] >= ev["client_timeout_s"] * 1000
    return _q2_outcome(
        lab,
        timed_out,
        "No timeout here: the request waited for the worker and got its answer. On Databricks "
        "this first request can fail (HTTP 555, or the client's own timeout) while the entity "
        "scales up, and the endpoint comes up all the same: a client retries it.",
    )


def q2_b(lab) -> Outcome:
    from recipes.exam.cold_start import POLICY

    ev = q2_scenario(lab)
    # the server timed a cold start for that request (a worker had to load the model)
    fits = (
        ev["scaled_to_zero"]
        and ev["status"] == 200
        and bool(ev["server_cold_start_ms"])
        and ev["cold_ms"] > ev["warm_ms"]
    )
    return _q2_outcome(
        lab,
        fits,
        f"Scaled up from zero, paid a cold start of {_unit(ev['cold_ms'])} (a small model, "
        "loaded by a local worker), then served. On Databricks the same wait is far longer and "
        "the first "
        f"attempt can get HTTP 555: the client below retries on {list(POLICY.statuses)} and on "
        f"a timeout, {POLICY.attempts} times with backoff.",
        code=POLICY.code(),
    )


def q2_c(lab) -> Outcome:
    ev = q2_scenario(lab)
    return _q2_outcome(
        lab, ev["status"] != 200, "Nobody restarted anything: the request itself woke the worker."
    )


def q2_d(lab) -> Outcome:
    ev = q2_scenario(lab)
    return _q2_outcome(
        lab,
        not ev["exists_after"],
        f"The endpoint still exists ({ev['ready_after']}, v{ev['version_after']}): idling scales "
        "the compute to zero, never the endpoint itself.",
    )


QUESTION = Question(
    order=2,
    topic="Model Serving",
    source="module",
    text=(
        "A serving endpoint has scale_to_zero_enabled=True. A request arrives after 30 minutes "
        "of inactivity. What happens?"
    ),
    options=(
        Option("A", "The request fails with a timeout error", q2_a),
        Option(
            "B",
            "The endpoint scales up from zero, causing a cold-start delay, then serves the request",
            q2_b,
        ),
        Option(
            "C",
            "The request is queued indefinitely until the endpoint is manually restarted",
            q2_c,
        ),
        Option("D", "The endpoint is deleted after inactivity and must be recreated", q2_d),
    ),
    answer="B",
    # Sources: the run's own figures (cold_ms, server_cold_start_ms: milliseconds); Databricks
    # "Fix slow requests on Model Serving endpoints", "Cold start after scale-up" (the first
    # request after scale-up is slow, or returns HTTP 555 on an endpoint scaled to zero:
    # docs.databricks.com/aws/en/machine-learning/model-serving/model-serving-slow-requests);
    # the client that retries is recipes.exam.cold_start.
    explanation=(
        "Scale-to-zero releases the compute behind an idle served entity, not the endpoint: "
        "its name, URL and config stay. The next request is what brings a worker back; it "
        "waits while the model loads and then gets its answer. Here that wait is milliseconds "
        "(a small scikit-learn model loaded by a local worker: the run shows its figure). On "
        "Databricks a container has to start first, so it takes far longer, and Databricks "
        "documents that the first request after scaling from zero can fail with HTTP 555, and "
        "a client whose own timeout is shorter gives up first. That is what A describes, but "
        "it is a symptom, not what scale-to-zero does: the endpoint still scales up, and a "
        "retry is answered. So a client of a scale-to-zero endpoint retries on 555 and on a "
        "timeout, with backoff (scoring is idempotent; B's run shows such a client). The wait "
        "is the price of paying nothing while idle: it suits occasional traffic, not a latency "
        "target."
    ),
    needs=frozenset({"registry", "serving"}),
)
