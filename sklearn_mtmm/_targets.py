"""Multi-column targets: per-task label encoding, missing labels and weights.

Every estimator of the package goes through this module to turn the user's
``y`` (1-D, 2-D array or DataFrame, any label type, missing values allowed)
into one integer code matrix, and to turn predicted codes back into labels.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from ._messages import did_you_mean

MISSING = -1
"""The code of a missing label in the encoded target matrix."""


def task_columns(y):
    """Split ``y`` into per-task label columns.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        The targets. Missing values (NaN, None, ``pd.NA``) mark missing labels.

    Returns
    -------
    names : list of str
        Task names: the DataFrame's columns (or the Series' name), else
        ``task_0``, ``task_1``, ...
    labels : list of ndarray
        For each task, its non-missing labels, in row order.
    missing : ndarray of shape (n_samples, n_tasks), dtype=bool
        True where a label is missing.
    one_dimensional : bool
        Whether ``y`` was 1-D (one task, 1-D answers).
    """
    if y is None:
        raise ValueError("y is None: this estimator needs targets to fit.")
    if isinstance(y, pd.DataFrame):
        columns = [y.iloc[:, j] for j in range(y.shape[1])]
        names = [str(c) for c in y.columns]
        one_dimensional = False
    elif isinstance(y, pd.Series):
        columns = [y]
        names = [str(y.name) if y.name is not None else "task_0"]
        one_dimensional = True
    else:
        if hasattr(y, "toarray") or hasattr(y, "tocsr"):
            raise TypeError(
                "Sparse targets are not supported; pass a dense array or a "
                "DataFrame with one column per task."
            )
        array = np.asarray(y)
        if array.ndim == 1:
            columns = [array]
        elif array.ndim == 2:
            columns = [array[:, j] for j in range(array.shape[1])]
        else:
            raise ValueError(
                f"y must be 1-D (one task) or 2-D (one column per task); got an "
                f"array with {array.ndim} dimensions and shape {array.shape}."
            )
        one_dimensional = array.ndim == 1
        names = [f"task_{j}" for j in range(len(columns))]
    if not columns:
        raise ValueError("y has no columns: at least one task is needed.")
    if len(set(names)) != len(names):
        raise ValueError(f"Task names must be unique; y has columns {names}.")

    n_samples = len(columns[0])
    missing = np.zeros((n_samples, len(columns)), dtype=bool)
    labels = []
    for t, column in enumerate(columns):
        is_missing = np.asarray(pd.isna(column), dtype=bool)
        missing[:, t] = is_missing
        values = column[~is_missing]
        values = values.to_numpy() if isinstance(values, pd.Series) else values
        if values.dtype == object:
            values = _narrow_object(values)
        labels.append(values)
    return names, labels, missing, one_dimensional


def _narrow_object(values):
    """Give an object array of labels a plain dtype when all labels share one."""
    kinds = {type(v) for v in values}
    if kinds and all(issubclass(k, str) for k in kinds):
        return values  # strings stay objects, as in scikit-learn
    if kinds and all(issubclass(k, (bool, np.bool_)) for k in kinds):
        return values.astype(bool)
    if kinds and all(
        issubclass(k, numbers.Integral) and not issubclass(k, (bool, np.bool_))
        for k in kinds
    ):
        return values.astype(np.int64)
    if kinds and all(
        issubclass(k, numbers.Real) and not issubclass(k, (bool, np.bool_))
        for k in kinds
    ):
        return values.astype(np.float64)
    return values


class TaskTargets:
    """Integer codes, classes and missing-label mask of a multi-task target.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        The targets.
    classes : list of ndarray, default=None
        Known classes per task (refit, ``warm_start``, ``partial_fit``). When
        given, every label of ``y`` must be one of them.
    tasks : list of str, default=None
        Known task names; when given, ``y`` must have exactly these tasks.

    Attributes
    ----------
    tasks : list of str
    classes : list of ndarray
    codes : ndarray of shape (n_samples, n_tasks), dtype=int64
        Index of each label in its task's classes; ``MISSING`` (-1) where
        the label is missing.
    one_dimensional : bool
    """

    def __init__(self, y, classes=None, tasks=None):
        names, labels, missing, self.one_dimensional = task_columns(y)
        if tasks is not None and names != list(tasks):
            raise ValueError(
                f"y has tasks {names} but the model was fitted on {list(tasks)}; "
                "refit with warm_start=False."
            )
        self.tasks = names
        self.codes = np.full(missing.shape, MISSING, dtype=np.int64)
        self.classes = []
        for t, (name, values) in enumerate(zip(names, labels)):
            if values.size == 0:
                raise ValueError(
                    f"Task {name!r} has no labels: every value of its column is "
                    "missing. Drop the column or provide labels."
                )
            _check_labels(name, values)
            if classes is None:
                task_classes, codes = np.unique(values, return_inverse=True)
            else:
                task_classes = np.asarray(classes[t])
                codes = _codes_in(name, values, task_classes)
            self.classes.append(task_classes)
            self.codes[~missing[:, t], t] = codes

    @property
    def mask(self):
        """Boolean matrix, True where a label is present."""
        return self.codes != MISSING


def _check_labels(name, values):
    try:
        check_classification_targets(values)
    except ValueError as exc:
        raise ValueError(f"Task {name!r}: {exc}") from None
    except TypeError as exc:
        raise TypeError(
            f"Task {name!r} mixes label types ({exc}); use one type per task."
        ) from None


def _codes_in(name, values, classes):
    unseen = np.setdiff1d(values, classes)
    if unseen.size:
        raise ValueError(
            f"Task {name!r} has labels {unseen.tolist()} that are not among its "
            f"classes {classes.tolist()}."
        )
    return np.searchsorted(classes, values)


def decode(codes, classes, one_dimensional):
    """Turn predicted codes of shape (n_samples, n_tasks) back into labels.

    Each column keeps its task's label dtype; when tasks differ in dtype the
    result is an object array holding each task's own labels.
    """
    columns = [task_classes[codes[:, t]] for t, task_classes in enumerate(classes)]
    if one_dimensional:
        return columns[0]
    dtypes = {c.dtype for c in columns}
    dtype = dtypes.pop() if len(dtypes) == 1 else object
    out = np.empty(codes.shape, dtype=dtype)
    for t, column in enumerate(columns):
        out[:, t] = column
    return out


def per_task_values(value, tasks, name, *, default):
    """Resolve a per-task parameter given as None, a scalar, a sequence or a dict.

    Returns a list with one entry per task. A dict may name a subset of the
    tasks; the others get ``default``. Unknown names and wrong lengths raise a
    ``ValueError`` naming the parameter and the known tasks.
    """
    if value is None:
        return [default] * len(tasks)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in tasks]
        if unknown:
            raise ValueError(
                f"{name} names unknown task(s) {', '.join(map(repr, unknown))}; "
                f"the tasks are {tasks}.{did_you_mean(unknown[0], tasks)}"
            )
        return [value.get(task, default) for task in tasks]
    if isinstance(value, str) or not hasattr(value, "__len__"):
        return [value] * len(tasks)
    if len(value) != len(tasks):
        raise ValueError(
            f"{name} has {len(value)} entries but y has {len(tasks)} task(s) "
            f"{tasks}; give one per task or a dict by task name."
        )
    return list(value)


def loss_weight_vector(loss_weights, tasks):
    """Validate ``loss_weights`` into a float array with one weight per task."""
    weights = per_task_values(loss_weights, tasks, "loss_weights", default=1.0)
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"loss_weights must be numbers; got {loss_weights!r}."
        ) from None
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            f"loss_weights must be finite and non-negative; got "
            f"{dict(zip(tasks, weights.tolist()))}."
        )
    if not np.any(weights > 0):
        raise ValueError("loss_weights are all zero: no task would be trained.")
    return weights


def class_weight_matrix(class_weight, targets):
    """Per-row, per-task class weights of shape (n_samples, n_tasks).

    ``class_weight`` is None, ``"balanced"``, a dict ``{label: weight}`` (one
    task only), a dict by task name, or a sequence with one entry per task;
    each entry is None, ``"balanced"`` or ``{label: weight}``.
    """
    tasks = targets.tasks
    if (
        isinstance(class_weight, dict)
        and len(tasks) == 1
        and not set(class_weight) <= set(tasks)
    ):
        class_weight = [class_weight]
    specs = per_task_values(class_weight, tasks, "class_weight", default=None)
    out = np.ones(targets.codes.shape, dtype=np.float32)
    for t, spec in enumerate(specs):
        if spec is None:
            continue
        if not (spec == "balanced" or isinstance(spec, dict)):
            raise ValueError(
                f"class_weight for task {tasks[t]!r} must be None, 'balanced' or "
                f"a dict {{label: weight}}; got {spec!r}."
            )
        present = targets.codes[:, t] != MISSING
        classes = targets.classes[t]
        y_t = classes[targets.codes[present, t]]
        per_class = compute_class_weight(spec, classes=classes, y=y_t)
        out[present, t] = per_class[targets.codes[present, t]]
    return out


def sample_weight_matrix(sample_weight, n_samples, n_tasks):
    """Validate ``sample_weight`` of shape (n,) or (n, n_tasks) into (n, n_tasks)."""
    if sample_weight is None:
        return np.ones((n_samples, n_tasks), dtype=np.float32)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 1:
        weights = weights[:, None]
    if weights.ndim != 2 or weights.shape[0] != n_samples or weights.shape[1] not in (
        1,
        n_tasks,
    ):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},) or ({n_samples}, "
            f"{n_tasks}); got {np.shape(sample_weight)}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("Negative values in data passed to sample_weight.")
    return np.broadcast_to(weights, (n_samples, n_tasks)).astype(np.float32)
