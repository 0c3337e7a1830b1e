"""The thin base shared by both estimators: targets, training and prediction.

A subclass supplies two things: ``_input_blocks(X, reset)``, which validates
``X`` and returns a dict of arrays (float32 blocks, passed to the module as
keyword arguments; fusion adds a boolean presence mask), and
``_build_module(n_features, n_classes)``, which returns the torch module.
Everything else (targets, weights, the skorch net, seeding, devices,
prediction) lives here once.
"""

import contextlib
import copy
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping, ProgressBar

from . import _targets
from ._messages import did_you_mean
from ._data import TensorBlocks, ValidationSplit
from ._net import MultiTaskNet
from ._surgery import GRADIENT_SURGERIES
from ._weighting import TASK_WEIGHTINGS
from .modules.chain import resolve_task_chain

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

PREDICT_BATCH_SIZE = 8192
PROGRESS_BAR_BATCHES = 500  # verbose=1 adds a progress bar from this many batches


def _resolve_device(device):
    """Map ``device`` to a torch device string, or raise naming what exists."""
    available = ["cpu"]
    if torch.cuda.is_available():
        available += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        available.append("mps")
    if device == "auto":
        return "cuda" if "cuda" in available else "mps" if "mps" in available else "cpu"
    if str(device) not in available:
        raise ValueError(
            f"device={device!r} is not available on this machine; available "
            f"devices: {available} (or 'auto')."
        )
    return str(device)


@contextlib.contextmanager
def _torch_threads(n_threads):
    """Use ``n_threads`` torch threads inside the block, then restore the setting."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def _seeded(seed):
    """Seed torch for the duration of the block, then restore its RNG state."""
    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class BaseMultiTaskClassifier(ClassifierMixin, BaseEstimator):
    """Base of the package's estimators. Not for direct use."""

    _parameter_constraints = {
        "loss_weights": [dict, "array-like", None],
        "class_weight": [StrOptions({"balanced"}), dict, list, tuple, None],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "device": [str, torch.device],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        # Task balancing and chaining (_weighting.py, _surgery.py, modules/chain.py).
        "task_weighting": [StrOptions(set(TASK_WEIGHTINGS))],
        "gradnorm_alpha": [Interval(Real, 0, None, closed="left")],
        "gradient_surgery": [StrOptions(set(GRADIENT_SURGERIES)), None],
        "task_chain": ["boolean", list, tuple, None],
    }

    # Keyword arguments with these prefixes are routed to skorch, as in skorch.
    _routing_prefixes = ("optimizer__",)

    def _extra_params(self):
        """Keyword arguments given beyond the signature (stored as attributes)."""
        names = set(self._get_param_names())
        return {k: v for k, v in vars(self).items()
                if k not in names and not k.startswith("_") and not k.endswith("_")}

    def _routed_params(self):
        """The extra keyword arguments, checked to carry a routing prefix."""
        extra = self._extra_params()
        for key in extra:
            if not key.startswith(self._routing_prefixes):
                hint = did_you_mean(key, self._get_param_names())
                raise TypeError(
                    f"{type(self).__name__} got an unexpected keyword argument "
                    f"{key!r}.{hint} Only keyword arguments starting with "
                    f"{', '.join(self._routing_prefixes)} are routed to skorch."
                )
        return extra

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        routed = {k: v for k, v in params.items() if k.startswith(self._routing_prefixes)}
        vars(self).update(routed)
        rest = {k: v for k, v in params.items() if k not in routed}
        return super().set_params(**rest) if rest else self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # -- hooks for subclasses ---------------------------------------------
    def _input_blocks(self, X, reset):
        """Validate ``X`` and return a dict of float32 arrays (one per block)."""
        check_numeric_columns(X)
        X = validate_data(self, X, reset=reset, dtype=np.float32)
        return {"X": X}

    def _build_module(self, n_features, n_classes):
        """Return the torch module for these block widths and class counts."""
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network on ``X`` and the task columns of ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input features, numeric.
        y : {array-like, DataFrame} of shape (n_samples,) or (n_samples, n_tasks)
            One column per task; missing values (NaN, None, ``pd.NA``) mark
            rows without a label for that task.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Row weights, shared by all tasks or given per task.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, epochs=self.max_epochs, warm=warm)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch, initialising the network on the first call.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input features.
        y : {array-like, DataFrame} of shape (n_samples,) or (n_samples, n_tasks)
            Targets; see :meth:`fit`.
        classes : array-like or list of array-like, default=None
            Classes of each task, needed on the first call when a batch may
            lack some classes: an array for 1-D ``y``, else one array per
            task. Ignored after the first call.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Row weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        warm = hasattr(self, "net_")
        if not warm and classes is not None:
            classes = [classes] if np.ndim(y) == 1 else list(classes)
            classes = [np.unique(c) for c in classes]
        return self._fit(X, y, sample_weight, epochs=1, warm=warm,
                         classes=None if warm else classes)

    def _fit(self, X, y, sample_weight, *, epochs, warm, classes=None):
        self._routed_params()
        blocks = self._input_blocks(X, reset=not warm)
        n_samples = len(next(iter(blocks.values())))
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        tasks = None
        if warm:
            classes, tasks = self._task_classes(), self.tasks_
        targets = _targets.TaskTargets(y, classes=classes, tasks=tasks)
        if len(targets.codes) != n_samples:
            raise ValueError(
                f"X and y have different numbers of rows: {n_samples} and "
                f"{len(targets.codes)}."
            )
        loss_weights = _targets.loss_weight_vector(self.loss_weights, targets.tasks)
        weight = (
            _targets.sample_weight_matrix(sample_weight, n_samples, len(targets.tasks))
            * _targets.class_weight_matrix(self.class_weight, targets)
            * targets.mask
        )
        for task, total in zip(targets.tasks, weight.sum(axis=0)):
            if total <= 0:
                raise ValueError(
                    f"The weights of task {task!r} are all zero on its labelled "
                    "rows (sample_weight x class_weight): it has nothing to learn."
                )
        if self.batch_size == 1 and self.batch_norm:
            raise ValueError("batch_norm=True needs batch_size >= 2.")
        if not warm:
            self.tasks_ = targets.tasks
            self.classes_ = (targets.classes[0] if targets.one_dimensional
                             else targets.classes)
            self._one_dimensional = targets.one_dimensional
            self.device_ = _resolve_device(self.device)
            chain = resolve_task_chain(self.task_chain, targets.tasks)
            self.task_chain_ = [targets.tasks[t] for t in chain or ()]
        self.loss_weights_ = loss_weights
        if np.all(weight == weight.flat[0]):
            # Every label present, every weight equal: the weighted mean is the
            # plain mean, which the loss computes without weights (faster).
            weight = None
        dataset = TensorBlocks(blocks, targets.codes, weight)

        seed = self._seed(warm)
        with _torch_threads(self.n_threads), _seeded(seed):
            if not warm:
                self.net_ = self._make_net(blocks, targets, seed)
            self.net_.loss_weights = loss_weights
            self.net_.max_epochs = epochs
            self.net_.partial_fit(dataset)
        self.history_ = self.net_.history
        self.task_weights_ = self.net_.task_weights()
        self.n_iter_ = len(self.net_.history)
        return self

    def _seed(self, warm):
        """Seed of this call; continued training with an int seed moves it on."""
        if self.random_state is None:
            return None
        if isinstance(self.random_state, Integral):
            return int(self.random_state) + (self.n_iter_ if warm else 0)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _make_net(self, blocks, targets, seed):
        n_features = {k: v.shape[1] for k, v in blocks.items()}
        n_classes = [len(c) for c in targets.classes]
        if self.early_stopping:
            train_split = ValidationSplit(self.validation_fraction, seed)
            callbacks = [("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=self.n_iter_no_change,
                threshold=self.tol, threshold_mode="rel", load_best=True))]
        else:
            train_split, callbacks = None, []
        n_batches = -(-len(next(iter(blocks.values()))) // self.batch_size)
        if self.verbose >= 2 or (self.verbose and n_batches >= PROGRESS_BAR_BATCHES):
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks += copy.deepcopy(self.callbacks or [])
        optimizer = (OPTIMIZERS[self.optimizer] if isinstance(self.optimizer, str)
                     else self.optimizer)
        net = MultiTaskNet(
            self._build_module(n_features, n_classes),
            tasks=targets.tasks,
            loss_weights=None,
            predict_batch_size=max(self.batch_size, PREDICT_BATCH_SIZE),
            task_weighting=self.task_weighting,
            gradnorm_alpha=self.gradnorm_alpha,
            gradient_surgery=self.gradient_surgery,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device_,
            verbose=self.verbose,
            **self._routed_params(),
        )
        return net.initialize()

    # -- prediction ---------------------------------------------------------
    def _task_probas(self, X, softmax=True):
        """Per-task probabilities (``softmax=False``: logits, enough for argmax)."""
        check_is_fitted(self)
        blocks = self._input_blocks(X, reset=False)
        outputs = [[] for _ in self.tasks_]
        n_tasks = len(self.tasks_)
        with _torch_threads(self.n_threads), torch.inference_mode():
            for logits in self.net_.forward_iter(TensorBlocks(blocks), training=False):
                logits = logits if isinstance(logits, (tuple, list)) else (logits,)
                for t in range(n_tasks):
                    z = logits[t]
                    outputs[t].append(torch.softmax(z, dim=1) if softmax else z)
        probas = [torch.cat(o).numpy() for o in outputs]
        if not all(np.isfinite(p).all() for p in probas):
            raise FloatingPointError(
                "The network produced non-finite probabilities; its weights "
                "diverged. Refit with a lower lr or scaled features."
            )
        return probas

    def predict_proba(self, X):
        """Class probabilities of each task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input features.

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t)
            One array per task, columns ordered as ``classes_[t]``. A single
            array when ``y`` was 1-D.
        """
        probas = self._task_probas(X)
        return probas[0] if self._one_dimensional else probas

    def predict(self, X):
        """Predict the label of every task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks) or (n_samples,)
            Each column in its task's label dtype (an object array when the
            tasks' dtypes differ); 1-D when ``y`` was 1-D.
        """
        # argmax of the logits is argmax of the probabilities; the softmax
        # would be ~15% of a small MLP's predict time.
        codes = np.stack([p.argmax(1) for p in self._task_probas(X, softmax=False)],
                         axis=1)
        return _targets.decode(codes, self._task_classes(), self._one_dimensional)

    def _task_classes(self):
        """``classes_`` as a list with one array per task, whatever ``y`` was."""
        return [self.classes_] if self._one_dimensional else self.classes_

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's accuracy on its labelled rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input features.
        y : {array-like, DataFrame} of shape (n_samples,) or (n_samples, n_tasks)
            True labels; missing labels are skipped.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            The mean per-task accuracy (for 1-D ``y``, the accuracy).
        """
        from .metrics import mean_task_score
        from sklearn.metrics import accuracy_score

        return mean_task_score(y, self.predict(X), accuracy_score,
                               sample_weight=sample_weight)


def check_numeric_columns(X):
    """Raise a ``TypeError`` naming the non-numeric columns of a DataFrame."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [str(c) for c, dtype in dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype)
                   or pd.api.types.is_bool_dtype(dtype))]
    if bad:
        raise TypeError(
            f"X has non-numeric columns {bad}. Encode them first, e.g. with "
            "OneHotEncoder or OrdinalEncoder in a ColumnTransformer before "
            "this estimator."
        )
