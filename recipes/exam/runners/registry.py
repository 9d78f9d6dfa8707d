"""Option checks for the registry questions: stages vs archiving (Q1) and aliases (Q7).

Each check calls ``MlflowClient`` as the option writes it, on the lab's own model, from the
same starting point, and reads the registry back.
"""

from __future__ import annotations

import pandas as pd

from recipes.exam.questions import Outcome


def _stages(client, name: str) -> dict[int, str]:
    return {
        int(mv.version): mv.current_stage for mv in client.search_model_versions(f"name = '{name}'")
    }


def _aliases(client, name: str) -> dict[str, int]:
    return {a: int(v) for a, v in (client.get_registered_model(name).aliases or {}).items()}


def _stage_table(client, name: str, versions: tuple[int, int]) -> pd.DataFrame:
    stages, aliases = _stages(client, name), _aliases(client, name)
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


# --------------------------------------------------------------------------- Q1


def _q1_start(lab):
    """v1 ("version 3" of the question) alone in Production, v2 ("version 5") in None, and
    no alias called Production: the question's starting point, set before every option."""
    m = lab.registry()
    client = lab.client
    client.transition_model_version_stage(m.name, m.v2, "None")
    client.transition_model_version_stage(
        m.name, m.v1, "Production", archive_existing_versions=True
    )
    if "Production" in _aliases(client, m.name):
        client.delete_registered_model_alias(m.name, "Production")
    return m, client


def _q1_outcome(client, m, code: str, error: str | None = None) -> tuple[dict, pd.DataFrame]:
    stages, aliases = _stages(client, m.name), _aliases(client, m.name)
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


# --------------------------------------------------------------------------- Q7 aliases


def _q7_scenario(lab) -> dict:
    """Two experiments on the lab's model: two aliases on one version, then one alias
    pointed at a second version."""

    def run() -> dict:
        m = lab.registry()
        client = lab.client
        for alias in ("exam_a", "exam_b"):
            if alias in _aliases(client, m.name):
                client.delete_registered_model_alias(m.name, alias)
        client.set_registered_model_alias(m.name, "exam_a", m.v1)
        client.set_registered_model_alias(m.name, "exam_b", m.v1)
        shared = {
            a: int(client.get_model_version_by_alias(m.name, a).version)
            for a in ("exam_a", "exam_b")
        }
        client.set_registered_model_alias(m.name, "exam_a", m.v2)
        moved = int(client.get_model_version_by_alias(m.name, "exam_a").version)
        on_v1 = sorted(client.get_model_version(m.name, str(m.v1)).aliases or [])
        on_v2 = sorted(client.get_model_version(m.name, str(m.v2)).aliases or [])
        for alias in ("exam_a", "exam_b"):  # recorded above; gone for the other questions
            client.delete_registered_model_alias(m.name, alias)
        return {
            "v1": m.v1,
            "v2": m.v2,
            "shared": shared,
            "two_aliases_one_version": shared["exam_a"] == shared["exam_b"] == m.v1,
            "after_move": moved,
            "aliases_on_v1": on_v1,
            "aliases_on_v2": on_v2,
            "one_alias_two_versions": "exam_a" in on_v1 and "exam_a" in on_v2,
        }

    return lab.once("q7", run)


def _q7(lab, claims: tuple[bool, bool]) -> Outcome:
    ev = _q7_scenario(lab)
    seen = (ev["two_aliases_one_version"], ev["one_alias_two_versions"])
    code = (
        'client.set_registered_model_alias(name, "exam_a", 1); '
        'client.set_registered_model_alias(name, "exam_b", 1); '
        'client.set_registered_model_alias(name, "exam_a", 2)'
    )
    happened = (
        f"@exam_a and @exam_b both resolved to v{ev['shared']['exam_a']} "
        f"({'two aliases can share a version' if seen[0] else 'they could not share it'}); "
        f"setting @exam_a to v{ev['v2']} moved it: v{ev['v1']} now has {ev['aliases_on_v1']}, "
        f"v{ev['v2']} has {ev['aliases_on_v2']} "
        f"({'one alias named two versions' if seen[1] else 'an alias names one version'})."
    )
    return Outcome(happened, fits=claims == seen, evidence=ev, code=code)


def q7_a(lab) -> Outcome:
    return _q7(lab, (True, True))


def q7_b(lab) -> Outcome:
    return _q7(lab, (True, False))


def q7_c(lab) -> Outcome:
    return _q7(lab, (False, False))


def q7_d(lab) -> Outcome:
    return _q7(lab, (False, True))
