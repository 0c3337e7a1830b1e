import numpy as np
import pandas as pd
import pytest

from sklearn_mtmm._targets import (
    MISSING,
    TaskTargets,
    class_weight_matrix,
    decode,
    loss_weight_vector,
    sample_weight_matrix,
)


def test_dataframe_tasks_labels_and_missing():
    y = pd.DataFrame({
        "colour": ["red", None, "blue", "red"],
        "size": pd.array([1, 3, pd.NA, 1], dtype="Int64"),
        "flag": [True, False, True, np.nan],
    })
    targets = TaskTargets(y)
    assert targets.tasks == ["colour", "size", "flag"]
    assert targets.classes[0].tolist() == ["blue", "red"]
    assert targets.classes[1].tolist() == [1, 3]
    assert targets.classes[1].dtype.kind == "i"
    assert targets.classes[2].tolist() == [False, True]
    assert targets.codes.tolist() == [[1, 0, 1], [MISSING, 1, 0], [0, MISSING, 1],
                                      [1, 0, MISSING]]
    assert not targets.one_dimensional


def test_array_tasks_are_named_by_position():
    targets = TaskTargets(np.array([[0, 5], [1, 6]]))
    assert targets.tasks == ["task_0", "task_1"]
    one = TaskTargets(np.array(["a", "b", "a"]))
    assert one.one_dimensional and one.tasks == ["task_0"]


def test_decode_keeps_each_task_dtype():
    classes = [np.array(["a", "b"], dtype=object), np.array([10, 20])]
    out = decode(np.array([[1, 0], [0, 1]]), classes, one_dimensional=False)
    assert out.dtype == object
    assert out[:, 0].tolist() == ["b", "a"]
    assert out[:, 1].tolist() == [10, 20] and isinstance(out[0, 1], (int, np.integer))
    same = decode(np.array([[1, 0]]), [np.array([3, 4]), np.array([5, 6])], False)
    assert same.dtype.kind == "i"


@pytest.mark.parametrize("y, message", [
    (np.array([0.5, 1.5, 2.25, 3.1]), "Task 'task_0': Unknown label type: continuous"),
    (np.array([[1, np.nan], [0, np.nan]]), "Task 'task_1' has no labels"),
    (np.zeros((2, 2, 2)), "y must be 1-D .* 3 dimensions"),
])
def test_bad_targets(y, message):
    with pytest.raises(ValueError, match=message):
        TaskTargets(y)


def test_unseen_label_with_known_classes():
    with pytest.raises(ValueError, match=r"Task 'task_0' has labels \[7\]"):
        TaskTargets(np.array([1, 7]), classes=[np.array([1, 2])])


def test_loss_weights_resolution_and_errors():
    tasks = ["species", "sex"]
    assert loss_weight_vector(None, tasks).tolist() == [1.0, 1.0]
    assert loss_weight_vector({"sex": 0.5}, tasks).tolist() == [1.0, 0.5]
    assert loss_weight_vector([2, 3], tasks).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match=r"unknown task\(s\) 'spcies'; the tasks are "
                       r"\['species', 'sex'\]. Did you mean 'species'\?"):
        loss_weight_vector({"spcies": 1.0}, tasks)
    with pytest.raises(ValueError, match="loss_weights has 3 entries but y has 2"):
        loss_weight_vector([1, 2, 3], tasks)
    with pytest.raises(ValueError, match="finite and non-negative"):
        loss_weight_vector([1, -1], tasks)
    with pytest.raises(ValueError, match="all zero"):
        loss_weight_vector([0, 0], tasks)


def test_sample_weight_shapes():
    assert sample_weight_matrix(None, 3, 2).shape == (3, 2)
    assert sample_weight_matrix([1, 2, 3], 3, 2)[:, 1].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match=r"shape \(3,\) or \(3, 2\); got \(3, 3\)"):
        sample_weight_matrix(np.ones((3, 3)), 3, 2)
    with pytest.raises(ValueError, match="Negative values"):
        sample_weight_matrix([1, -1, 1], 3, 2)


def test_class_weight_balanced_and_per_task():
    targets = TaskTargets(pd.DataFrame({"a": [0, 0, 0, 1], "b": ["x", "y", None, "y"]}))
    balanced = class_weight_matrix("balanced", targets)
    assert balanced[:, 0].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    per_task = class_weight_matrix({"b": {"x": 5.0, "y": 1.0}}, targets)
    assert per_task[:, 0].tolist() == [1, 1, 1, 1]
    assert per_task[[0, 1, 3], 1].tolist() == [5.0, 1.0, 1.0]
    single = class_weight_matrix({0: 3.0, 1: 1.0}, TaskTargets(np.array([0, 1, 1])))
    assert single[:, 0].tolist() == [3.0, 1.0, 1.0]
