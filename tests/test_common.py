"""scikit-learn's own estimator checks on small, fast instances."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mtmm import MultiModalFusionClassifier, MultiTaskClassifier

# Small networks and full-batch training: the checks fit on tens of rows.
FAST = dict(hidden_layer_sizes=(16,), max_epochs=40, lr=0.02, batch_size=512,
            random_state=0)

FAST_FUSION = dict(FAST, encoder_hidden_sizes=(16,))

ESTIMATORS = [
    MultiTaskClassifier(**FAST),
    MultiTaskClassifier(sharing="soft", head_hidden_sizes=(8,), **FAST),
    MultiTaskClassifier(task_weighting="uncertainty", gradient_surgery="pcgrad",
                        task_chain=True, **FAST),
    MultiModalFusionClassifier(**FAST_FUSION),
    # Two modalities: the first two columns and the rest (remainder). A slice,
    # not a list of positions, so the checks that fit on one column still work.
    MultiModalFusionClassifier(modalities={"first": slice(0, 2)}, fusion="gated",
                               **FAST_FUSION),
]

FLOAT32 = (
    "The network trains in float32: fitting with integer sample weights and "
    "with repeated rows gives probabilities equal to about 1e-6, while the "
    "check demands rtol=1e-7 (float64 precision)."
)


def expected_failed_checks(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": FLOAT32}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
