"""Resolution of the ``modalities`` spec into column indices."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector

from sklearn_mtmm._modalities import feature_names, resolve_modalities

NAMES = np.array(["img__a", "img__b", "txt__c", "age", "txt__d"], dtype=object)


@pytest.fixture
def frame():
    return pd.DataFrame(np.arange(10.0).reshape(2, 5), columns=NAMES)


def resolve(spec, X, **kwargs):
    modalities, by_name = resolve_modalities(
        spec, X, n_features=X.shape[1], names=feature_names(X), **kwargs)
    return {k: v.tolist() for k, v in modalities.items()}, by_name


def test_none_is_one_modality_of_every_column(frame):
    assert resolve(None, frame) == ({"all": [0, 1, 2, 3, 4]}, False)
    assert resolve(None, frame.to_numpy()) == ({"all": [0, 1, 2, 3, 4]}, False)


def test_prefix_groups_and_remainder(frame):
    assert resolve("prefix", frame) == (
        {"img": [0, 1], "txt": [2, 4], "remainder": [3]}, True)
    assert resolve("prefix", frame, remainder="drop") == (
        {"img": [0, 1], "txt": [2, 4]}, True)


@pytest.mark.parametrize("columns, expected, by_name", [
    (["txt__c", "img__a"], [2, 0], True),
    ("age", [3], True),
    ([4, -1, 0], [4, 0], False),  # -1 is column 4, kept once
    (3, [3], False),
    (slice(1, 3), [1, 2], False),
    (slice("img__b", "age"), [1, 2, 3], True),  # name slices include the end
    (np.array([True, False, False, True, False]), [0, 3], False),
    (pd.Index(["age"]), [3], True),
    (make_column_selector(pattern="^txt"), [2, 4], True),
    (lambda X: [0, 1], [0, 1], True),  # a callable on a named frame matches by name
])
def test_column_forms(frame, columns, expected, by_name):
    modalities, named = resolve({"m": columns}, frame, remainder="drop")
    assert modalities == {"m": expected}
    assert named is by_name


def test_list_of_pairs_keeps_order_and_passes_remainder(frame):
    modalities, _ = resolve([("b", [3]), ("a", [0, 1])], frame)
    assert list(modalities) == ["b", "a", "remainder"]
    assert modalities["remainder"] == [2, 4]


def test_positional_modalities_on_arrays():
    X = np.zeros((3, 4))
    assert resolve({"a": slice(0, 2)}, X) == ({"a": [0, 1], "remainder": [2, 3]}, False)


@pytest.mark.parametrize("spec, error, match", [
    ({"m": ["img__x"]}, ValueError,
     r"Modality 'm' names the column 'img__x', which is not in X\. Did you mean "
     r"'img__b'\?"),
    ({"m": []}, ValueError, r"Modality 'm' selects no columns"),
    ({"m": slice(7, 9)}, ValueError, r"Modality 'm' selects no columns"),
    ([("m", [0]), ("m", [1])], ValueError,
     r"Modality names must be unique; 'm' appears more than once"),
    ({"a__b": [0]}, ValueError, r"Modality name 'a__b' contains '__'"),
    ({"lr": [0]}, ValueError, r"Modality name 'lr' clashes with a parameter name"),
    ({"": [0]}, TypeError, r"Modality names must be non-empty strings"),
    ({3: [0]}, TypeError, r"Modality names must be non-empty strings"),
    ({"m": [9]}, ValueError, r"Modality 'm' selects column position 9, but X has 5"),
    ({"m": [True, False]}, ValueError, r"boolean mask of modality 'm' has 2 entries"),
    ({"m": [0, "age"]}, TypeError, r"Columns of modality 'm' mix types"),
    ({"m": 1.5}, TypeError, r"Columns of modality 'm' must be a column name"),
    ("other", ValueError, r"modalities='other' is not a known string"),
    ([("m",)], TypeError, r"must hold \(name, columns\) pairs"),
    (42, TypeError, r"modalities must be None, 'prefix', a dict"),
])
def test_errors(frame, spec, error, match):
    with pytest.raises(error, match=match):
        resolve(spec, frame, reserved={"lr"})


def test_remainder_name_taken(frame):
    with pytest.raises(ValueError, match=r"named 'remainder'.*remainder='drop'"):
        resolve({"remainder": [0]}, frame)
    assert resolve({"remainder": [0]}, frame, remainder="drop")[0] == {"remainder": [0]}


def test_names_need_a_dataframe():
    X = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"Modality 'm' selects columns by name "
                                         r"\(\['a'\]\), which needs X to be a pandas"):
        resolve({"m": ["a"]}, X)
    with pytest.raises(ValueError, match=r"modalities='prefix' .* needs X to be a "
                                         r"pandas DataFrame"):
        resolve("prefix", X)
    with pytest.raises(ValueError, match=r"found no 'group__column' names"):
        resolve("prefix", pd.DataFrame(X, columns=["a", "b", "c"]))
