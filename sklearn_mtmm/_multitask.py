"""MultiTaskClassifier: one network, shared layers, one head per task."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseMultiTaskClassifier
from ._docs import fill_doc
from .modules.mlp import ACTIVATIONS
from .modules.multitask import MultiTaskMLP


@fill_doc
class MultiTaskClassifier(BaseMultiTaskClassifier):
    """Multi-task neural network classifier: shared layers, one head per task.

    Learns several classification targets (the columns of ``y``) at once with
    one PyTorch network trained through skorch on the weighted sum of
    per-task losses ``L = sum_i sum_j alpha_ij L_ij`` (rows ``i``, tasks
    ``j``), where ``alpha_ij`` is the product of the task's loss weight, the
    row's sample weight and its class weight, and zero when the label is
    missing.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers of the shared trunk (``sharing="hard"``)
        or of each task's tower (``"soft"``, ``"none"``).
    head_hidden_sizes : tuple of int, default=()
        Widths of the hidden layers of each task head, before its output
        layer.
    sharing : {"hard", "soft", "none"}, default="hard"
        How tasks share parameters. ``"hard"``: one trunk feeds every head.
        ``"soft"``: one tower per task, tied by the penalty
        ``sharing_strength * sum_t ||theta_t - mean theta||^2`` over
        corresponding tower parameters. ``"none"``: independent towers trained
        together (the baseline).
    sharing_strength : float, default=0.01
        Factor of the soft-sharing penalty; ignored unless ``sharing="soft"``.
    activation : {"relu", "tanh", "logistic", "gelu", "identity"}, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer.
    %(training_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s

    See Also
    --------
    MultiModalFusionClassifier : one encoder per column group, fused.
    sklearn.multioutput.MultiOutputClassifier : one independent model per task.
    sklearn.neural_network.MLPClassifier : single-network MLP of scikit-learn.

    Notes
    -----
    Each task's loss in a batch is the weighted mean cross-entropy over the
    rows that have a label for it, so a missing label contributes exactly
    nothing to that task and the row still trains the other tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtmm import MultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5)).astype("float32")
    >>> Y = np.column_stack([X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])])
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(32,), max_epochs=20,
    ...                           random_state=0).fit(X, Y)
    >>> clf.predict(X).shape
    (200, 2)
    >>> [p.shape for p in clf.predict_proba(X)]
    [(200, 2), (200, 3)]
    """

    _parameter_constraints = {
        **BaseMultiTaskClassifier._parameter_constraints,
        "hidden_layer_sizes": [tuple, list],
        "head_hidden_sizes": [tuple, list],
        "sharing": [StrOptions({"hard", "soft", "none"})],
        "sharing_strength": [Interval(Real, 0, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(100,),
        head_hidden_sizes=(),
        sharing="hard",
        sharing_strength=0.01,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        loss_weights=None,
        class_weight=None,
        optimizer="adam",
        lr=1e-3,
        max_epochs=100,
        batch_size=128,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        warm_start=False,
        device="cpu",
        n_threads=1,
        verbose=0,
        random_state=None,
        task_weighting="fixed",
        gradnorm_alpha=1.5,
        gradient_surgery=None,
        task_chain=None,
        **kwargs,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_hidden_sizes = head_hidden_sizes
        self.sharing = sharing
        self.sharing_strength = sharing_strength
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.loss_weights = loss_weights
        self.class_weight = class_weight
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose
        self.random_state = random_state
        self.task_weighting = task_weighting
        self.gradnorm_alpha = gradnorm_alpha
        self.gradient_surgery = gradient_surgery
        self.task_chain = task_chain
        vars(self).update(kwargs)

    def _build_module(self, n_features, n_classes):
        return MultiTaskMLP(
            n_features["X"],
            n_classes,
            hidden_layer_sizes=_widths(self.hidden_layer_sizes, "hidden_layer_sizes"),
            head_hidden_sizes=_widths(self.head_hidden_sizes, "head_hidden_sizes"),
            sharing=self.sharing,
            sharing_strength=self.sharing_strength,
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            chain=([self.tasks_.index(t) for t in self.task_chain_]
                   if self.task_chain_ else None),
        )


def _widths(sizes, name):
    """Validate a tuple of layer widths."""
    sizes = tuple(sizes)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"{name} must hold positive integers; got {sizes!r}.")
    return tuple(int(s) for s in sizes)
