"""Q8 · Model Serving: which of the four JSON request formats is columnar. Each format is
sent to the same endpoint.
"""

from __future__ import annotations

import json

from recipes.exam.endpoints import endpoint, live_records, post, warm
from recipes.exam.questions import Option, Outcome, Question
from recipes.formats import FORMATS, encode


def _bodies(records: list[dict]) -> dict[str, dict]:
    """The same records in each option's format (A-D: the order of :data:`formats.FORMATS`)."""
    return {letter: encode(records, fmt) for letter, fmt in zip("ABCD", FORMATS, strict=True)}


def _layout(body: dict) -> str:
    ((key, value),) = body.items()
    if isinstance(value, dict) and "data" in value:
        return "rows (a columns header, then one list of values per row)"
    if isinstance(value, dict):
        return "columns (one list per feature)"
    return "rows (one object per row)"


def q8_scenario(lab) -> dict:
    def run() -> dict:
        import requests

        _, conn = lab.serving()
        name = endpoint(lab, "champion")
        records = live_records(3, seed=8)  # JSON integers, as the long signature takes them
        out = {}
        with requests.Session() as s:
            for letter, body in _bodies(records).items():
                r = post(s, conn, name, body)
                out[letter] = {
                    "body": body,
                    "status": r.status_code,
                    "predictions": r.json().get("predictions"),
                    "layout": _layout(body),
                }
        return out

    return lab.once("q8", run)


def _q8(lab, letter: str) -> Outcome:
    s = q8_scenario(lab)
    mine = s[letter]
    same = all(v["predictions"] == s["A"]["predictions"] for v in s.values())
    body = json.dumps(mine["body"], separators=(",", ":"))
    return Outcome(
        f"HTTP {mine['status']}, predictions {mine['predictions']}"
        f"{' (the same in all four formats)' if same else ''}. Laid out by {mine['layout']}.",
        fits=mine["layout"].startswith("columns") and mine["status"] == 200,
        evidence={
            "status": mine["status"],
            "layout": mine["layout"],
            "same_predictions": same,
            "predictions": mine["predictions"],
            "key": next(iter(mine["body"])),
        },
        code=f"requests.post(url, headers=headers, json={body[:160]}{'…' if len(body) > 160 else ''})",
    )


def q8_a(lab) -> Outcome:
    return _q8(lab, "A")


def q8_b(lab) -> Outcome:
    return _q8(lab, "B")


def q8_c(lab) -> Outcome:
    return _q8(lab, "C")


def q8_d(lab) -> Outcome:
    return _q8(lab, "D")


QUESTION = Question(
    order=8,
    topic="Model Serving",
    text=(
        "A serving endpoint accepts four JSON input formats. Which request body is columnar, "
        "sending one array of values per feature?"
    ),
    options=(
        Option("A", '{"dataframe_records": [{"total_purchases": 15, ...}, ...]}', q8_a),
        Option("B", '{"dataframe_split": {"columns": [...], "data": [[15, 320, 7], ...]}}', q8_b),
        Option("C", '{"instances": [{"total_purchases": 15, ...}, ...]}', q8_c),
        Option(
            "D",
            '{"inputs": {"total_purchases": [15, ...], "avg_session_duration": [320, ...], ...}}',
            q8_d,
        ),
    ),
    answer="D",
    explanation=(
        "`dataframe_records` and `instances` send one object per row; `dataframe_split` sends "
        "the column names once and then the rows as lists, which is pandas' split orientation, "
        "still row by row. `inputs` given an object of arrays (the TensorFlow-serving columnar "
        "form) carries one array per feature. All four reach the model as the same rows and "
        "give the same predictions; they differ in size and in what your client finds easy to "
        "build."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("champion"),
)
