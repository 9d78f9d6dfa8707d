"""A lab that starts nothing, and questions whose checks need none."""

from __future__ import annotations

from recipes import exam
from recipes.exam import LETTERS, Option, Outcome, Question


class FakeLab:
    """Just enough of a :class:`recipes.exam.Lab` for checks that use no service."""

    def __init__(self):
        self.released: list[str] = []
        self.closed = False
        self.printed: list[str] = []
        self._cache: dict = {}

    def quietly(self):
        return exam.Lab.quietly(self)

    def once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def release(self, resource):
        self.released.append(resource)

    def close(self):
        self.closed = True


def fake_question(qid: str, answer: str, needs=frozenset(), boom: str | None = None) -> Question:
    """Options that report their own letter; ``boom`` names one whose check raises."""

    def check(letter):
        def run(lab):
            if letter == boom:
                raise RuntimeError("the lab is on fire")
            print("library chatter")  # kept out of the notebook
            return Outcome(f"{letter} ran", fits=letter == answer, evidence={"letter": letter})

        return run

    return Question(
        int(qid.removeprefix("Q")),
        "Fake",
        f"{qid}?",
        tuple(Option(k, k, check(k)) for k in LETTERS),
        answer,
        "because",
        frozenset(needs),
    )
