"""Gradient surgery (``gradient_surgery``, ``_surgery``)."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sklearn_mtmm import MultiTaskClassifier
from sklearn_mtmm._data import TensorBlocks
from sklearn_mtmm.modules.multitask import MultiTaskMLP
from sklearn_mtmm._surgery import (
    mgda,
    min_norm_weights,
    pcgrad,
    shared_parameters,
    task_gradients,
)

# Two gradients in conflict: their sum points against the first one.
G_CONFLICT = torch.tensor([[1.0, 0.0], [-2.0, 0.5]], dtype=torch.float64)


def test_plain_sum_conflicts_on_the_constructed_case():
    assert G_CONFLICT.sum(0) @ G_CONFLICT[0] < 0


def test_pcgrad_removes_conflict():
    combined = pcgrad(G_CONFLICT)
    for g in G_CONFLICT:
        assert combined @ g >= -1e-12
    # The paper's projection, written out.
    g1, g2 = G_CONFLICT
    expected = (g1 - (g1 @ g2) / (g2 @ g2) * g2) + (g2 - (g2 @ g1) / (g1 @ g1) * g1)
    torch.testing.assert_close(combined, expected)


def test_pcgrad_keeps_agreeing_gradients():
    grads = torch.tensor([[1.0, 0.2, 0.0], [0.5, 1.0, 0.1], [0.0, 0.3, 1.0]])
    torch.testing.assert_close(pcgrad(grads), grads.sum(0))


def test_pcgrad_ignores_zero_gradient():
    grads = torch.cat([G_CONFLICT, torch.zeros(1, 2, dtype=torch.float64)])
    torch.testing.assert_close(pcgrad(grads), pcgrad(G_CONFLICT))


@pytest.mark.parametrize("seed", range(5))
def test_mgda_is_a_common_descent_direction(seed):
    # Random, mostly conflicting gradients of 4 tasks in 6 dimensions.
    rng = np.random.RandomState(seed)
    grads = torch.as_tensor(rng.normal(size=(4, 6)))
    combined = mgda(grads)
    norm2 = combined @ combined
    for g in grads:
        # d . g_t >= ||d||^2 / k (d is scaled by k) for the exact solution.
        assert combined @ g >= norm2 / len(grads) - 1e-8 * norm2


def test_mgda_conflict_and_min_norm():
    combined = mgda(G_CONFLICT)
    for g in G_CONFLICT:
        assert combined @ g >= -1e-12
    # The minimum-norm point of the segment [g1, g2], by brute force.
    ts = torch.linspace(0, 1, 100001, dtype=torch.float64)[:, None]
    points = ts * G_CONFLICT[0] + (1 - ts) * G_CONFLICT[1]
    best = points[(points ** 2).sum(1).argmin()]
    torch.testing.assert_close(combined / 2, best, atol=1e-4, rtol=0)


def test_min_norm_weights_on_three_vectors():
    rng = np.random.RandomState(0)
    vectors = rng.normal(size=(3, 3))
    alpha = min_norm_weights(vectors @ vectors.T)
    grid = [(a, b, 1 - a - b) for a, b in itertools.product(np.linspace(0, 1, 201),
                                                            repeat=2) if a + b <= 1]
    brute = min(np.linalg.norm(np.array(w) @ vectors) for w in grid)
    assert alpha.min() >= 0 and abs(alpha.sum() - 1) < 1e-12
    assert np.linalg.norm(alpha @ vectors) <= brute + 1e-3


def test_mgda_ignores_tasks_without_gradient():
    grads = torch.cat([G_CONFLICT, torch.zeros(1, 2, dtype=torch.float64)])
    torch.testing.assert_close(mgda(grads), mgda(G_CONFLICT))


class _Net(nn.Module):
    """A module without ``shared_parameters``: its heads live in ``heads``."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(3, 4)
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 2)])
        self.aux_heads = nn.ModuleList([nn.Linear(4, 2)])

    def forward(self, X):
        h = self.trunk(X)
        return tuple(head(h) for head in self.heads)


def test_shared_parameters_fallback_and_mlp():
    net = _Net()
    assert shared_parameters(net) == [net.trunk.weight, net.trunk.bias]
    mlp = MultiTaskMLP(3, [2, 3], hidden_layer_sizes=(5, 4))
    assert shared_parameters(mlp) == list(mlp.towers[0].parameters())
    assert len(shared_parameters(mlp)) == 4
    for sharing in ("soft", "none"):
        assert shared_parameters(MultiTaskMLP(3, [2, 3], sharing=sharing)) == []


def test_task_gradients_rows():
    torch.manual_seed(0)
    net = _Net()
    X = torch.randn(10, 3)
    out = net(X)
    per_task = torch.stack([out[0].pow(2).mean(), out[1].sum() * 0 + out[1].mean()])
    params = shared_parameters(net)
    grads = task_gradients(per_task, params)
    expected = torch.cat([g.reshape(-1) for g in torch.autograd.grad(
        per_task[1], params, retain_graph=True)])
    torch.testing.assert_close(grads[1], expected)
    assert grads.shape == (2, 3 * 4 + 4)


@pytest.fixture(scope="module")
def conflict_data():
    """Two tasks pulling a shared feature in opposite directions."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    Y = np.column_stack([X[:, 0] + 0.3 * X[:, 1] > 0, -X[:, 0] + 0.3 * X[:, 2] > 0])
    return X, Y.astype(int)


@pytest.mark.parametrize("method", ["pcgrad", "mgda"])
def test_train_step_applies_surgery_to_shared_parameters(conflict_data, method):
    X, Y = conflict_data
    clf = MultiTaskClassifier(hidden_layer_sizes=(8,), max_epochs=2,
                              gradient_surgery=method, random_state=0).fit(X, Y)
    net = clf.net_
    # Make the tasks conflict on the trunk: identical heads, and the second
    # task's labels flipped.
    Y = np.column_stack([Y[:, 0], 1 - Y[:, 0]])
    net.module_.heads[1].load_state_dict(net.module_.heads[0].state_dict())
    weight = torch.ones(len(X), 2)
    batch = TensorBlocks({"X": X}, Y, weight).take(slice(0, 64))
    # Expected: the surgery's combination of each task's gradient on the trunk,
    # the plain gradient on the heads.
    net.module_.zero_grad()
    out = net.module_(**batch[0])
    per_task = net.criterion_(out, batch[1]["y"], batch[1]["w"])
    trunk = list(net.module_.towers[0].parameters())
    grads = task_gradients(per_task, trunk)
    expected_trunk = pcgrad(grads) if method == "pcgrad" else mgda(grads)
    per_task.sum().backward()
    expected_heads = [p.grad.clone() for p in net.module_.heads.parameters()]
    assert grads[0] @ grads[1] < 0
    assert not torch.allclose(expected_trunk, grads.sum(0))  # surgery did something

    net.module_.zero_grad()
    net.train_step_single(batch)
    got_trunk = torch.cat([p.grad.reshape(-1) for p in trunk])
    torch.testing.assert_close(got_trunk, expected_trunk, rtol=1e-4, atol=1e-6)
    for got, want in zip(net.module_.heads.parameters(), expected_heads):
        torch.testing.assert_close(got.grad, want)


@pytest.mark.parametrize("method", ["pcgrad", "mgda"])
def test_surgery_fits_with_missing_labels_and_weights(conflict_data, method):
    X, Y = conflict_data
    Y = Y.astype(float)
    Y[::3, 1] = np.nan
    sample_weight = np.random.RandomState(0).uniform(0.5, 2.0, len(X))
    clf = MultiTaskClassifier(hidden_layer_sizes=(16,), max_epochs=60, lr=0.01,
                              batch_size=32, gradient_surgery=method,
                              random_state=0).fit(X, Y, sample_weight=sample_weight)
    acc = (clf.predict(X) == np.nan_to_num(Y, nan=-1)).sum(0) / (~np.isnan(Y)).sum(0)
    assert acc.min() > 0.85


def test_surgery_needs_shared_parameters(conflict_data):
    X, Y = conflict_data
    with pytest.raises(ValueError, match=r"gradient_surgery='pcgrad' needs "
                       r"parameters shared by all tasks, but the network has none"):
        MultiTaskClassifier(sharing="none", gradient_surgery="pcgrad",
                            max_epochs=1).fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"The 'gradient_surgery' "
                       r"parameter of MultiTaskClassifier must be"):
        MultiTaskClassifier(gradient_surgery="cagrad", max_epochs=1).fit(X, Y)


def test_surgery_is_deterministic(conflict_data):
    X, Y = conflict_data
    params = dict(hidden_layer_sizes=(8,), max_epochs=3, gradient_surgery="pcgrad",
                  random_state=3)
    a = MultiTaskClassifier(**params).fit(X, Y).predict_proba(X)
    b = MultiTaskClassifier(**params).fit(X, Y).predict_proba(X)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
