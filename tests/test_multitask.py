"""Behaviour of MultiTaskClassifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_mtmm import MultiTaskClassifier

FAST = dict(hidden_layer_sizes=(16,), max_epochs=15, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 6)).astype(np.float32)
    Y = pd.DataFrame({
        "sign": np.where(X[:, 0] > 0, "pos", "neg"),
        "bucket": np.digitize(X[:, 1] + X[:, 2], [-1, 0, 1]),
    })
    return X, Y


def test_penguins_accuracy_matches_logistic_regression(penguins):
    """Each task within 2 points of a per-task LogisticRegression (5-fold CV)."""
    X, Y = penguins
    ours, base = {t: [] for t in Y}, {t: [] for t in Y}
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        model = make_pipeline(StandardScaler(), MultiTaskClassifier(
            hidden_layer_sizes=(64,), lr=0.01, max_epochs=60, random_state=0))
        pred = model.fit(X.iloc[train], Y.iloc[train]).predict(X.iloc[test])
        for j, task in enumerate(Y):
            labelled_train = Y[task].iloc[train].notna().to_numpy()
            labelled = Y[task].iloc[test].notna().to_numpy()
            truth = Y[task].iloc[test].to_numpy()[labelled]
            ours[task].append(np.mean(pred[labelled, j] == truth))
            lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(
                X.iloc[train][labelled_train], Y[task].iloc[train][labelled_train])
            base[task].append(np.mean(lr.predict(X.iloc[test][labelled]) == truth))
    for task in Y:
        assert np.mean(ours[task]) >= np.mean(base[task]) - 0.02, task


def test_output_contract_and_label_dtypes(data):
    X, Y = data
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    assert clf.tasks_ == ["sign", "bucket"]
    assert [c.tolist() for c in clf.classes_] == [["neg", "pos"], [0, 1, 2, 3]]
    pred = clf.predict(X)
    assert pred.shape == (240, 2) and pred.dtype == object
    assert set(pred[:, 0]) <= {"neg", "pos"}
    assert all(isinstance(v, (int, np.integer)) for v in pred[:, 1])
    proba = clf.predict_proba(X)
    assert [p.shape for p in proba] == [(240, 2), (240, 4)]
    np.testing.assert_allclose([p.sum(1) for p in proba], 1, rtol=1e-5)
    assert clf.n_features_in_ == 6 and clf.n_iter_ == 15
    assert clf.score(X, Y) > 0.7


def test_one_dimensional_y_gives_one_dimensional_answers(data):
    X, Y = data
    clf = MultiTaskClassifier(**FAST).fit(X, Y["bucket"].to_numpy())
    assert clf.predict(X).shape == (240,)
    assert clf.predict_proba(X).shape == (240, 4)
    assert clf.classes_.tolist() == [0, 1, 2, 3]


def test_missing_labels_equal_zero_sample_weight(data):
    """A missing label is exactly a zero weight: the fits are identical."""
    X, Y = data
    missing = np.arange(len(Y)) % 3 == 0
    Y_missing = Y.astype(object)
    Y_missing.loc[missing, "bucket"] = None
    weights = np.ones((len(Y), 2))
    weights[missing, 1] = 0.0
    a = MultiTaskClassifier(**FAST).fit(X, Y_missing).predict_proba(X)
    b = MultiTaskClassifier(**FAST).fit(X, Y, sample_weight=weights).predict_proba(X)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("missing", [False, True])
def test_per_task_history_is_each_task_epoch_loss(data, missing):
    """train_loss_<task> is the task's mean loss over its labelled rows.

    With a vanishing learning rate the network does not move, so every
    epoch's per-task loss, accumulated over uneven batches, must equal the
    fitted model's log loss on the training rows. ``missing`` takes the
    weighted loss path, else the unweighted one.
    """
    X, Y = data
    Y = Y.astype(object)
    if missing:
        Y.loc[np.arange(len(Y)) % 3 == 0, "bucket"] = None
    clf = MultiTaskClassifier(**{**FAST, "lr": 1e-12, "max_epochs": 2,
                                 "batch_size": 70}).fit(X, Y)
    for task, proba, classes in zip(Y.columns, clf.predict_proba(X), clf.classes_):
        labelled = Y[task].notna().to_numpy()
        codes = np.searchsorted(classes, Y[task][labelled].to_numpy())
        expected = -np.log(proba[labelled][np.arange(len(codes)), codes]).mean()
        assert clf.history_[-1, f"train_loss_{task}"] == pytest.approx(expected, rel=1e-5)


class _Snapshot(Callback):
    def on_train_begin(self, net, **kwargs):
        self.initial = {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_zero_loss_weight_leaves_head_unchanged(data):
    X, Y = data
    snapshot = _Snapshot()
    clf = MultiTaskClassifier(loss_weights={"bucket": 0.0}, callbacks=[snapshot],
                              **FAST).fit(X, Y)
    final = clf.net_.module_.state_dict()
    initial = dict(clf.net_.callbacks_)["_Snapshot"].initial  # the fitted copy
    assert snapshot.__dict__.get("initial") is None  # the parameter is not mutated
    for key in final:
        if key.startswith("heads.1."):
            assert torch.equal(final[key], initial[key]), key
        if key.startswith("heads.0."):
            assert not torch.equal(final[key], initial[key]), key


def test_sharing_modes(data):
    X, Y = data
    fits = {s: MultiTaskClassifier(sharing=s, sharing_strength=1.0, **FAST).fit(X, Y)
            for s in ("hard", "soft", "none")}
    assert len(fits["hard"].net_.module_.towers) == 1
    assert len(fits["soft"].net_.module_.towers) == 2

    def tower_gap(clf):
        a, b = (torch.cat([p.flatten() for p in t.parameters()])
                for t in clf.net_.module_.towers)
        return (a - b).norm().item()

    # Soft sharing pulls the towers together; without sharing they stay apart.
    assert tower_gap(fits["soft"]) < 0.2 * tower_gap(fits["none"])
    assert fits["none"].net_.module_.regularization() is None
    assert fits["soft"].net_.module_.regularization().item() > 0
    for clf in fits.values():
        assert clf.score(X, Y) > 0.7


def test_determinism_and_scoped_seeding(data):
    X, Y = data
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = MultiTaskClassifier(**FAST).fit(X, Y)
    assert torch.equal(torch.get_rng_state(), state)  # global RNG restored
    b = MultiTaskClassifier(**FAST).fit(X, Y)
    c = MultiTaskClassifier(**{**FAST, "random_state": 1}).fit(X, Y)
    for pa, pb, pc in zip(a.predict_proba(X), b.predict_proba(X), c.predict_proba(X)):
        np.testing.assert_array_equal(pa, pb)
        assert not np.array_equal(pa, pc)


def test_pickle_round_trip(data):
    X, Y = data
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(clf))
    for p, q in zip(clf.predict_proba(X), loaded.predict_proba(X)):
        np.testing.assert_array_equal(p, q)


def test_early_stopping_and_history(data):
    X, Y = data
    clf = MultiTaskClassifier(early_stopping=True, n_iter_no_change=3,
                              **{**FAST, "max_epochs": 300, "lr": 0.05}).fit(X, Y)
    assert clf.n_iter_ < 300
    last = clf.history_[-1]
    for key in ("train_loss_sign", "valid_loss_bucket", "valid_acc_sign"):
        assert np.isfinite(last[key])
    valid = clf.history_[:, "valid_loss"]
    # The best epoch's weights are restored: refitting nothing, the model's
    # validation loss is the best one recorded, not the last.
    assert min(valid) < valid[-1]


def test_warm_start_and_partial_fit(data):
    X, Y = data
    clf = MultiTaskClassifier(warm_start=True, **FAST).fit(X, Y)
    first = clf.score(X, Y)
    clf.fit(X, Y)
    assert clf.n_iter_ == 30 and clf.score(X, Y) >= first - 0.02
    part = MultiTaskClassifier(**FAST)
    classes = [np.array(["neg", "pos"]), np.arange(4)]
    part.partial_fit(X[:100], Y[:100], classes=classes)
    part.partial_fit(X[100:], Y[100:])
    assert part.n_iter_ == 2
    assert [c.tolist() for c in part.classes_] == [["neg", "pos"], [0, 1, 2, 3]]
    with pytest.raises(ValueError, match=r"y has tasks \['bucket', 'sign'\] but the "
                       r"model was fitted on \['sign', 'bucket'\]"):
        part.partial_fit(X, Y[["bucket", "sign"]])


def test_verbose_prints_per_task_losses(data, capsys):
    X, Y = data
    MultiTaskClassifier(verbose=1, **{**FAST, "max_epochs": 2}).fit(X, Y)
    out = capsys.readouterr().out
    assert "train_loss_sign" in out and "train_loss_bucket" in out
    MultiTaskClassifier(**{**FAST, "max_epochs": 2}).fit(X, Y)
    assert capsys.readouterr().out == ""


def test_optimizer_routing(data):
    X, Y = data
    clf = MultiTaskClassifier(optimizer="sgd", optimizer__momentum=0.9, **FAST)
    assert clf.get_params()["optimizer__momentum"] == 0.9
    clf.fit(X, Y)
    assert isinstance(clf.net_.optimizer_, torch.optim.SGD)
    assert clf.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    with pytest.raises(TypeError, match="'hiden_layer_sizes'. Did you mean "
                       "'hidden_layer_sizes'"):
        MultiTaskClassifier(hiden_layer_sizes=(3,)).fit(X, Y)


def test_class_weight_per_task(data):
    X, Y = data
    clf = MultiTaskClassifier(class_weight={"sign": {"neg": 1000.0, "pos": 1e-4}},
                              **FAST).fit(X, Y)
    assert np.mean(clf.predict(X)[:, 0] == "neg") > 0.9


def test_single_class_task_predicts_that_class(data):
    X, Y = data
    Y = Y.assign(const="only")
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    assert set(clf.predict(X)[:, 2]) == {"only"}
    np.testing.assert_array_equal(clf.predict_proba(X)[2], 1.0)


def test_divergence_is_an_error(data):
    X, Y = data
    with pytest.raises(FloatingPointError, match="diverged .* Lower the learning rate"):
        MultiTaskClassifier(**{**FAST, "lr": 1e12, "optimizer": "sgd"}).fit(X * 1e6, Y)


@pytest.mark.parametrize("change, error, message", [
    (lambda X, Y: (np.where(np.eye(*X.shape) > 0, np.nan, X), Y), ValueError, "NaN"),
    (lambda X, Y: (np.where(np.eye(*X.shape) > 0, np.inf, X), Y), ValueError, "infinity"),
    (lambda X, Y: (X[:0], Y[:0]), ValueError, "0 sample"),
    (lambda X, Y: (X[:10], Y[:11]), ValueError, "different numbers of rows: 10 and 11"),
    (lambda X, Y: (X, X[:, 0]), ValueError, "Unknown label type: continuous"),
    (lambda X, Y: (pd.DataFrame(X).assign(s="a"), Y), TypeError,
     r"non-numeric columns \['s'\].*OneHotEncoder"),
])
def test_bad_input(data, change, error, message):
    X, Y = change(*data)
    with pytest.raises(error, match=message):
        MultiTaskClassifier(**FAST).fit(X, Y)


def test_bad_parameters_and_predict_errors(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"unknown task\(s\) 'sing'; .* Did you mean 'sign'\?"):
        MultiTaskClassifier(loss_weights={"sing": 2.0}, **FAST).fit(X, Y)
    with pytest.raises(ValueError, match="loss_weights has 1 entries but y has 2"):
        MultiTaskClassifier(loss_weights=[1.0], **FAST).fit(X, Y)
    with pytest.raises(ValueError, match="finite and non-negative"):
        MultiTaskClassifier(loss_weights=[1.0, -2.0], **FAST).fit(X, Y)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(240,\) or "
                       r"\(240, 2\); got \(240, 3\)"):
        MultiTaskClassifier(**FAST).fit(X, Y, sample_weight=np.ones((240, 3)))
    with pytest.raises(ValueError, match="'sharing' parameter .* Got 'partial'"):
        MultiTaskClassifier(sharing="partial").fit(X, Y)
    with pytest.raises(NotFittedError):
        MultiTaskClassifier().predict(X)
    clf = MultiTaskClassifier(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features, but MultiTaskClassifier is "
                       "expecting 6 features"):
        clf.predict(X[:, :5])


def test_unavailable_device_is_a_clear_error(data):
    X, Y = data
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match=r"device='cuda' is not available on this "
                       r"machine; available devices: \['cpu'"):
        MultiTaskClassifier(device="cuda", **FAST).fit(X, Y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_matches_and_unpickles_to_cpu(data):
    X, Y = data
    gpu = MultiTaskClassifier(device="cuda", **FAST).fit(X, Y)
    cpu = MultiTaskClassifier(**FAST).fit(X, Y)
    assert np.mean(gpu.predict(X) == cpu.predict(X)) > 0.95
    assert gpu.net_.device == "cuda"
    loaded = pickle.loads(pickle.dumps(gpu))
    np.testing.assert_allclose(loaded.predict_proba(X)[0], gpu.predict_proba(X)[0],
                               atol=1e-5)


def test_progress_bar_on_long_fits(data, capsys):
    X, Y = data
    MultiTaskClassifier(verbose=2, **{**FAST, "max_epochs": 1}).fit(X, Y)
    err = capsys.readouterr().err
    assert "it/s" in err or "/s]" in err


def test_batch_norm_and_dropout(data):
    X, Y = data
    # 241 rows with batch_size=16 leave a last batch of one row, which batch
    # normalisation cannot train on: it is merged into the previous batch.
    X1 = np.vstack([X, X[:1]])
    Y1 = pd.concat([Y, Y[:1]], ignore_index=True)
    clf = MultiTaskClassifier(batch_norm=True, dropout=0.2, batch_size=16,
                              **{**FAST, "max_epochs": 5}).fit(X1, Y1)
    modules = [type(m).__name__ for m in clf.net_.module_.modules()]
    assert "BatchNorm1d" in modules and "Dropout" in modules
    # Evaluation mode: dropout off, so predictions are repeatable.
    np.testing.assert_array_equal(clf.predict_proba(X)[1], clf.predict_proba(X)[1])
    assert clf.score(X, Y) > 0.6


class _GradientNorms(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.norms.append(sum(p.grad.norm().item() for _, p in named_parameters))


def test_gradient_hooks_and_closure_optimizers_still_work(data):
    """skorch's on_grad_computed callbacks and LBFGS's closure keep working."""
    X, Y = data
    clf = MultiTaskClassifier(callbacks=[("norms", _GradientNorms())],
                              **{**FAST, "max_epochs": 2}).fit(X, Y)
    n_batches = 2 * -(-len(X) // clf.batch_size)
    assert len(dict(clf.net_.callbacks_)["norms"].norms) == n_batches
    lbfgs = MultiTaskClassifier(optimizer=torch.optim.LBFGS, batch_size=512,
                                **{**FAST, "lr": 0.5, "max_epochs": 5}).fit(X, Y)
    assert lbfgs.score(X, Y) > 0.7
