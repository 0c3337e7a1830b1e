import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss

from sklearn_mtmm import MultiTaskClassifier
from sklearn_mtmm.metrics import (
    make_task_scorer,
    mean_task_accuracy,
    mean_task_f1_macro,
    mean_task_neg_log_loss,
    mean_task_score,
)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(150, 4)).astype(np.float32)
    Y = pd.DataFrame({"a": np.where(X[:, 0] > 0, "p", "n"),
                      "b": np.digitize(X[:, 1], [-0.5, 0.5]).astype(float)})
    Y.loc[::5, "b"] = np.nan
    clf = MultiTaskClassifier(hidden_layer_sizes=(8,), max_epochs=10, lr=0.01,
                              random_state=0).fit(X, Y)
    return clf, X, Y


def _by_hand(clf, X, Y, metric, proba=False, **kw):
    out = clf.predict_proba(X) if proba else clf.predict(X)
    scores = []
    for t, task in enumerate(Y):
        keep = Y[task].notna().to_numpy()
        pred = out[t][keep] if proba else np.array(out[keep, t].tolist())
        extra = {"labels": clf.classes_[t]} if proba else {}
        scores.append(metric(Y[task][keep], pred, **kw, **extra))
    return np.mean(scores)


def test_scorers_equal_per_task_means(fitted):
    clf, X, Y = fitted
    assert mean_task_accuracy(clf, X, Y) == pytest.approx(_by_hand(clf, X, Y, accuracy_score))
    assert mean_task_accuracy(clf, X, Y) == pytest.approx(clf.score(X, Y))
    assert mean_task_f1_macro(clf, X, Y) == pytest.approx(
        _by_hand(clf, X, Y, f1_score, average="macro"))
    assert mean_task_neg_log_loss(clf, X, Y) == pytest.approx(
        -_by_hand(clf, X, Y, log_loss, proba=True))
    balanced = make_task_scorer(balanced_accuracy_score)
    assert balanced(clf, X, Y) == pytest.approx(
        _by_hand(clf, X, Y, balanced_accuracy_score))


def test_mean_task_score_skips_missing_labels():
    y_true = np.array([[0, 1.0], [1, np.nan], [1, 0.0]])
    y_pred = np.array([[0, 1.0], [0, 1.0], [1, 1.0]])
    assert mean_task_score(y_true, y_pred, accuracy_score) == pytest.approx((2 / 3 + 1 / 2) / 2)
    with pytest.raises(ValueError, match="y_true has 2 task"):
        mean_task_score(y_true, y_pred[:, :1], accuracy_score)
    with pytest.raises(ValueError, match="response_method must be"):
        make_task_scorer(accuracy_score, response_method="decision_function")
