"""Task weighting strategies (``task_weighting``, ``_weighting``)."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mtmm import MultiTaskClassifier
from sklearn_mtmm._surgery import shared_parameters, task_gradients
from sklearn_mtmm._weighting import (
    DynamicWeightAverage,
    GradNormWeighting,
    UncertaintyWeighting,
    make_weighting,
)

FAST = dict(hidden_layer_sizes=(16,), max_epochs=60, lr=0.01, batch_size=64,
            random_state=0)


@pytest.fixture(scope="module")
def noisy_data():
    """Task 0 is clean (x0 > 0); task 1 (x1 > 0) has 35% of its labels flipped."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    clean = X[:, 0] > 0
    noisy = np.where(rng.rand(400) < 0.35, X[:, 1] <= 0, X[:, 1] > 0)
    return X, np.column_stack([clean, noisy]).astype(int)


def weighted_grad_norms(clf, X, Y):
    """``||grad_W weight_t L_t||`` on the shared parameters, on all of ``X``."""
    net = clf.net_
    out = net.module_(torch.as_tensor(X))
    per_task = net.criterion_(out, torch.as_tensor(Y), torch.ones(Y.shape))
    grads = task_gradients(per_task, shared_parameters(net.module_))
    return grads.norm(dim=1).detach().numpy() * clf.task_weights_


def test_fixed_is_the_plain_path(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(loss_weights=[1.0, 3.0], max_epochs=2).fit(X, Y)
    assert clf.net_.weighting_ is None
    np.testing.assert_array_equal(clf.task_weights_, [1.0, 3.0])
    assert not any(k.startswith("task_weight_") for k in clf.history_[-1])


def test_uncertainty_learns_larger_variance_for_noisier_task(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="uncertainty", **FAST).fit(X, Y)
    log_vars = clf.net_.weighting_.log_vars.detach().numpy()
    assert log_vars[1] > log_vars[0] + 1.0
    assert clf.task_weights_[0] > 2 * clf.task_weights_[1]
    np.testing.assert_allclose(clf.task_weights_, np.exp(-log_vars), rtol=1e-6)
    # The recorded per-epoch weights end at task_weights_.
    recorded = clf.history_[:, ("task_weight_task_0", "task_weight_task_1")]
    assert len(recorded) == FAST["max_epochs"]
    np.testing.assert_allclose(recorded[-1], clf.task_weights_, rtol=1e-6)


def test_uncertainty_term_ignores_unlabelled_tasks():
    weighting = UncertaintyWeighting(2)
    per_task = torch.tensor([0.7, 0.0])  # task 1 has no label in the batch
    loss, weights = weighting.combine(per_task, torch.ones(2),
                                      torch.tensor([True, False]))
    loss.backward()
    grad = weighting.log_vars.grad
    assert grad[0] == pytest.approx(-0.7 + 0.5)
    assert grad[1] == 0
    np.testing.assert_allclose(weights.numpy(), [1.0, 1.0])


def test_dwa_factors_follow_the_paper():
    dwa = DynamicWeightAverage(2)
    history = [{"train_loss_a": 1.0, "train_loss_b": 2.0},
               {"train_loss_a": 0.5, "train_loss_b": 2.0},
               {}]
    dwa.on_epoch_begin(history, ["a", "b"])
    r = np.array([0.5, 1.0]) / 2.0
    expected = 2 * np.exp(r) / np.exp(r).sum()
    np.testing.assert_allclose(dwa.factors().numpy(), expected, rtol=1e-6)
    # A task without a loss (no labels, NaN) counts as ratio 1.
    history[1]["train_loss_b"] = math.nan
    dwa.on_epoch_begin(history, ["a", "b"])
    np.testing.assert_allclose(dwa.factors().numpy(), expected, rtol=1e-6)


def test_dwa_in_training(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="dwa", loss_weights=[1.0, 2.0],
                              **{**FAST, "max_epochs": 6}).fit(X, Y)
    h = clf.history_
    weights = np.array(h[:, ("task_weight_task_0", "task_weight_task_1")])
    np.testing.assert_allclose(weights[:2], [[1.0, 2.0], [1.0, 2.0]])
    losses = np.array(h[:, ("train_loss_task_0", "train_loss_task_1")])
    for e in range(2, 6):
        r = losses[e - 1] / losses[e - 2] / 2.0
        factors = 2 * np.exp(r) / np.exp(r).sum()
        np.testing.assert_allclose(weights[e], factors * [1.0, 2.0], rtol=1e-5)


def test_dwa_with_partial_fit(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="dwa", **FAST)
    for _ in range(4):
        clf.partial_fit(X, Y)
    weights = np.array(clf.history_[:, ("task_weight_task_0", "task_weight_task_1")])
    assert len(weights) == 4
    np.testing.assert_allclose(weights.sum(1), 2.0, rtol=1e-6)
    assert not np.allclose(weights[3], 1.0)


def test_gradnorm_brings_gradient_norms_closer(noisy_data):
    X, Y = noisy_data
    # Loss weights 1 and 10 make task 1's gradient about ten times larger.
    params = dict(FAST, loss_weights=[1.0, 10.0])
    fixed = MultiTaskClassifier(**params).fit(X, Y)
    gradnorm = MultiTaskClassifier(task_weighting="gradnorm", gradnorm_alpha=0.0,
                                   **params).fit(X, Y)
    spread_fixed = abs(np.log(np.divide(*weighted_grad_norms(fixed, X, Y))))
    spread_gradnorm = abs(np.log(np.divide(*weighted_grad_norms(gradnorm, X, Y))))
    assert spread_fixed > np.log(5)
    assert spread_gradnorm < np.log(2)
    assert gradnorm.task_weights_[1] / gradnorm.task_weights_[0] < 3
    # Factors are normalised to sum to the number of tasks.
    np.testing.assert_allclose(gradnorm.net_.weighting_.factors().sum().item(), 2.0,
                               rtol=1e-5)


def test_gradnorm_alpha_favours_slower_task(noisy_data):
    # With alpha > 0 the noisy task, whose loss falls slowest, gets the larger
    # gradient norm target and thus the larger weight.
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="gradnorm", gradnorm_alpha=1.5,
                              **FAST).fit(X, Y)
    assert clf.task_weights_[1] > clf.task_weights_[0]


def test_gradnorm_update_sets_weight_gradient():
    gn = GradNormWeighting(2, alpha=0.0)
    per_task = torch.tensor([1.0, 1.0])
    gn.update(per_task, torch.tensor([1.0, 3.0]), torch.ones(2),
              torch.tensor([True, True]))
    # G = [1, 3], target = mean = 2: d|G - 2|/dw = sign(G - 2) * g.
    np.testing.assert_allclose(gn.weights.grad.numpy(), [-1.0, 3.0])
    np.testing.assert_allclose(gn.initial_losses.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("task_weighting", ["uncertainty", "dwa", "gradnorm"])
def test_missing_labels_and_sample_weights(noisy_data, task_weighting):
    X, Y = noisy_data
    Y = Y.astype(float)
    Y[: len(Y) // 2, 1] = np.nan  # task 1 unlabelled in half of the rows
    sample_weight = np.random.RandomState(0).uniform(0.5, 2.0, len(X))
    clf = MultiTaskClassifier(task_weighting=task_weighting, **FAST)
    clf.fit(X, Y, sample_weight=sample_weight)
    assert np.all(np.isfinite(clf.task_weights_))
    assert (clf.predict(X)[:, 0] == Y[:, 0]).mean() > 0.9


def test_validation_loss_uses_fixed_weights(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="uncertainty", early_stopping=True,
                              validation_fraction=0.25, n_iter_no_change=100,
                              loss_weights=[1.0, 2.0], **{**FAST, "max_epochs": 5})
    clf.fit(X, Y)
    for epoch in clf.history_:
        expected = epoch["valid_loss_task_0"] + 2.0 * epoch["valid_loss_task_1"]
        assert epoch["valid_loss"] == pytest.approx(expected, rel=1e-4)


def test_grid_search_over_task_weighting(noisy_data):
    X, Y = noisy_data
    grid = GridSearchCV(
        MultiTaskClassifier(hidden_layer_sizes=(8,), max_epochs=5, random_state=0),
        {"task_weighting": ["fixed", "uncertainty", "dwa", "gradnorm"],
         "gradient_surgery": [None, "pcgrad"]},
        cv=2,
    ).fit(X, Y)
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 8 and np.all(np.isfinite(scores)) and scores.min() > 0.5
    assert grid.best_estimator_.task_weighting == grid.best_params_["task_weighting"]


def test_clone_and_parameter_errors(noisy_data):
    X, Y = noisy_data
    clf = MultiTaskClassifier(task_weighting="gradnorm", gradnorm_alpha=0.5,
                              gradient_surgery="mgda", task_chain=[1, 0])
    params = clone(clf).get_params()
    assert (params["task_weighting"], params["gradnorm_alpha"],
            params["gradient_surgery"], params["task_chain"]) == (
        "gradnorm", 0.5, "mgda", [1, 0])
    with pytest.raises(InvalidParameterError, match=r"The 'task_weighting' parameter "
                       r"of MultiTaskClassifier must be a str among"):
        MultiTaskClassifier(task_weighting="equal", max_epochs=1).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="The 'gradnorm_alpha' parameter"):
        MultiTaskClassifier(gradnorm_alpha=-1.0, max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"task_weighting='gradnorm' needs parameters "
                       r"shared by all tasks"):
        MultiTaskClassifier(task_weighting="gradnorm", sharing="soft",
                            max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"task_weighting must be one of \['fixed', "
                       r"'uncertainty', 'dwa', 'gradnorm'\]; got 'x'"):
        make_weighting("x", 2)


def test_weighting_is_deterministic_and_pickles(noisy_data):
    import pickle

    X, Y = noisy_data
    params = dict(FAST, max_epochs=3, task_weighting="uncertainty")
    a = MultiTaskClassifier(**params).fit(X, Y)
    b = pickle.loads(pickle.dumps(MultiTaskClassifier(**params).fit(X, Y)))
    np.testing.assert_array_equal(a.task_weights_, b.task_weights_)
    np.testing.assert_array_equal(a.predict_proba(X)[1], b.predict_proba(X)[1])
