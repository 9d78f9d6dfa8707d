"""Classification metrics, pure: no kit imports but threads, so the trainer, the gate and tests
share them."""

from __future__ import annotations

import numpy as np

from recipes.threads import one_thread


def classification_metrics(y_true, y_pred, y_score=None) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and (given scores) ROC-AUC, rounded to 4 places."""
    from sklearn import metrics as m

    out = {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "precision": m.precision_score(y_true, y_pred, zero_division=0),
        "recall": m.recall_score(y_true, y_pred, zero_division=0),
        "f1": m.f1_score(y_true, y_pred, zero_division=0),
    }
    if y_score is not None and len(set(np.asarray(y_true).tolist())) > 1:
        out["roc_auc"] = m.roc_auc_score(y_true, y_score)
    return {k: round(float(v), 4) for k, v in out.items()}


def score_model(model, X, y) -> dict[str, float]:
    """Held-out metrics of an sklearn-like ``model`` on features ``X`` and labels ``y``."""
    with one_thread():
        proba = model.predict_proba(X)[:, 1] if hasattr(model, "predict_proba") else None
        pred = model.predict(X)
    return classification_metrics(y, pred, proba)
