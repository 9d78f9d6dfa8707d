"""AliasPanel: point aliases at versions and move stages, from a notebook or headless.

Each button calls one :mod:`recipes.registry` verb, keeps its result object in ``result`` and
reports in the ``status`` HTML child. Headless: set ``.value``, then ``.click()`` (or ``apply``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from recipes import registry as _registry
from recipes.errors import NotFoundError, ParameterError
from widgets.status import one_line, show

ACTIONS = ("set_alias", "delete_alias", "transition_stage")


def _message(r: Any) -> tuple[str, bool]:
    """A one-line message for an ``AliasChange`` / ``StageChange``, and whether it is good news."""
    if hasattr(r, "stage"):
        if not r.changed:
            return f"v{r.version} is already in {r.stage}; nothing changed.", True
        tail = f"; archived {', '.join(f'v{v}' for v in r.archived)}" if r.archived else ""
        return f"Moved v{r.version} from {r.previous_stage} to {r.stage}{tail}.", True
    was = f"v{r.previous}" if r.previous is not None else "unset"
    if getattr(r, "blocked", None):
        return f"Blocked by the gate: {r.blocked}. @{r.alias} stays {was}.", False
    if r.version is None and r.changed:
        return f"Deleted @{r.alias} (was {was}).", True
    if r.version is None:
        return f"@{r.alias} was not set; nothing changed.", True
    if not r.changed:
        return f"@{r.alias} already points at v{r.version}; nothing changed.", True
    return f"Set @{r.alias} → v{r.version} (was {was}).", True


class AliasPanel(w.VBox):
    """Set and delete aliases and transition stages of one registered model.

    Attributes:
        version: Dropdown of (label, version): ``v2 · Production · @champion · roc_auc 0.7912``.
        alias: Combobox suggesting champion/challenger; any typed name is allowed.
        set_button: calls ``registry.set_alias(model_name, alias, version[, gate=gate])``.
        delete_button: calls ``registry.delete_alias(model_name, alias)``.
        stage: Dropdown of ``registry.STAGES``.
        archive_existing_versions: Checkbox passed to ``registry.transition_stage``.
        transition_button: calls ``registry.transition_stage``.
        status: HTML child: success in green, errors and gate refusals in red.
        result: the last ``AliasChange`` / ``StageChange`` (None until an action succeeds).
        error: the last error message, or None after a successful action.
        gate: None, or a registry ``GateDecision`` that ``set_alias`` must obey.
    """

    def __init__(self, model_name: str, *, registry: Any = _registry, metric: str = "roc_auc"):
        """Build the panel and load the version list (one ``describe`` call, no writes).

        Args:
            model_name: the registered model.
            registry: :mod:`recipes.registry`, or any object with the same functions.
            metric: the run metric shown in the version labels.

        Raises:
            NotFoundError: when ``model_name`` is not registered.
        """
        self.model_name, self.registry, self.metric = model_name, registry, metric
        self.result: Any = None  # the last AliasChange / StageChange
        self.gate: Any = None  # a registry GateDecision, or None
        self.error: str | None = None
        self._exc: BaseException | None = None
        self.version = w.Dropdown(description="Version", layout=w.Layout(width="40em"))
        self.alias = w.Combobox(
            description="Alias", value="champion", options=["champion", "challenger"]
        )
        self.set_button = w.Button(description="Set alias", button_style="primary")
        self.delete_button = w.Button(description="Delete alias", button_style="warning")
        stages = tuple(getattr(registry, "STAGES", _registry.STAGES))
        default = "Production" if "Production" in stages else stages[0]
        self.stage = w.Dropdown(description="Stage", options=stages, value=default)
        self.archive_existing_versions = w.Checkbox(value=True, description="Archive existing")
        self.transition_button = w.Button(description="Transition")
        self.status = w.HTML()
        self.set_button.on_click(lambda _: self._run(self._set_alias))
        self.delete_button.on_click(lambda _: self._run(self._delete_alias))
        self.transition_button.on_click(lambda _: self._run(self._transition))
        alias_row = w.HBox([self.alias, self.set_button, self.delete_button])
        stage_row = w.HBox([self.stage, self.archive_existing_versions, self.transition_button])
        super().__init__([self.version, alias_row, stage_row, self.status])
        self.refresh()

    def refresh(self) -> None:
        """Reload the versions from the registry; keep the selected version when it still exists."""
        rows = self.registry.describe(self.model_name, metrics=(self.metric,)).to_dict("records")
        selected = self.version.value
        self.version.options = [(self._label(r), int(r["version"])) for r in rows]
        have = self._versions()
        self.version.value = selected if selected in have else (have[-1] if have else None)

    def _versions(self) -> list[int]:
        return [v for _, v in self.version.options]

    def _label(self, row: dict) -> str:
        parts = [f"v{int(row['version'])}", str(row["stage"])]
        names = [a for a in str(row.get("aliases") or "").split(",") if a]
        if names:
            parts.append(" ".join(f"@{a}" for a in names))
        score = row.get(self.metric)
        ok = isinstance(score, int | float) and score == score  # NaN != NaN
        parts.append(f"{self.metric} {score:.4f}" if ok else f"{self.metric} n/a")
        return " · ".join(parts)

    def _run(self, verb: Callable[[], Any]) -> None:
        """Call one verb; on success keep its result and refresh, on error report it in red."""
        self._exc = None
        try:
            result = verb()
            self.result, self.error = result, None
            self.refresh()
        except Exception as exc:  # a click handler must report, not vanish into a log
            self._exc, self.error = exc, one_line(exc)
            show(self.status, self.error, "red")
            return
        message, good = _message(result)
        show(self.status, message, "green" if good else "red")

    def _set_alias(self) -> Any:
        gate = {"gate": self.gate} if self.gate is not None else {}
        return self.registry.set_alias(
            self.model_name, self.alias.value, self.version.value, **gate
        )

    def _delete_alias(self) -> Any:
        return self.registry.delete_alias(self.model_name, self.alias.value)

    def _transition(self) -> Any:
        v, stage, archive = (
            self.version.value,
            self.stage.value,
            self.archive_existing_versions.value,
        )
        return self.registry.transition_stage(
            self.model_name, v, stage, archive_existing_versions=archive
        )

    def apply(
        self,
        *,
        version: int | None = None,
        alias: str | None = None,
        stage: str | None = None,
        action: str = "set_alias",
        raise_errors: bool = True,
    ) -> Any:
        """Set the given widget values, click the action's button and return ``result``.

        This is the papermill path: notebook parameters become arguments, ``apply: bool`` calls it.

        Args:
            version: the version to select; None keeps the current selection.
            alias: the alias name to type; None keeps the current one.
            stage: the target stage (any case); None keeps the current one.
            action: ``"set_alias"``, ``"delete_alias"`` or ``"transition_stage"``.
            raise_errors: also re-raise the click's error, so that a scheduled run fails.

        Raises:
            ParameterError: for an unknown action or stage.
            NotFoundError: for a version the model does not have.
        """
        buttons = (self.set_button, self.delete_button, self.transition_button)
        if action not in ACTIONS:
            raise ParameterError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
        if version is not None:
            if int(version) not in self._versions():
                self.refresh()  # registered since the panel was built?
            if (version := int(version)) not in self._versions():
                have = ", ".join(map(str, self._versions())) or "none"
                raise NotFoundError(
                    f"Model {self.model_name!r} has no version {version}: have {have}."
                )
            self.version.value = version
        if alias is not None:
            self.alias.value = alias
        if stage is not None:
            match = [s for s in self.stage.options if s.lower() == str(stage).strip().lower()]
            if not match:
                raise ParameterError(
                    f"Unknown stage {stage!r}: use one of {', '.join(self.stage.options)}."
                )
            self.stage.value = match[0]
        buttons[ACTIONS.index(action)].click()
        if raise_errors and self._exc is not None:
            raise self._exc
        return self.result
