"""Q7 · Model Registry: can two aliases share a version, and can one alias name two?

Each check calls ``MlflowClient`` as the option writes it, on the lab's own model, and
reads the registry back.
"""

from __future__ import annotations

from recipes.exam.common import alias_versions
from recipes.exam.questions import Option, Outcome, Question


def _q7_scenario(lab) -> dict:
    """Two experiments on the lab's model: two aliases on one version, then one alias
    pointed at a second version."""

    def run() -> dict:
        m = lab.registry()
        client = lab.client
        for alias in ("exam_a", "exam_b"):
            if alias in alias_versions(client, m.name):
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


QUESTION = Question(
    order=7,
    topic="Model Registry",
    text=(
        "Aliases are named references to versions. Can two aliases point at the same version, "
        "and can one alias point at two versions at once?"
    ),
    options=(
        Option("A", "Yes, and yes.", q7_a),
        Option(
            "B",
            "Yes, two aliases can share a version; no, an alias names exactly one version.",
            q7_b,
        ),
        Option("C", "No, and no.", q7_c),
        Option("D", "No, a version holds one alias; yes, an alias can span versions.", q7_d),
    ),
    answer="B",
    explanation=(
        "An alias is a unique, movable name for one version of one model. Setting an alias "
        "that already exists moves it: the old version loses it in the same call. Nothing stops "
        "several aliases from naming the same version, which is what happens when a challenger "
        "is promoted and @champion and @challenger briefly agree."
    ),
    needs=frozenset({"registry"}),
)
