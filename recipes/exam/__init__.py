"""Exam practice: the question bank, each option a runnable check, and the lab they run on.

- :mod:`.questions`: the question model (``Question``, ``Option``, ``Outcome``) and how one
  option is run;
- :mod:`.bank`: the questions, one module each (its text, options, checks, answer and
  explanation), found in the package and put in their ``order``; the study module's come
  first, then the kit's own;
- :mod:`.endpoints`, :mod:`.unity_catalog`, :mod:`.common`: what several questions' checks
  share (the ``exam-*`` serving endpoints, the Unity Catalog registries, small helpers);
- :mod:`.lab`: the local stack the checks run on (registry, serving, Spark, the Unity
  Catalog double), started on demand and stopped after;
- :mod:`.scaling`: question 3's measurements and their 100M-row extrapolation (05's driver
  loop too);
- :mod:`.cold_start`: question 2's client side: how a client retries a cold endpoint;
- :mod:`.practice`: a run of the selected questions; :mod:`.display` shows one;
- :mod:`.plots`: the pictures.

Practice runs on the local target only. Importing this package has no side effects.
"""

from recipes.exam.bank import BANK
from recipes.exam.display import render, render_question, show
from recipes.exam.lab import SMALL, Lab, Sizes, require_local
from recipes.exam.practice import Practice
from recipes.exam.questions import (
    LETTERS,
    Option,
    Outcome,
    Question,
    QuestionRun,
    find,
    run_option,
    select,
)

__all__ = [
    "BANK",
    "LETTERS",
    "SMALL",
    "Lab",
    "Option",
    "Outcome",
    "Practice",
    "Question",
    "QuestionRun",
    "Sizes",
    "find",
    "render",
    "render_question",
    "require_local",
    "run_option",
    "select",
    "show",
]
