"""Q10 · Model Serving: the requests in flight while an endpoint's config moves from version 1
to version 2.
"""

from __future__ import annotations

import time
import uuid

from recipes.exam.endpoints import endpoint, entity, warm
from recipes.exam.questions import Option, Outcome, Question


def q10_scenario(lab) -> dict:
    """Traffic from 4 clients while ``exam-champion`` moves from v1 to v2 (once)."""

    def run() -> dict:
        from recipes.serving import traffic

        m = lab.registry()
        w, conn = lab.serving()
        name = endpoint(lab, "champion")
        old, new = f"v{m.v1}", f"v{m.v2}"
        lab.forget(f"endpoint:{name}")  # moved to v2 below: the next user puts v1 back
        states = []
        with traffic.background(
            conn,
            name,
            concurrency=4,
            seconds=lab.sizes.traffic_seconds,
            tag=f"update-{uuid.uuid4().hex[:6]}",
        ) as bg:
            t0 = time.monotonic()
            waiter = w.serving_endpoints.update_config(
                name=name, served_entities=[entity(new, m.name, m.v2, scale_to_zero=True)]
            )
            first = waiter.response
            states.append(
                (
                    0.0,
                    first.state.config_update.value,
                    bool(first.pending_config),
                    [e.name for e in first.config.served_entities],
                )
            )
            while True:
                ep = w.serving_endpoints.get(name)
                states.append(
                    (
                        round(time.monotonic() - t0, 2),
                        ep.state.config_update.value,
                        bool(ep.pending_config),
                        [e.name for e in ep.config.served_entities],
                    )
                )
                if ep.state.config_update.value != "IN_PROGRESS":
                    break
                time.sleep(0.1)
            update_s = time.monotonic() - t0
            bg.clients.phase = "after"  # "during" is exactly while the update was in progress
        frame = bg.result.frame
        by_phase = (
            frame[frame["status"] == 200]
            .groupby(["phase", "served_model_name"])
            .size()
            .unstack(fill_value=0)
        )
        during = frame[frame["phase"] == "during"]
        return {
            "old": old,
            "new": new,
            "sent": len(frame),
            "failed": int((frame["status"] != 200).sum()),
            "update_seconds": round(update_s, 2),
            "states": states,
            "in_progress_seen": any(s[1] == "IN_PROGRESS" and s[2] for s in states),
            "first_during": during["served_model_name"].iloc[0] if len(during) else None,
            "old_answered_during": int((during["served_model_name"] == old).sum()),
            "after": sorted(set(frame[frame["phase"] == "after"]["served_model_name"].dropna())),
            "max_ms_during": round(float(during["ms"].max()), 1) if len(during) else None,
            "p50_ms_during": round(float(during["ms"].median()), 1) if len(during) else None,
            "by_phase": by_phase,
            "frame": frame,
        }

    return lab.once("q10", run)


def _q10(lab, fits_fn) -> Outcome:
    from recipes.exam import plots

    s = q10_scenario(lab)
    ev = {k: v for k, v in s.items() if k not in ("frame", "by_phase")}
    happened = (
        f"{s['sent']} requests while the update took {s['update_seconds']} s: {s['failed']} failed. "
        f"While config_update was IN_PROGRESS (new config pending) {s['first_during']} kept "
        f"answering ({s['old_answered_during']} answers while the update ran); after the swap "
        f"{', '.join(s['after'])} answered. The slowest request during "
        f"the update took {s['max_ms_during']} ms (median {s['p50_ms_during']} ms): nothing waited "
        "for the update."
    )
    return Outcome(
        happened,
        fits=fits_fn(s),
        evidence=ev,
        table=s["by_phase"],
        figure=lab.once("q10:figure", lambda: plots.update_phases(s)),
        code="w.serving_endpoints.update_config(name=..., served_entities=[v2])",
    )


def q10_a(lab) -> Outcome:
    return _q10(lab, lambda s: s["failed"] > 0)


def q10_b(lab) -> Outcome:
    return _q10(
        lab,
        lambda s: (
            s["failed"] == 0
            and s["in_progress_seen"]
            and s["first_during"] == s["old"]
            and s["after"] == [s["new"]]
        ),
    )


def q10_c(lab) -> Outcome:
    # requests held until the update completed would all be answered after the swap
    return _q10(lab, lambda s: s["old_answered_during"] == 0)


def q10_d(lab) -> Outcome:
    return _q10(lab, lambda s: s["first_during"] == s["new"])


QUESTION = Question(
    order=10,
    topic="Model Serving",
    text=(
        "An endpoint serving version 1 under steady traffic gets a config update to version 2. "
        "What happens to the requests that arrive while the update is in progress?"
    ),
    options=(
        Option("A", "They fail with 503 until the update completes.", q10_a),
        Option(
            "B",
            "The old config keeps answering until the new served entity is ready; then "
            "traffic moves over, and no request is lost.",
            q10_b,
        ),
        Option("C", "They wait in a queue until the update completes.", q10_c),
        Option("D", "Version 2 answers at once, even while it is still loading.", q10_d),
    ),
    answer="B",
    explanation=(
        "A config update builds the new served entities beside the old ones: the endpoint "
        "shows `config_update: IN_PROGRESS` and the new config under `pending_config`, while "
        "the current config keeps serving. Only when the new entities are ready does the "
        "endpoint switch, so callers see neither errors nor extra waiting. A failed update "
        "leaves the old config in place."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("champion"),
)
