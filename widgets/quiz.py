"""QuizPanel: pick a question and an option, press **Run it**, and see what that option does.

The panel runs the chosen option live on a :class:`recipes.exam.Lab` (made on the first run,
on the local target), shows what happened, then says right or wrong and why, and keeps a
score in which each question's first answer counts. Headless: ``choose("Q1", "A")`` sets
the values, clicks, and returns the :class:`Choice`.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from recipes.errors import ParameterError
from recipes.exam import BANK, Lab, Outcome, find, run_option
from widgets.status import one_line, show


@dataclass(frozen=True)
class Choice:
    """One answer and what running it showed.

    Attributes:
        question: the question id.
        letter: the option chosen.
        answer: the right option.
        correct: whether ``letter`` is ``answer``.
        outcome: what running the option did, in words.
        explanation: why the answer is right (the bank's explanation).
        details: the full :class:`~recipes.exam.Outcome`.
    """

    question: str
    letter: str
    answer: str
    correct: bool
    outcome: str
    explanation: str
    details: Outcome


class QuizPanel(w.VBox):
    """Run the learner's choice and keep score.

    Attributes:
        question: Dropdown of the bank's questions (``Q1 · Model Registry``).
        text: HTML child: the question.
        option: RadioButtons of the four options.
        run_button: "Run it": runs the selected option on the lab.
        outcome: HTML child: what running the option did (its call, its table or picture).
        verdict: HTML child: right or wrong, and why.
        score: HTML child: right first answers out of questions answered.
        result: the last :class:`Choice` (None until a run).
        history: every :class:`Choice`, in order.
        error: the last error message, or None.

    Args:
        bank: the questions (default :data:`recipes.exam.BANK`).
        lab: the lab options run on; default a :class:`~recipes.exam.Lab` on the local
            target, made at the first run and closed by :meth:`close`.
    """

    def __init__(self, *, bank=BANK, lab: Lab | None = None):
        self.bank = tuple(bank)
        if not self.bank:
            raise ParameterError("QuizPanel needs at least one question.")
        self._lab, self._own_lab = lab, lab is None
        self.result: Choice | None = None
        self.history: list[Choice] = []
        self.first_answers: dict[str, bool] = {}
        self.error: str | None = None
        self._exc: BaseException | None = None
        self.question = w.Dropdown(
            description="Question",
            options=[(f"{q.id} · {q.topic}", q.id) for q in self.bank],
            layout=w.Layout(width="28em"),
        )
        self.text = w.HTML()
        self.option = w.RadioButtons(description="Answer", layout=w.Layout(width="auto"))
        self.run_button = w.Button(description="Run it", button_style="primary")
        self.outcome = w.HTML()
        self.verdict = w.HTML()
        self.score = w.HTML()
        self.question.observe(lambda _: self._show_question(), names="value")
        self.run_button.on_click(lambda _: self._run())
        super().__init__(
            [
                self.question,
                self.text,
                self.option,
                self.run_button,
                self.outcome,
                self.verdict,
                self.score,
            ]
        )
        self._show_question()
        self._show_score()

    @property
    def lab(self) -> Lab:
        """The lab the options run on (made on first use)."""
        if self._lab is None:
            self._lab = Lab()
        return self._lab

    def _show_question(self) -> None:
        q = find(self.bank, self.question.value)
        self.text.value = f"<b>{q.id}.</b> {html.escape(q.text)}"
        self.option.options = [(f"{o.letter}) {o.text}", o.letter) for o in q.options]
        self.option.value = q.options[0].letter
        self.outcome.value = self.verdict.value = ""

    def _show_score(self) -> None:
        right, answered = sum(self.first_answers.values()), len(self.first_answers)
        self.score.value = (
            f"<i>Score: {right} right of {answered} question(s) answered "
            "(each question's first answer counts).</i>"
        )

    def _run(self) -> None:
        self._exc = None
        q = find(self.bank, self.question.value)
        letter = self.option.value
        try:
            details = run_option(self.lab, q, letter)
        except Exception as exc:  # a click handler must report, not vanish into a log
            self._exc, self.error = exc, one_line(exc)
            show(self.verdict, self.error, "red")
            return
        self.error = None
        choice = Choice(
            q.id, letter, q.answer, letter == q.answer, details.happened, q.explanation, details
        )
        self.result = choice
        self.history.append(choice)
        self.first_answers.setdefault(q.id, choice.correct)
        self.outcome.value = _outcome_html(details)
        word = "Right" if choice.correct else f"Not quite: the answer is {q.answer}"
        self.verdict.value = (
            f'<span style="color: {"green" if choice.correct else "red"}"><b>{word}.</b></span> '
            f"{html.escape(q.explanation)}"
        )
        self._show_score()

    def choose(self, question_id: str, letter: str) -> Choice:
        """Select ``question_id`` and ``letter``, press **Run it**, return the :class:`Choice`.

        Raises:
            NotFoundError: an unknown question; ParameterError: an unknown letter; or what
            the run raised.
        """
        q = find(self.bank, question_id)
        option = q.option(letter)
        self.question.value = q.id
        self.option.value = option.letter
        self.run_button.click()
        if self._exc is not None:
            raise self._exc
        return self.result

    def close(self) -> None:
        """Close the lab if the panel made it (stops what it started)."""
        lab = getattr(self, "_lab", None)  # also called by Widget.__del__, maybe half-built
        if getattr(self, "_own_lab", False) and lab is not None:
            lab.close()
        super().close()


def _outcome_html(o: Outcome) -> str:
    parts = []
    if o.code:
        parts.append(f"<code>{html.escape(o.code)}</code><br>")
    mark = "⚠ the check could not run: " if not o.ran else ""
    parts.append(f"{mark}{html.escape(o.happened)} <i>({o.seconds:.1f} s)</i>")
    if o.table is not None and hasattr(o.table, "to_html"):
        parts.append(o.table.head(12).to_html(index=False, border=0))
    if o.figure is not None:
        parts.append(_figure_html(o.figure))
    return "".join(parts)


def _figure_html(fig: Any) -> str:
    from recipes.pictures import png_bytes

    data = base64.b64encode(png_bytes(fig, dpi=72)).decode("ascii")
    return f'<br><img src="data:image/png;base64,{data}" style="max-width: 100%">'
