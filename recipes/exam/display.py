"""Show a question and what its options did, as a learner reads it in a notebook.

:func:`render` gives the Markdown (the question, each option with the call it ran and what
happened, then the answer and why); :func:`show` displays it, then each option's table and
picture. Outside IPython :func:`show` does nothing.
"""

from __future__ import annotations

from recipes.exam.questions import Question, QuestionRun

MARK = {True: "✔ fits", False: "✘"}


def render_question(q: Question) -> str:
    """The question and its four options, as the exam writes them."""
    lines = [f"### {q.id} · {q.topic}", "", q.text, ""]
    lines += [f"- **{o.letter})** {o.text}" for o in q.options]
    return "\n".join(lines)


def render(run: QuestionRun) -> str:
    """Markdown: each option, what running it did, then the answer with its reason."""
    q = run.question
    lines = [f"### {q.id} · {q.topic}: every option, run", ""]
    for letter, outcome in run.outcomes.items():
        option = q.option(letter)
        status = MARK[outcome.fits] if outcome.ran else "⚠ could not run"
        lines.append(f"**{letter})** {option.text}  \n{status} · {outcome.seconds:.1f} s  ")
        if outcome.code:
            lines.append(f"`{outcome.code}`  ")
        lines.append(f"{outcome.happened}")
        lines.append("")
    pointed = ", ".join(run.fitting) or "none"
    lines.append(f"**Answer: {q.answer}.** The runs point to: {pointed}. {q.explanation}")
    return "\n".join(lines)


def show(run: QuestionRun | None, *, tables: bool = True, figures: bool = True) -> None:
    """Display :func:`render` of ``run``, then its tables and pictures (None: a line saying
    the question was not selected)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    from IPython.display import Markdown, display

    from recipes.pictures import show as show_picture

    if run is None:
        display(Markdown("*Not selected in `questions`.*"))
        return
    display(Markdown(render(run)))
    seen_tables, seen_figures = set(), set()
    for letter, outcome in run.outcomes.items():
        key = _table_key(outcome.table)
        if tables and outcome.table is not None and key not in seen_tables:
            seen_tables.add(key)
            title = outcome.table_title or "what the run left"
            display(Markdown(f"*{run.question.id} {letter}: {title}*"))
            display(outcome.table)
        if figures and outcome.figure is not None and id(outcome.figure) not in seen_figures:
            seen_figures.add(id(outcome.figure))
            show_picture(outcome.figure, f"{run.question.id}-{letter}")


def _table_key(table) -> str:
    """Options that read one shared scenario show its table once."""
    if table is None:
        return ""
    try:
        return table.to_json(default_handler=str)
    except Exception:  # noqa: BLE001 - not a frame: compare by identity
        return str(id(table))
