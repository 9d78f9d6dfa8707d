"""Q1 · Model Registry, the study module's: promote version 5 to Production and archive
version 3 in the same call.

Each check calls ``MlflowClient`` as the option writes it, on the lab's own model, from the
same starting point, and reads the registry back.
"""

from __future__ import annotations

import pandas as pd

from recipes.exam.common import alias_versions
from recipes.exam.questions import Option, Outcome, Question


def _stages(client, name: str) -> dict[int, str]:
    return {
        int(mv.version): mv.current_stage for mv in client.search_model_versions(f"name = '{name}'")
    }


def _stage_table(client, name: str, versions: tuple[int, int]) -> pd.DataFrame:
    stages, aliases = _stages(client, name), alias_versions(client, name)
    return pd.DataFrame(
        [
            {
                "version": v,
                "stage": stages[v],
                "aliases": ", ".join(sorted(a for a, t in aliases.items() if t == v)),
            }
            for v in versions
        ]
    )


def _q1_start(lab):
    """v1 ("version 3" of the question) alone in Production, v2 ("version 5") in None, and
    no alias called Production: the question's starting point, set before every option."""
    m = lab.registry()
    client = lab.client
    client.transition_model_version_stage(m.name, m.v2, "None")
    client.transition_model_version_stage(
        m.name, m.v1, "Production", archive_existing_versions=True
    )
    if "Production" in alias_versions(client, m.name):
        client.delete_registered_model_alias(m.name, "Production")
    return m, client


def _q1_outcome(client, m, code: str, error: str | None = None) -> tuple[dict, pd.DataFrame]:
    stages, aliases = _stages(client, m.name), alias_versions(client, m.name)
    evidence = {
        "stages": {m.v1: stages[m.v1], m.v2: stages[m.v2]},
        "aliases": aliases,
        "old": m.v1,
        "new": m.v2,
    }
    return evidence, _stage_table(client, m.name, (m.v1, m.v2))


def q1_a(lab) -> Outcome:
    m, client = _q1_start(lab)
    code = f'client.transition_model_version_stage("{m.name}", version={m.v2}, stage="Production")'
    client.transition_model_version_stage(m.name, version=m.v2, stage="Production")
    ev, table = _q1_outcome(client, m, code)
    both = ev["stages"] == {m.v1: "Production", m.v2: "Production"}
    return Outcome(
        f"v{m.v2} moved to Production and v{m.v1} stayed there: "
        f"{'both versions are now in Production' if both else ev['stages']}. "
        "archive_existing_versions defaults to False, so nothing was archived.",
        fits=False,
        evidence=ev,
        code=code,
        table=table,
    )


def q1_b(lab) -> Outcome:
    m, client = _q1_start(lab)
    code = (
        f'client.transition_model_version_stage("{m.name}", version={m.v2}, '
        'stage="Production", archive_existing_versions=True)'
    )
    client.transition_model_version_stage(
        m.name, version=m.v2, stage="Production", archive_existing_versions=True
    )
    ev, table = _q1_outcome(client, m, code)
    done = ev["stages"] == {m.v1: "Archived", m.v2: "Production"}
    return Outcome(
        f"v{m.v2} is in Production and v{m.v1} went to {ev['stages'][m.v1]} in the same call.",
        fits=done,
        evidence=ev,
        code=code,
        table=table,
    )


def q1_c(lab) -> Outcome:
    m, client = _q1_start(lab)
    code = f'client.promote_model_version("{m.name}", version={m.v2})'
    error = None
    try:
        client.promote_model_version(m.name, version=m.v2)
    except AttributeError as exc:
        error = f"AttributeError: {exc}"
    ev, table = _q1_outcome(client, m, code)
    ev["error_type"] = error.split(":")[0] if error else None
    return Outcome(
        f"{error or 'the call returned'}. MlflowClient has no such method; the stages are "
        f"unchanged (v{m.v1} {ev['stages'][m.v1]}, v{m.v2} {ev['stages'][m.v2]}).",
        fits=False,
        evidence=ev,
        code=code,
        table=table,
        error=error,
    )


def q1_d(lab) -> Outcome:
    m, client = _q1_start(lab)
    code = f'client.set_registered_model_alias("{m.name}", "Production", version={m.v2})'
    client.set_registered_model_alias(m.name, "Production", version=m.v2)
    ev, table = _q1_outcome(client, m, code)
    client.delete_registered_model_alias(m.name, "Production")  # shown above; gone for the rest
    return Outcome(
        f"An alias literally named 'Production' now points at v{ev['aliases'].get('Production')}; "
        f"the stages did not move (v{m.v1} {ev['stages'][m.v1]}, v{m.v2} {ev['stages'][m.v2]}), "
        "so nothing was archived.",
        fits=False,
        evidence=ev,
        code=code,
        table=table,
    )


QUESTION = Question(
    order=1,
    topic="Model Registry",
    source="module",
    text=(
        "A team has version 3 in Production and wants to promote version 5 to Production while "
        "automatically archiving version 3. Which code is correct?"
    ),
    options=(
        Option(
            "A",
            'client.transition_model_version_stage("model", version=5, stage="Production")',
            q1_a,
        ),
        Option(
            "B",
            'client.transition_model_version_stage("model", version=5, stage="Production", '
            "archive_existing_versions=True)",
            q1_b,
        ),
        Option("C", 'client.promote_model_version("model", version=5)', q1_c),
        Option("D", 'client.set_registered_model_alias("model", "Production", version=5)', q1_d),
    ),
    answer="B",
    explanation=(
        "A stage transition only archives the versions already in the target stage when you "
        "ask it to: `archive_existing_versions` is False unless you pass True. Run without it "
        "(A) and Production holds two versions at once. `MlflowClient` has no "
        "`promote_model_version` (C fails before it touches anything). An alias (D) is a "
        "separate pointer that happens to be called 'Production' here; stages ignore it. Stages "
        "are deprecated in favour of aliases and absent from Unity Catalog, but the question "
        "is about stages, and only B does what it asks."
    ),
    needs=frozenset({"registry"}),
)
