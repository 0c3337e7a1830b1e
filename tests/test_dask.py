"""Scale-out: a grid search over loss_weights on a local Dask cluster.

joblib's ``dask`` backend ships each (candidate, fold) fit to a worker
process; the result must equal the serial search's, because every fit is
seeded by ``random_state`` and scoped to one torch thread.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from sklearn_mtmm import MultiTaskClassifier  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    Y = np.column_stack([
        (X[:, 0] + X[:, 1] > 0).astype(int),
        np.digitize(X[:, 2] - X[:, 3], [-0.7, 0.7]),
    ])
    return X, Y


def _search():
    return GridSearchCV(
        MultiTaskClassifier(hidden_layer_sizes=(16,), max_epochs=15, batch_size=64,
                            lr=0.01, random_state=0),
        {"loss_weights": [{"task_0": 1.0, "task_1": 1.0},
                          {"task_0": 1.0, "task_1": 0.1},
                          {"task_0": 0.1, "task_1": 1.0}]},
        cv=KFold(3, shuffle=True, random_state=0),
    )


def test_grid_search_on_local_dask_cluster_matches_serial(data):
    X, Y = data
    serial = _search().fit(X, Y)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream, \
                joblib.parallel_backend("dask"):
            parallel = _search().fit(X, Y)
        # The 3 candidates x 3 folds ran as tasks on the worker processes.
        workers = {task["worker"] for task in stream.data}
        assert len(stream.data) >= 9
        assert workers and workers <= set(client.scheduler_info()["workers"])

    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(parallel.predict(X), serial.predict(X))
    # The search learned something: better than always predicting the majority.
    assert serial.best_score_ > 0.6
