"""Multi-task scores and scorers for ``GridSearchCV(scoring=...)``.

A multi-task score is the mean over tasks of a per-task score, each computed
on the rows that have a label for that task.
"""

import inspect

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss

from ._targets import _narrow_object, task_columns

__all__ = [
    "make_task_scorer",
    "mean_task_accuracy",
    "mean_task_f1_macro",
    "mean_task_neg_log_loss",
    "mean_task_score",
]


def _per_task_predictions(y_pred, n_tasks):
    if isinstance(y_pred, list):  # predict_proba of a multi-task model
        return y_pred
    y_pred = np.asarray(y_pred)
    if n_tasks == 1 and (y_pred.ndim == 1 or y_pred.shape[1] != 1):
        return [y_pred]  # 1-D labels, or the probability matrix of one task
    return [y_pred[:, t] for t in range(y_pred.shape[1])]


def mean_task_score(y_true, y_pred, score_func, *, sample_weight=None,
                    labels=None, **kwargs):
    """Mean over tasks of ``score_func`` on each task's labelled rows.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        True labels; missing values are skipped task by task.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_tasks), or list
        Predicted labels, or one probability array per task.
    score_func : callable
        ``score_func(y_true_t, y_pred_t, **kwargs)`` for one task.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights, passed to ``score_func``.
    labels : list of array-like, default=None
        Classes of each task, passed as ``labels=`` (for ``log_loss``).
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import accuracy_score
    >>> from sklearn_mtmm.metrics import mean_task_score
    >>> y_true = np.array([[0, 1.0], [1, np.nan], [1, 0.0]])
    >>> y_pred = np.array([[0, 1.0], [0, 1.0], [1, 1.0]])
    >>> float(mean_task_score(y_true, y_pred, accuracy_score))  # (2/3 + 1/2) / 2
    0.5833...
    """
    _, truths, missing, _ = task_columns(y_true)
    predictions = _per_task_predictions(y_pred, len(truths))
    if len(predictions) != len(truths):
        raise ValueError(
            f"y_true has {len(truths)} task(s) but y_pred has {len(predictions)}."
        )
    scores = []
    for t, (truth, pred) in enumerate(zip(truths, predictions)):
        present = ~missing[:, t]
        extra = dict(kwargs)
        if sample_weight is not None:
            extra["sample_weight"] = np.asarray(sample_weight)[present]
        if labels is not None:
            extra["labels"] = labels[t]
        pred = np.asarray(pred)[present]
        if pred.dtype == object:  # a column of a mixed-dtype prediction
            pred = _narrow_object(pred)
        scores.append(score_func(truth, pred, **extra))
    return float(np.mean(scores))


class _TaskScorer:
    """Scorer ``(estimator, X, y) -> float`` averaging a metric over tasks."""

    def __init__(self, score_func, response_method, sign, kwargs):
        self._score_func = score_func
        self._response_method = response_method
        self._sign = sign
        self._kwargs = kwargs

    def __call__(self, estimator, X, y_true, sample_weight=None):
        y_pred = getattr(estimator, self._response_method)(X)
        labels = None
        if (self._response_method == "predict_proba"
                and "labels" in inspect.signature(self._score_func).parameters):
            classes = estimator.classes_
            labels = classes if isinstance(classes, list) else [classes]
        return self._sign * mean_task_score(
            y_true, y_pred, self._score_func, sample_weight=sample_weight,
            labels=labels, **self._kwargs)

    def __repr__(self):
        sign = "" if self._sign > 0 else ", greater_is_better=False"
        return (f"make_task_scorer({self._score_func.__name__}, response_method="
                f"{self._response_method!r}{sign})")


def make_task_scorer(score_func, *, response_method="predict",
                     greater_is_better=True, **kwargs):
    """Turn a scikit-learn metric into a scorer averaged over tasks.

    Parameters
    ----------
    score_func : callable
        A metric ``score_func(y_true, y_pred, **kwargs)`` for one task, such as
        ``sklearn.metrics.balanced_accuracy_score``.
    response_method : {"predict", "predict_proba"}, default="predict"
        What the metric scores: labels, or each task's probability matrix (the
        task's classes are passed as ``labels=`` when the metric takes them).
    greater_is_better : bool, default=True
        If False the score is negated, as in :func:`sklearn.metrics.make_scorer`.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, usable as ``GridSearchCV(scoring=scorer)``.

    Examples
    --------
    >>> from sklearn.metrics import balanced_accuracy_score
    >>> from sklearn_mtmm.metrics import make_task_scorer
    >>> make_task_scorer(balanced_accuracy_score)
    make_task_scorer(balanced_accuracy_score, response_method='predict')
    """
    if response_method not in ("predict", "predict_proba"):
        raise ValueError(
            f"response_method must be 'predict' or 'predict_proba'; got "
            f"{response_method!r}."
        )
    return _TaskScorer(score_func, response_method, 1 if greater_is_better else -1,
                       kwargs)


mean_task_accuracy = make_task_scorer(accuracy_score)
"""Scorer: mean over tasks of each task's accuracy."""

mean_task_f1_macro = make_task_scorer(f1_score, average="macro")
"""Scorer: mean over tasks of each task's macro-averaged F1."""

mean_task_neg_log_loss = make_task_scorer(
    log_loss, response_method="predict_proba", greater_is_better=False)
"""Scorer: minus the mean over tasks of each task's log loss."""
