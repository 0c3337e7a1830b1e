"""The estimators inside scikit-learn's tools: Pipeline, GridSearchCV, clone."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtmm import MultiModalFusionClassifier, MultiTaskClassifier
from sklearn_mtmm.metrics import mean_task_f1_macro

FAST = dict(hidden_layer_sizes=(16,), max_epochs=20, lr=0.01, random_state=0)


def test_grid_search_over_loss_weights_in_pipeline(penguins):
    X, Y = penguins
    grid = {"multitaskclassifier__loss_weights": [None, {"species": 2.0, "sex": 1.0},
                                                  [1.0, 0.0, 1.0]]}
    search = GridSearchCV(make_pipeline(StandardScaler(), MultiTaskClassifier(**FAST)),
                          grid, cv=KFold(3, shuffle=True, random_state=0))
    search.fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(scores) == 3
    # Switching off the island loss makes island (and so the mean) worse.
    assert scores[2] < scores[0]
    assert search.best_params_["multitaskclassifier__loss_weights"] != [1.0, 0.0, 1.0]
    assert search.predict(X).shape == (len(X), 3)


def test_grid_search_with_routed_parameter_and_custom_scorer(penguins):
    X, Y = penguins
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MultiTaskClassifier(**FAST)),
        {"multitaskclassifier__optimizer__weight_decay": [0.0, 0.01],
         "multitaskclassifier__sharing": ["hard", "none"]},
        scoring=mean_task_f1_macro, cv=KFold(3))
    search.fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_[-1]
    assert best.net_.optimizer_.param_groups[0]["weight_decay"] == \
        search.best_params_["multitaskclassifier__optimizer__weight_decay"]


def test_clone_keeps_parameters_and_drops_fit():
    clf = MultiTaskClassifier(loss_weights={"a": 2.0}, optimizer__weight_decay=0.1, **FAST)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert twin.loss_weights is not clf.loss_weights or twin.loss_weights == {"a": 2.0}
    assert not hasattr(twin, "net_")


def test_cross_val_score_multi_task(penguins):
    X, Y = penguins
    scores = cross_val_score(make_pipeline(StandardScaler(), MultiTaskClassifier(**FAST)),
                             X, Y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.mean() > 0.75


@pytest.mark.parametrize("Estimator", [MultiTaskClassifier, MultiModalFusionClassifier])
def test_shared_docstring_sections_are_filled(Estimator):
    """Every ``%(name)s`` placeholder of ``_docs`` is replaced by its section."""
    assert "%(" not in Estimator.__doc__
    assert "loss_weights : " in Estimator.__doc__
