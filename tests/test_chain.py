"""Chained task heads (``task_chain``, ``modules.chain``)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mtmm import MultiTaskClassifier
from sklearn_mtmm.modules.chain import ChainedHeads, resolve_task_chain

TASKS = ["species", "island", "sex"]


@pytest.fixture(scope="module")
def band_data():
    """Task ``a`` has 3 ordered bands of x0 (linear in x0); task ``b`` is "a is
    the middle band", not linear in x but linear in a's probabilities."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    a = np.digitize(X[:, 0], [-0.6, 0.6])
    b = (a == 1).astype(int)
    return X[:400], np.column_stack([a, b])[:400], X[400:], np.column_stack([a, b])[400:]


@pytest.mark.parametrize("task_chain, expected", [
    (None, None), (False, None), (np.bool_(False), None),
    (True, [0, 1, 2]), (np.bool_(True), [0, 1, 2]),
    (["sex", "species"], [2, 0]), ([1, 0, 2], [1, 0, 2]), (("island", 0), [1, 0]),
    ([], []),
])
def test_resolve_task_chain(task_chain, expected):
    assert resolve_task_chain(task_chain, TASKS) == expected


@pytest.mark.parametrize("task_chain, error, match", [
    (["specie"], ValueError,
     r"task_chain names the task 'specie', which is not a task of y; tasks: "
     r"\['species', 'island', 'sex'\]. Did you mean 'species'\?"),
    ([3], ValueError, r"task_chain holds the column index 3, but y has 3 task\(s\) "
     r"\(indices 0 to 2\)"),
    ([-1], ValueError, r"column index -1"),
    (["sex", 2], ValueError, r"task_chain lists a task more than once: \['sex', 'sex'\]"),
    ([1.5], TypeError, r"task_chain entries must be task names \(str\) or column "
     r"indices \(int\); got 1.5 of type float"),
    ([True], TypeError, r"got True of type bool"),
])
def test_resolve_task_chain_errors(task_chain, error, match):
    with pytest.raises(error, match=match):
        resolve_task_chain(task_chain, TASKS)


def test_chained_heads_widths_and_order():
    heads = ChainedHeads(4, [3, 2, 5], order=[2, 0])
    # Task 2 first (4 inputs), task 0 reads task 2's 5 probabilities, task 1
    # is not chained.
    assert [h[-1].in_features for h in heads.heads] == [9, 4, 4]
    out = heads(torch.randn(6, 4))
    assert [tuple(z.shape) for z in out] == [(6, 3), (6, 2), (6, 5)]
    # Per-task inputs (towers) are accepted too.
    out = heads([torch.randn(6, 4) for _ in range(3)])
    assert [tuple(z.shape) for z in out] == [(6, 3), (6, 2), (6, 5)]
    with pytest.raises(ValueError, match=r"order must hold distinct task indices "
                       r"in \[0, 3\); got \[0, 0\]"):
        ChainedHeads(4, [3, 2, 5], order=[0, 0])


@pytest.mark.parametrize("detach", [True, False])
def test_chained_heads_gradient_stop(detach):
    torch.manual_seed(0)
    heads = ChainedHeads(4, [3, 2], detach=detach)
    rep = torch.randn(8, 4)
    logits = heads(rep)
    logits[1].sum().backward()  # the second task's loss only
    first_head_grad = sum(p.grad.abs().sum() for p in heads.heads[0].parameters()
                          if p.grad is not None)
    assert (first_head_grad == 0) == detach


def test_later_head_uses_earlier_predictions():
    torch.manual_seed(0)
    heads = ChainedHeads(2, [2, 2]).eval()
    rep = torch.randn(5, 2)
    before = heads(rep)[1].detach().clone()
    with torch.no_grad():  # change only the first head's output layer
        heads.heads[0][-1].bias.add_(torch.tensor([5.0, -5.0]))
    after = heads(rep)
    assert not torch.allclose(before, after[1])


def test_chaining_improves_dependent_task(band_data):
    X, Y, X_test, Y_test = band_data
    params = dict(hidden_layer_sizes=(), max_epochs=150, lr=0.05, batch_size=64,
                  random_state=0)
    plain = MultiTaskClassifier(**params).fit(X, Y)
    chained = MultiTaskClassifier(task_chain=True, **params).fit(X, Y)
    acc_plain = (plain.predict(X_test) == Y_test).mean(0)
    acc_chain = (chained.predict(X_test) == Y_test).mean(0)
    # Without hidden layers the band is out of reach of task b's linear head;
    # chained, b reads a's probabilities and becomes linearly separable.
    assert acc_plain[1] < 0.8
    assert acc_chain[1] > 0.9
    assert acc_chain[1] > acc_plain[1] + 0.15
    assert acc_chain[0] > 0.9  # task a is not hurt
    assert chained.task_chain_ == ["task_0", "task_1"]
    assert plain.task_chain_ == []


def test_reverse_chain_does_not_help(band_data):
    # Chaining in the wrong order gives a no information about b: evidence
    # that the order is honoured.
    X, Y, X_test, Y_test = band_data
    params = dict(hidden_layer_sizes=(), max_epochs=150, lr=0.05, batch_size=64,
                  random_state=0)
    clf = MultiTaskClassifier(task_chain=[1, 0], **params).fit(X, Y)
    assert (clf.predict(X_test)[:, 1] == Y_test[:, 1]).mean() < 0.8
    assert clf.task_chain_ == ["task_1", "task_0"]


@pytest.mark.parametrize("sharing", ["hard", "soft", "none"])
def test_chain_with_missing_labels_weights_and_sharing(penguins, sharing):
    X, Y = penguins
    X = (X - X.mean()) / X.std()
    rng = np.random.RandomState(0)
    clf = MultiTaskClassifier(hidden_layer_sizes=(16,), max_epochs=40, lr=0.01,
                              sharing=sharing, task_chain=["species", "sex"],
                              random_state=0)
    clf.fit(X, Y, sample_weight=rng.uniform(0.5, 1.5, len(X)))  # sex has NaNs
    assert clf.task_chain_ == ["species", "sex"]
    assert [p.shape for p in clf.predict_proba(X)] == [(len(X), 3), (len(X), 3),
                                                      (len(X), 2)]
    species_acc = (clf.predict(X)[:, 0] == Y["species"].to_numpy()).mean()
    assert species_acc > 0.9


def test_chain_param_validation_and_clone(penguins):
    X, Y = penguins
    clf = MultiTaskClassifier(task_chain=["island", "species"])
    assert clone(clf).get_params()["task_chain"] == ["island", "species"]
    with pytest.raises(InvalidParameterError, match="The 'task_chain' parameter"):
        MultiTaskClassifier(task_chain="species", max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="Did you mean 'island'"):
        MultiTaskClassifier(task_chain=["islands"], max_epochs=1).fit(X, Y)
