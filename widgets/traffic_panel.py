"""TrafficPanel: split a serving endpoint's traffic between a champion and a challenger.

It speaks through a databricks-sdk ``WorkspaceClient`` (``serving_endpoints.get`` and
``serving_endpoints.update_config``), so the same panel drives the local endpoint and a
workspace. Headless: set ``challenger_pct.value``, then ``apply_button.click()`` (or ``apply``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from typing import Any

import ipywidgets as w

from recipes.errors import ParameterError
from widgets.status import one_line, show

WAIT_TIMEOUT = timedelta(minutes=5)
_COLUMNS = ("served entity", "entity_name", "entity_version", "traffic %", "deployment")


def _text(value: Any) -> str:
    """An SDK value (enum, None, number, string) as display text."""
    if value is None:
        return "—"
    return str(value.value if isinstance(value, Enum) else value)


def _routes(config: Any) -> dict[str, int]:
    """``{served name: traffic %}`` of a config's traffic routes (empty without a config)."""
    traffic = getattr(config, "traffic_config", None)
    routes = getattr(traffic, "routes", None) or []
    return {
        (r.served_model_name or r.served_entity_name or ""): int(r.traffic_percentage or 0)
        for r in routes
    }


def _table(config: Any) -> str:
    """An HTML table of a config's served entities and their traffic share."""
    shares = _routes(config)
    entities = list(getattr(config, "served_entities", None) or [])
    rows = [
        (
            e.name,
            e.entity_name,
            e.entity_version,
            shares.get(e.name or "", 0),
            getattr(e.state, "deployment", None),
        )
        for e in entities
    ]
    known = {e.name for e in entities}
    rows += [(name, None, None, pct, None) for name, pct in shares.items() if name not in known]
    head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


class TrafficPanel(w.VBox):
    """Move traffic between two served entities of one serving endpoint.

    Attributes:
        challenger_pct: IntSlider 0–100, the challenger's share.
        champion_pct: disabled IntText, always ``100 - challenger_pct.value``.
        apply_button: calls :meth:`apply` (``update_config`` with the new routes).
        refresh_button: calls :meth:`refresh`.
        view: HTML: endpoint state, live routes and the pending config's routes, if any.
        status: HTML one-line message: success in green, errors in red.
        endpoint: the last ``ServingEndpointDetailed`` read (None until used).
        result: the ``ServingEndpointDetailed`` the last successful apply returned.
        error: the last error message, or None after a successful action.
        timeout: how long :meth:`apply` waits for the update when ``wait`` is set.
    """

    def __init__(
        self,
        client: Any,
        endpoint_name: str,
        *,
        champion: str = "champion",
        challenger: str = "challenger",
        wait: bool = True,
    ):
        """Build the panel; it makes no calls until refreshed or applied.

        Args:
            client: a databricks-sdk ``WorkspaceClient``, or anything with
                ``serving_endpoints.get(name)`` and ``serving_endpoints.update_config(...)``.
            endpoint_name: the serving endpoint.
            champion: the served entity that gets ``100 - challenger %``.
            challenger: the served entity that gets the slider's share.
            wait: after an update, wait until the endpoint is no longer updating.

        Raises:
            ParameterError: when champion and challenger are the same entity.
        """
        if champion == challenger:
            raise ParameterError(
                f"champion and challenger are both {champion!r}: name two served entities."
            )
        self.client, self.endpoint_name = client, endpoint_name
        self.champion, self.challenger, self.wait = champion, challenger, wait
        self.timeout = WAIT_TIMEOUT
        self.endpoint: Any = None
        self.result: Any = None
        self.error: str | None = None
        self._exc: BaseException | None = None
        # labels at their own width: the default (a fixed 80px) cuts them to "challenge…"
        labels = {"description_width": "initial"}
        self.challenger_pct = w.IntSlider(
            value=0, min=0, max=100, step=1, description="challenger %", style=labels
        )
        self.champion_pct = w.IntText(
            value=100,
            description="champion %",
            disabled=True,
            style=labels,
            layout=w.Layout(width="12em"),
        )
        self.challenger_pct.observe(self._sync_champion, names="value")
        self.apply_button = w.Button(description="Apply split", button_style="primary")
        self.refresh_button = w.Button(description="Refresh")
        self.view = w.HTML(f"<i>{html.escape(endpoint_name)}: not loaded yet; press Refresh.</i>")
        self.status = w.HTML()
        self.apply_button.on_click(lambda _: self._run(self._apply))
        self.refresh_button.on_click(lambda _: self._run(self._refresh))
        split_row = w.HBox([self.challenger_pct, self.champion_pct])
        super().__init__(
            [split_row, w.HBox([self.apply_button, self.refresh_button]), self.view, self.status]
        )

    def _sync_champion(self, change: dict) -> None:
        self.champion_pct.value = 100 - change["new"]

    def refresh(self, *, raise_errors: bool = False) -> Any:
        """Read the endpoint, render the view and set the slider to the live challenger share.

        Args:
            raise_errors: also re-raise the error shown in ``status``.

        Returns:
            The ``ServingEndpointDetailed`` read, or None when reading failed.
        """
        self.refresh_button.click()
        if raise_errors and self._exc is not None:
            raise self._exc
        return self.endpoint if self._exc is None else None

    def apply(self, challenger_traffic: int | None = None, *, raise_errors: bool = False) -> Any:
        """Set the slider (if given) and send the split to the endpoint; the papermill path.

        Args:
            challenger_traffic: the challenger's share, 0–100; None keeps the slider's value.
            raise_errors: also re-raise the error shown in ``status``, so a scheduled run fails.

        Returns:
            ``result``: the endpoint after the update (None until an apply succeeds).

        Raises:
            ParameterError: for a share that is not an integer from 0 to 100.
        """
        if (share := challenger_traffic) is not None:
            if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
                raise ParameterError(
                    f"challenger_traffic must be an integer from 0 to 100, got {share!r}."
                )
            self.challenger_pct.value = share
        self.apply_button.click()
        if raise_errors and self._exc is not None:
            raise self._exc
        return self.result

    def _run(self, verb: Callable[[], str]) -> None:
        """Call one verb; show its message in green, or its error in red."""
        self._exc = None
        try:
            message = verb()
        except Exception as exc:  # a click handler must report, not vanish into a log
            self._exc, self.error = exc, one_line(exc)
            show(self.status, self.error, "red")
            return
        self.error = None
        show(self.status, message, "green")

    def _get(self) -> Any:
        return self.client.serving_endpoints.get(self.endpoint_name)

    def _render(self, endpoint: Any, *, set_slider: bool) -> None:
        """Show ``endpoint`` in ``view``; optionally move the slider to its live share."""
        self.endpoint = endpoint
        state = endpoint.state
        config, pending = endpoint.config, endpoint.pending_config
        version = f" · config v{config.config_version}" if config and config.config_version else ""
        parts = [
            f"<b>{html.escape(_text(endpoint.name or self.endpoint_name))}</b>"
            f" · ready: {html.escape(_text(getattr(state, 'ready', None)))}"
            f" · config_update: {html.escape(_text(getattr(state, 'config_update', None)))}"
            f"{html.escape(version)}",
            _table(config) if config is not None else "<i>no live config yet</i>",
        ]
        if pending is not None:
            parts.append(f"<b>pending config (v{html.escape(_text(pending.config_version))})</b>")
            parts.append(_table(pending))
        self.view.value = "".join(f"<div>{p}</div>" for p in parts)
        shares = _routes(config if config is not None else pending)
        if set_slider and shares:
            self.challenger_pct.value = shares.get(self.challenger, 0)

    def _split(self, endpoint: Any) -> str:
        shares = _routes(endpoint.config)
        champ, chall = shares.get(self.champion, 0), shares.get(self.challenger, 0)
        return f"{self.champion} {champ}% / {self.challenger} {chall}%"

    def _refresh(self) -> str:
        endpoint = self._get()
        self._render(endpoint, set_slider=True)
        state = _text(getattr(endpoint.state, "config_update", None))
        return f"Endpoint {self.endpoint_name!r}: {self._split(endpoint)} ({state})."

    def _apply(self) -> str:
        from recipes.serving import deploy

        share = self.challenger_pct.value
        routes = {self.champion: 100 - share, self.challenger: share}
        waiter = deploy.update_routes(
            self.client,
            self.endpoint_name,
            routes,
            hint="pass champion=/challenger= with those names",
        )
        split = f"{self.champion} {100 - share}% / {self.challenger} {share}%"
        if self.wait:
            self.result = waiter.result(timeout=self.timeout)
            self._render(self.result, set_slider=False)
            return f"Applied to {self.endpoint_name!r}: {self._split(self.result)}."
        self.result = getattr(waiter, "response", None)
        now = self._get()
        self._render(now, set_slider=False)
        if _text(getattr(now.state, "config_update", None)) == "IN_PROGRESS":
            return f"Sent to {self.endpoint_name!r}: {split}; the update is in progress (Refresh)."
        return f"Applied to {self.endpoint_name!r}: {self._split(now)}."
