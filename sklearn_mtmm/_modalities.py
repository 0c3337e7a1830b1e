"""Column groups (modalities): the user's spec -> column indices per modality.

``modalities`` follows ``ColumnTransformer``: a dict ``{name: columns}`` or a
list of ``(name, columns)`` pairs, where ``columns`` is a column name, a list
of names, an int, a list of ints, a slice, a boolean mask, or a callable
``X -> columns`` (so ``make_column_selector`` works). ``None`` is one modality
holding every column; ``"prefix"`` groups ``group__column`` names, as a
``ColumnTransformer`` with ``set_output(transform="pandas")`` names them.
"""

import numbers

import numpy as np

from ._messages import did_you_mean

DEFAULT_NAME = "all"
REMAINDER_NAME = "remainder"


def feature_names(X):
    """String column names of a DataFrame-like ``X``, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    if len(names) and all(isinstance(n, str) for n in names):
        return names
    return None


def _spec_items(spec):
    """The ``(name, columns)`` pairs of a dict or list spec."""
    if isinstance(spec, dict):
        return list(spec.items())
    if isinstance(spec, (list, tuple)):
        items = []
        for item in spec:
            if not (isinstance(item, (list, tuple)) and len(item) == 2):
                raise TypeError(
                    "modalities given as a list must hold (name, columns) pairs, "
                    f"as in ColumnTransformer; got the item {item!r}."
                )
            items.append(tuple(item))
        return items
    raise TypeError(
        "modalities must be None, 'prefix', a dict {name: columns} or a list of "
        f"(name, columns) pairs; got {type(spec).__name__} {spec!r}."
    )


def _check_names(names, reserved):
    seen = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"Modality names must be non-empty strings; got {name!r}."
            )
        if "__" in name:
            raise ValueError(
                f"Modality name {name!r} contains '__', which is reserved for "
                "routing parameters (encoder__<modality>__<arg>); rename it."
            )
        if name in reserved:
            raise ValueError(
                f"Modality name {name!r} clashes with a parameter name of the "
                "estimator; rename it."
            )
        if name in seen:
            raise ValueError(
                f"Modality names must be unique; {name!r} appears more than once."
            )
        seen.add(name)


def _name_indices(modality, wanted, names):
    if names is None:
        raise ValueError(
            f"Modality {modality!r} selects columns by name ({list(wanted)[:5]!r}), "
            "which needs X to be a pandas DataFrame with string column names; "
            "X has none. Pass a DataFrame or select columns by position (ints, "
            "a slice or a boolean mask)."
        )
    position = {n: i for i, n in enumerate(names)}
    indices = []
    for column in wanted:
        if column not in position:
            raise ValueError(
                f"Modality {modality!r} names the column {column!r}, which is not "
                f"in X.{did_you_mean(column, names)}"
            )
        indices.append(position[column])
    return indices


def _columns_to_indices(modality, columns, names, n_features):
    """Resolve one modality's columns; return (indices, by_name)."""
    if isinstance(columns, slice):
        start, stop = columns.start, columns.stop
        if isinstance(start, str) or isinstance(stop, str):
            # Name slices include their end, as DataFrame.loc does.
            lo = _name_indices(modality, [start], names)[0] if start is not None else 0
            hi = (_name_indices(modality, [stop], names)[0] + 1
                  if stop is not None else n_features)
            return list(range(n_features))[lo:hi:columns.step], True
        return list(range(n_features))[columns], False
    if isinstance(columns, str):
        return _name_indices(modality, [columns], names), True
    if isinstance(columns, numbers.Integral) and not isinstance(columns, bool):
        columns = [columns]
    if hasattr(columns, "to_numpy"):
        columns = columns.to_numpy()
    try:
        array = np.asarray(columns)
    except Exception:  # ragged or unconvertible input
        array = None
    if array is None or array.ndim != 1:
        raise TypeError(
            f"Columns of modality {modality!r} must be a column name, a list of "
            "names, an int, a list of ints, a slice, a boolean mask or a callable; "
            f"got {columns!r}."
        )
    if array.size == 0:
        return [], False
    if isinstance(columns, (list, tuple)) and not all(
            isinstance(v, bool) for v in columns):
        array = np.empty(len(columns), dtype=object)
        array[:] = list(columns)
    if array.dtype == bool:
        if len(array) != n_features:
            raise ValueError(
                f"The boolean mask of modality {modality!r} has {len(array)} "
                f"entries but X has {n_features} columns."
            )
        return list(np.flatnonzero(array)), False
    values = list(array.tolist())
    if all(isinstance(v, str) for v in values):
        return _name_indices(modality, values, names), True
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        bad = [v for v in values if not -n_features <= v < n_features]
        if bad:
            raise ValueError(
                f"Modality {modality!r} selects column position {bad[0]}, but X "
                f"has {n_features} columns (positions 0 to {n_features - 1})."
            )
        return [v % n_features for v in values], False
    raise TypeError(
        f"Columns of modality {modality!r} mix types or are neither names nor "
        f"positions; got {columns!r}."
    )


def resolve_modalities(spec, X, *, n_features, names=None, remainder="passthrough",
                       reserved=()):
    """Resolve a modalities spec to column indices.

    Parameters
    ----------
    spec : None, "prefix", dict or list of (name, columns) pairs
        The ``modalities`` parameter.
    X : DataFrame or ndarray
        The training data as the user passed it (callables receive it).
    n_features : int
        Number of columns of ``X``.
    names : ndarray of str or None
        The string column names of ``X``, if any.
    remainder : {"passthrough", "drop"}
        What happens to columns no modality selects: a modality of their
        own named ``"remainder"``, or nothing.
    reserved : collection of str
        Names a modality may not take (the estimator's parameters).

    Returns
    -------
    modalities : dict of str to ndarray of int
        Column indices of each modality, in spec order.
    by_name : bool
        Whether some modality selected its columns by name, in which case
        prediction matches columns by name.
    """
    if spec is None:
        items, by_name = [(DEFAULT_NAME, np.arange(n_features))], False
    elif isinstance(spec, str):
        if spec != "prefix":
            raise ValueError(
                f"modalities={spec!r} is not a known string; the only one is "
                "'prefix' (groups from 'group__column' names)."
            )
        if names is None:
            raise ValueError(
                "modalities='prefix' infers groups from 'group__column' names, "
                "which needs X to be a pandas DataFrame with string column names "
                "(e.g. from a ColumnTransformer with set_output(transform='pandas'))."
            )
        groups = {}
        for i, name in enumerate(names):
            if "__" in name:
                groups.setdefault(name.split("__", 1)[0], []).append(i)
        if not groups:
            raise ValueError(
                "modalities='prefix' found no 'group__column' names in X; its "
                f"columns are {list(names[:5])}{'...' if len(names) > 5 else ''}."
            )
        items, by_name = list(groups.items()), True
    else:
        items, by_name = [], False
        for modality, columns in _spec_items(spec):
            _check_names([modality], ())
            if callable(columns):
                columns = columns(X)
                by_name = by_name or names is not None
            indices, named = _columns_to_indices(modality, columns, names, n_features)
            by_name = by_name or named
            if not indices:
                raise ValueError(
                    f"Modality {modality!r} selects no columns; every modality "
                    "needs at least one column (drop it from modalities)."
                )
            items.append((modality, list(dict.fromkeys(int(i) for i in indices))))
    covered = set()
    for _, indices in items:
        covered.update(int(i) for i in indices)
    rest = [i for i in range(n_features) if i not in covered]
    _check_names([name for name, _ in items], set(reserved))
    if rest and remainder == "passthrough":
        if any(name == REMAINDER_NAME for name, _ in items):
            raise ValueError(
                f"A modality is named {REMAINDER_NAME!r}, the name of the modality "
                "of unselected columns; rename it or set remainder='drop'."
            )
        items.append((REMAINDER_NAME, rest))
    return {name: np.asarray(idx, dtype=np.intp) for name, idx in items}, by_name
