"""Carry out a verdict: move traffic or an alias, or flag the champion for retraining.

- ``rollback``: all traffic back to the champion entity (the challenger keeps running at 0%);
- ``promote_challenger``: ``@champion`` moves to the challenger's version, and all traffic
  goes to the challenger entity, which already serves that version (no model load);
- ``drift``: the champion version gets tags naming the drifted columns (a retraining job can
  look for them); traffic and aliases stay;
- ``ok``: nothing.

Every change goes through the official SDK and the registry, so it runs the same against a
workspace. ``dry_run`` says what would change and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from recipes.errors import ParameterError
from recipes.monitoring.verdict import DECISIONS, Verdict

TIMEOUT = timedelta(minutes=5)


@dataclass(frozen=True)
class Action:
    """What :func:`carry_out` did (or, on a dry run, would do)."""

    decision: str
    did: str
    changed: bool

    def __str__(self) -> str:
        return self.did


def carry_out(
    verdict: Verdict,
    w,
    endpoint_name: str,
    model_name: str,
    *,
    champion_entity: str = "champion",
    challenger_entity: str = "challenger",
    dry_run: bool = False,
    timeout: timedelta = TIMEOUT,
) -> Action:
    """Act on ``verdict`` for the endpoint and the registered model behind it.

    Args:
        w: a databricks-sdk ``WorkspaceClient`` (see :mod:`recipes.serving.client`).
        champion_entity, challenger_entity: the endpoint's served-entity names.
        dry_run: report the change without making it.
    """
    from recipes import registry
    from recipes.serving import deploy

    decision = verdict.decision
    if decision not in DECISIONS:
        raise ParameterError(f"Unknown decision {decision!r}: expected one of {DECISIONS}.")
    if decision == "ok":
        return Action(decision, "Nothing to do: the verdict is ok.", False)
    if decision == "drift":
        if verdict.champion is None:
            raise ParameterError("A drift verdict needs the champion version to tag it.")
        tags = {"mdk.monitor.verdict": "drift", "mdk.monitor.drifted": ",".join(verdict.drifted)}
        if dry_run:
            return Action(
                decision, f"Would have tagged {model_name} v{verdict.champion} {tags}.", False
            )
        registry.annotate(model_name, version=int(verdict.champion), tags=tags)
        return Action(
            decision, f"Tagged {model_name} v{verdict.champion} {tags} for retraining.", True
        )
    routes = {champion_entity: 100, challenger_entity: 0}
    if decision == "promote_challenger":
        routes = {champion_entity: 0, challenger_entity: 100}
    did = f"Routed {routes} on {endpoint_name!r}"
    if decision == "promote_challenger":
        did += f" and set @champion on {model_name} v{verdict.challenger}"
    if dry_run:
        return Action(decision, f"Would have {did[0].lower()}{did[1:]}.", False)
    # traffic first: if the endpoint refuses the update, the alias has not moved either
    deploy.update_routes(w, endpoint_name, routes).result(timeout=timeout)
    if decision == "promote_challenger":
        registry.set_alias(model_name, "champion", int(verdict.challenger))
    return Action(decision, did + ".", True)
