"""A practice run: every option of every selected question, in order, on one lab.

``Practice(questions="Q1,Q5").run("Q1")`` runs all four options of Q1 (or nothing, when Q1
is not selected) and, once no later selected question needs the Unity Catalog double or
the serving endpoint any more, takes it down. :meth:`Practice.lines` gives the one-line
summary per question the notebook's last cell prints.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from recipes.exam.bank import BANK
from recipes.exam.lab import Lab
from recipes.exam.questions import Question, QuestionRun, find, run_option, select
from recipes.jsonfile import write_json

RELEASED_AFTER_USE = ("uc", "serving")


class Practice:
    """Run the selected questions of ``bank`` on ``lab``.

    Args:
        questions: ``"all"`` or a comma list such as ``"Q1,Q5"``.
        lab: the lab to run on; default a new :class:`Lab` on ``target``.
        bank: the questions (default :data:`recipes.exam.bank.BANK`).
        target: passed to :class:`Lab` (must be local).
    """

    def __init__(
        self,
        questions: str = "all",
        *,
        lab: Lab | None = None,
        bank=BANK,
        target: str | None = None,
    ):
        self.bank = tuple(bank)
        self.selected = select(self.bank, questions)
        self.lab = lab if lab is not None else Lab(target)
        self.runs: dict[str, QuestionRun] = {}
        self._prepared = False

    def prepare(self) -> None:
        """Start the selected questions' slow set-up (endpoints) without waiting for it."""
        if self._prepared:
            return
        self._prepared = True
        for q in self.selected:
            if q.prepare is not None:
                with contextlib.suppress(Exception), self.lab.quietly():
                    q.prepare(self.lab)  # best effort: the options make what they need

    def is_selected(self, question_id: str) -> bool:
        return find(self.bank, question_id) in self.selected

    def run(self, question_id: str) -> QuestionRun | None:
        """Every option of ``question_id``, run in order (None when it is not selected)."""
        q = find(self.bank, question_id)
        if q not in self.selected:
            return None
        self.prepare()
        outcomes = {o.letter: run_option(self.lab, q, o.letter) for o in q.options}
        self.runs[q.id] = QuestionRun(q, outcomes)
        self._release_after(q)
        return self.runs[q.id]

    def _release_after(self, q: Question) -> None:
        later = self.selected[self.selected.index(q) + 1 :]
        for resource in RELEASED_AFTER_USE:
            if resource in q.needs and not any(resource in x.needs for x in later):
                self.lab.release(resource)

    def run_all(self) -> list[QuestionRun]:
        """Run every selected question not run yet; all runs, in bank order."""
        for q in self.selected:
            if q.id not in self.runs:
                self.run(q.id)
        return [self.runs[q.id] for q in self.selected]

    def lines(self) -> list[str]:
        """``<id> <right option> <options run>/<options>`` per selected question."""
        out = []
        for q in self.selected:
            run = self.runs.get(q.id)
            out.append(run.line() if run else f"{q.id} {q.answer} 0/{len(q.options)}")
        return out

    def summary(self) -> pd.DataFrame:
        """One row per selected question: the answer, options run, the options whose runs
        fit, and the seconds it took."""
        rows = []
        for q in self.selected:
            run = self.runs.get(q.id)
            rows.append(
                {
                    "question": q.id,
                    "topic": q.topic,
                    "answer": q.answer,
                    "options_run": run.options_run if run else 0,
                    "runs_point_to": ",".join(run.fitting) if run else "",
                    "seconds": round(sum(o.seconds for o in run.outcomes.values()), 1)
                    if run
                    else 0.0,
                }
            )
        return pd.DataFrame(rows)

    def record(self) -> dict[str, Any]:
        """Every run option as data: status, whether it fits, what happened, its error and
        evidence (JSON-safe: numbers, strings, lists and dicts; frames and figures left out)."""
        return {
            "sizes": asdict(self.lab.sizes) if hasattr(self.lab, "sizes") else None,
            "questions": {
                q.id: {
                    "answer": q.answer,
                    "options": {
                        k: {
                            "status": o.status,
                            "fits": o.fits,
                            "happened": o.happened,
                            "error": o.error,
                            "seconds": o.seconds,
                            "code": o.code,
                            "evidence": _plain(o.evidence),
                        }
                        for k, o in run.outcomes.items()
                    },
                }
                for q in self.selected
                if (run := self.runs.get(q.id)) is not None
            },
        }

    def save(self, path: Path | str | None = None) -> Path:
        """Write :meth:`record` as JSON (default ``<lab home>/practice.json``); its path."""
        path = Path(path) if path is not None else self.lab.home / "practice.json"
        return write_json(path, self.record(), indent=1, default=str)

    def close(self) -> None:
        """Take down everything the lab started."""
        self.lab.close()


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones, and frames, figures and other objects
    left out (None); dict keys become strings, as JSON has them."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return None
