"""The question bank, split by topic: Q1–Q5 are the study module's practice questions, Q6–Q17
the kit's own, over the same domain.

Ids are in the order a practice run takes them; the questions that need the Unity Catalog
double (Q5, Q6) sit together, so it is started once and stopped after them.
"""

from recipes.exam.bank.batch import Q3, Q12, Q13, Q14, Q15
from recipes.exam.bank.monitoring import Q16
from recipes.exam.bank.registry import Q1, Q5, Q6, Q7
from recipes.exam.bank.serving import Q2, Q4, Q8, Q9, Q10, Q11, Q17

BANK = (Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9, Q10, Q11, Q12, Q13, Q14, Q15, Q16, Q17)

__all__ = ["BANK"]
