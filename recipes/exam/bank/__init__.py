"""The question bank: one module per question, found here and put in order.

Each module of this package (``q03_hundred_million_rows.py``, say) holds one question as
``QUESTION``: its text, its options with their runnable checks, its answer and explanation,
and ``order``, its place in the bank (the run order, and the number of its id, ``Q3``). The
study module's practice questions come first (``source="module"``), the kit's own after
them. The questions that need the Unity Catalog double (Q5, Q6) sit together, so it is
started once and stopped after them.

To add a question, add a module with the next ``order`` (its test beside the others in
``tests/exam/``); :data:`BANK` picks it up, and ``mdk golden 07`` writes its cells into
``notebooks/07_exam_practice.ipynb``. Helpers that several questions' checks share live in
:mod:`recipes.exam.endpoints`, :mod:`recipes.exam.unity_catalog` and
:mod:`recipes.exam.common`.
"""

from __future__ import annotations

import importlib
import pkgutil
from itertools import pairwise

from recipes.errors import ParameterError
from recipes.exam.questions import Question


def load(package: str = __name__) -> tuple[Question, ...]:
    """The ``QUESTION`` of every public module of ``package``, in ``order``.

    Raises:
        ParameterError: a module holds no ``QUESTION``, or two questions share an order.
    """
    found: list[tuple[Question, str]] = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        question = getattr(module, "QUESTION", None)
        if not isinstance(question, Question):
            raise ParameterError(f"{module.__name__} holds no QUESTION (a Question).")
        found.append((question, module.__name__))
    found.sort(key=lambda pair: pair[0].order)
    for (a, where_a), (b, where_b) in pairwise(found):
        if a.order == b.order:
            raise ParameterError(f"{where_a} and {where_b} both have order {a.order}.")
    return tuple(q for q, _ in found)


BANK = load()

__all__ = ["BANK", "load"]
