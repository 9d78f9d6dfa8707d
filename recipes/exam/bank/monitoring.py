"""Monitoring questions: drift statistics (Q16)."""

from __future__ import annotations

from recipes.exam.questions import Option, Question
from recipes.exam.runners import monitoring as m

Q16 = Question(
    id="Q16",
    topic="Model Monitoring",
    text=(
        "Lakehouse Monitoring reports drift per column. Which pairing of statistic and feature "
        "type is right, and what does a PSI of 0.2 mean?"
    ),
    options=(
        Option(
            "A", "KS for every feature, numeric or categorical; PSI 0.2 is a mild change.", m.q16_a
        ),
        Option(
            "B",
            "KS for numeric features, chi² for categorical ones; PSI at or above 0.2 is "
            "the usual line for a significant shift.",
            m.q16_b,
        ),
        Option("C", "chi² for numeric features, KS for categorical ones.", m.q16_c),
        Option("D", "PSI 0.2 means 20% of the rows changed.", m.q16_d),
    ),
    answer="B",
    explanation=(
        "KS compares two cumulative distributions, which needs an order: right for numbers, "
        "meaningless for categories, whose coding is arbitrary. Chi² compares counts per "
        "category and needs no order; on a numeric feature it first needs bins, and its answer "
        "moves with them. PSI sums how far each bin's share moved, weighted by the log of the "
        "ratio: below 0.1 is usually read as stable, 0.1 to 0.2 as a moderate change, 0.2 and "
        "above as significant. It is not a share of rows: a few rows jumping far can score the "
        "same as many moving a little."
    ),
    needs=frozenset(),
)
