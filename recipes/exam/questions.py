"""The question model: a question, its options (each a runnable check) and what a run showed.

A :class:`Question` is data: its place in the bank, its text, four :class:`Option` objects,
the right letter and an explanation in the kit's own words. Each option carries ``check``, a function of a
:class:`~recipes.exam.lab.Lab` that *does* what the option says on the local stack and
returns an :class:`Outcome`: what happened, in words and numbers, and whether that run bears
the option out as the answer (``fits``). The bank's right letter must be the only option
whose run fits; the tests hold it to that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recipes.errors import NotFoundError, ParameterError

if TYPE_CHECKING:
    from recipes.exam.lab import Lab

LETTERS = ("A", "B", "C", "D")
RESOURCES = ("registry", "serving", "spark", "uc")
"""What an option may need from the lab: the MLflow registry, the local serving endpoint,
a Spark session, the Unity Catalog registry (the local workspace double)."""


@dataclass
class Outcome:
    """What running one option showed.

    Attributes:
        happened: one or two sentences: what the run did and saw.
        fits: whether the run bears this option out as the answer to the question.
        evidence: the numbers and facts behind ``happened`` (what the tests assert on).
        code: the call as the option writes it (with the lab's names), if it is code.
        table: an optional frame to show (a stage table, a split, rates).
        table_title: what the table is, in a few words.
        figure: an optional matplotlib ``Figure`` to show.
        error: the one-line error the option's own call raised, when raising is what it does.
        status: ``"ran"``; ``"broken"`` when the check itself failed (a kit or machine fault,
            not the option's behaviour), with ``happened`` saying why.
        seconds: wall time of the check.
    """

    happened: str
    fits: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    table: Any = None
    table_title: str | None = None
    figure: Any = None
    error: str | None = None
    status: str = "ran"
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        return self.status == "ran"


Check = Callable[["Lab"], Outcome]


@dataclass(frozen=True)
class Option:
    """One answer option: its letter, its text as the exam words it, and its check."""

    letter: str
    text: str
    check: Check


@dataclass(frozen=True)
class Question:
    """One practice question.

    Attributes:
        order: its place in the bank: the run order, and the number in its id (``Q<order>``).
        topic: the area, e.g. ``"Model Registry"``.
        text: the question.
        options: four options, A to D.
        answer: the right letter.
        explanation: why the answer is right and the others are not, in the kit's words.
        needs: the lab resources its options use (see :data:`RESOURCES`).
        source: ``"module"`` (the study module's practice questions) or ``"kit"``.
        prepare: optional; starts slow set-up without waiting for it (creating endpoints),
            so a practice run can overlap it with earlier questions. Options never rely on
            it: each check makes what it needs.
    """

    order: int
    topic: str
    text: str
    options: tuple[Option, ...]
    answer: str
    explanation: str
    needs: frozenset[str]
    source: str = "kit"
    prepare: Callable[[Lab], None] | None = None

    @property
    def id(self) -> str:
        """``Q<order>``: ``Q1`` … ``Qn``."""
        return f"Q{self.order}"

    def __post_init__(self):
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise ParameterError(f"order must be a whole number from 1, got {self.order!r}.")
        letters = tuple(o.letter for o in self.options)
        if letters != LETTERS:
            raise ParameterError(f"{self.id}: options must be {LETTERS}, got {letters}.")
        if self.answer not in LETTERS:
            raise ParameterError(f"{self.id}: answer must be one of {LETTERS}.")
        unknown = set(self.needs) - set(RESOURCES)
        if unknown:
            raise ParameterError(f"{self.id}: unknown resources {sorted(unknown)}.")

    def option(self, letter: str) -> Option:
        """The option with ``letter`` (any case)."""
        wanted = str(letter).strip().upper()
        for o in self.options:
            if o.letter == wanted:
                return o
        raise ParameterError(f"{self.id} has options {', '.join(LETTERS)}, not {letter!r}.")


def run_option(lab: Lab, question: Question, letter: str) -> Outcome:
    """Run one option's check on ``lab`` and time it.

    A check that raises (rather than reporting the option's own error in its outcome) is a
    fault of the kit or the machine: the outcome says so, with status ``"broken"``, so one
    broken option never stops the others.
    """
    option = question.option(letter)
    t0 = time.perf_counter()
    try:
        with lab.quietly():
            outcome = option.check(lab)
    except Exception as exc:  # noqa: BLE001 - reported as a broken check, see above
        text = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
        outcome = Outcome(
            f"The check could not run: {text}", fits=False, error=text, status="broken"
        )
    outcome.seconds = round(time.perf_counter() - t0, 2)
    return outcome


@dataclass
class QuestionRun:
    """Every option of one question, run."""

    question: Question
    outcomes: dict[str, Outcome]

    @property
    def options_run(self) -> int:
        return sum(o.ran for o in self.outcomes.values())

    @property
    def fitting(self) -> list[str]:
        """The letters whose runs bear them out (the right answer alone, when all is well)."""
        return [k for k, o in self.outcomes.items() if o.ran and o.fits]

    def line(self) -> str:
        """``<id> <right option> <options run>/<options>``, e.g. ``Q1 B 4/4``."""
        q = self.question
        return f"{q.id} {q.answer} {self.options_run}/{len(q.options)}"


def find(bank: list[Question] | tuple[Question, ...], question_id: str) -> Question:
    """The question ``question_id`` (any case) of ``bank``."""
    wanted = str(question_id).strip().upper()
    for q in bank:
        if q.id == wanted:
            return q
    raise NotFoundError(
        f"No question {question_id!r}: the bank has {', '.join(q.id for q in bank)}."
    )


def select(bank, questions: str) -> list[Question]:
    """The questions named by ``questions``: ``"all"`` or a comma list such as ``"Q1,Q5"``.

    Raises:
        ParameterError: an empty selection or an unknown id (the message lists the ids).
    """
    text = str(questions).strip()
    if text.lower() == "all":
        return list(bank)
    ids = [p.strip().upper() for p in text.split(",") if p.strip()]
    if not ids:
        raise ParameterError('questions must be "all" or a comma list such as "Q1,Q5".')
    known = {q.id: q for q in bank}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ParameterError(
            f"Unknown question(s) {', '.join(unknown)}: the bank has {', '.join(known)}."
        )
    return [q for q in bank if q.id in set(ids)]  # the bank's order
