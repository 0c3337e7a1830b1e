"""MultiModalFusionClassifier: one encoder per column group, fused."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._base import BaseMultiTaskClassifier
from ._docs import fill_doc
from ._messages import did_you_mean
from ._modalities import feature_names, resolve_modalities
from ._multitask import _widths
from .modules.fusion import FUSIONS, PRESENT, FusionNet
from .modules.mlp import ACTIVATIONS, mlp

ENCODER_PREFIX = "encoder__"


def _column_block(X, indices):
    """The columns ``indices`` of ``X``: a view when they are a contiguous range.

    Batches are gathered row by row, so a strided view trains as fast as a
    contiguous copy and saves a copy of those columns.
    """
    start = int(indices[0]) if len(indices) else 0
    if np.array_equal(indices, np.arange(start, start + len(indices))):
        return X[:, start:start + len(indices)]
    return np.ascontiguousarray(X[:, indices])


@fill_doc
class MultiModalFusionClassifier(BaseMultiTaskClassifier):
    """Multi-modal neural network classifier: one encoder per column group, fused.

    The columns of ``X`` come in groups (modalities: e.g. pixels, shape
    descriptors, text embeddings). Each modality gets its own encoder (an MLP
    by default, or any torch module), the encodings are fused by the strategy
    ``fusion``, and one head per task predicts the columns of ``y``. Targets
    and training are those of :class:`MultiTaskClassifier`: one or several
    tasks, missing labels, loss, sample and class weights.

    Parameters
    ----------
    modalities : None, "prefix", dict or list of (str, columns) tuples, \
default=None
        The column groups, as in :class:`~sklearn.compose.ColumnTransformer`:
        ``{name: columns}`` or ``[(name, columns), ...]``, where ``columns``
        is a column name or list of names, an int or list of ints, a slice, a
        boolean mask, or a callable ``X -> columns`` such as
        :func:`~sklearn.compose.make_column_selector`. None: one modality
        ``"all"`` holding every column. ``"prefix"``: one modality per prefix
        of ``group__column`` names, as a ``ColumnTransformer`` with
        ``set_output(transform="pandas")`` names its outputs. Names must be
        unique, contain no ``"__"`` and differ from parameter names. The
        resolved groups are in ``modalities_``. When a modality selects
        columns by name, ``predict`` matches the columns of a DataFrame by
        name (their order may differ from fit); otherwise columns are
        positional, as in any scikit-learn estimator.
    remainder : {"passthrough", "drop"}, default="passthrough"
        Columns no modality selects: a modality ``"remainder"`` of their own,
        or dropped.
    fusion : {"early", "intermediate", "late", "gated", "attention"}, \
default="intermediate"
        How the modalities are combined.

        - ``"early"``: the modality inputs are concatenated and fed to one
          shared MLP (``encoders`` are not used). Fits few, small, similar
          modalities; the baseline.
        - ``"intermediate"``: each modality's encoder, the embeddings
          concatenated, a shared trunk, task heads. A good default that
          learns interactions between modalities.
        - ``"late"``: a full classifier per modality (encoder, trunk, heads);
          each task's logits are averaged with learned softmax weights over
          the present modalities. Fits modalities that are each predictive
          alone, little data, or many rows with absent modalities.
        - ``"gated"``: embeddings projected to ``fusion_dim`` and averaged
          with per-sample softmax weights computed from all embeddings. Fits
          when the most reliable modality varies from row to row.
        - ``"attention"``: projected embeddings as tokens through a
          self-attention block (``attention_heads`` heads), mean-pooled over
          the present modalities. Fits many modalities with interactions;
          the slowest.
    encoders : dict of str to callable, default=None
        Custom encoders by modality name: an ``nn.Module`` class or a factory
        called as ``encoder(n_features, **kwargs)`` that returns a module
        mapping a ``(batch, n_features)`` float tensor to a ``(batch, width)``
        embedding. ``kwargs`` are routed with ``encoder__<modality>__<arg>=
        value``, so a grid search can tune them. Other modalities get an MLP.
    encoder_hidden_sizes : tuple of int or dict of str to tuple, default=(64,)
        Widths of the default MLP encoders: one tuple for every modality, or
        a dict by modality name (modalities it does not name get ``(64,)``).
        An empty tuple passes the modality's columns through unchanged.
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the shared trunk after fusion (of each modality's
        classifier for ``"late"``; the whole MLP for ``"early"``).
    head_hidden_sizes : tuple of int, default=()
        Widths of the hidden layers of each task head.
    fusion_dim : int, default=64
        Width that ``"gated"`` and ``"attention"`` project embeddings to.
    attention_heads : int, default=4
        Attention heads of ``"attention"``; must divide ``fusion_dim``.
    modality_dropout : float, default=0.0
        Probability of dropping each modality of each row during training
        (replaced by its absent embedding; a row keeps at least one
        modality). Makes predictions robust to absent modalities.
    aux_loss_weight : float, default=0.0
        If positive, a linear classifier per modality and task is trained on
        that modality's embedding, its loss added with this weight (for
        ``"late"``: the per-modality classifiers' own losses). Keeps every
        encoder useful on its own.
    activation : {"relu", "tanh", "logistic", "gelu", "identity"}, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer.
    %(training_parameters)s
        ``encoder__<modality>__<arg>``: arguments of custom encoders.

    Attributes
    ----------
    modalities_ : dict of str to ndarray of int
        The column indices (in the training ``X``) of each modality.
    %(fitted_attributes)s

    See Also
    --------
    MultiTaskClassifier : one network over all columns, one head per task.
    sklearn.compose.ColumnTransformer : per-group preprocessing, whose
        ``group__column`` output ``modalities="prefix"`` reads.

    Notes
    -----
    **Absent modalities.** In a row where every column of a modality is NaN,
    the modality is absent: its embedding is replaced by a learned "absent"
    embedding (for ``"early"``, a learned input vector), and ``"late"``,
    ``"gated"`` and ``"attention"`` leave it out of the combination, so the
    other modalities carry the prediction. This holds at fit and at predict;
    train with ``modality_dropout`` so that the network learns to predict
    without each modality. A modality that is only partly missing in a row is
    an error; put an imputer in front::

        make_pipeline(SimpleImputer(), MultiModalFusionClassifier(...))

    (which also fills absent blocks), or impute only the partial gaps
    yourself.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtmm import MultiModalFusionClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 6)).astype("float32")
    >>> y = (X[:, 0] + X[:, 4] > 0).astype(int)
    >>> clf = MultiModalFusionClassifier(
    ...     modalities={"a": [0, 1, 2], "b": [3, 4, 5]}, fusion="gated",
    ...     max_epochs=20, random_state=0).fit(X, y)
    >>> clf.modalities_
    {'a': array([0, 1, 2]), 'b': array([3, 4, 5])}
    >>> clf.predict(X).shape
    (200,)
    >>> X[:5, 3:] = np.nan  # modality "b" absent in five rows
    >>> clf.predict_proba(X).shape
    (200, 2)
    """

    _parameter_constraints = {
        **BaseMultiTaskClassifier._parameter_constraints,
        "modalities": [None, StrOptions({"prefix"}), dict, list, tuple],
        "remainder": [StrOptions({"passthrough", "drop"})],
        "fusion": [StrOptions(set(FUSIONS))],
        "encoders": [dict, None],
        "encoder_hidden_sizes": [tuple, list, dict],
        "hidden_layer_sizes": [tuple, list],
        "head_hidden_sizes": [tuple, list],
        "fusion_dim": [Interval(Integral, 1, None, closed="left")],
        "attention_heads": [Interval(Integral, 1, None, closed="left")],
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
        "aux_loss_weight": [Interval(Real, 0, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
    }

    _routing_prefixes = BaseMultiTaskClassifier._routing_prefixes + (ENCODER_PREFIX,)

    def __init__(
        self,
        *,
        modalities=None,
        remainder="passthrough",
        fusion="intermediate",
        encoders=None,
        encoder_hidden_sizes=(64,),
        hidden_layer_sizes=(100,),
        head_hidden_sizes=(),
        fusion_dim=64,
        attention_heads=4,
        modality_dropout=0.0,
        aux_loss_weight=0.0,
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
        self.modalities = modalities
        self.remainder = remainder
        self.fusion = fusion
        self.encoders = encoders
        self.encoder_hidden_sizes = encoder_hidden_sizes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_hidden_sizes = head_hidden_sizes
        self.fusion_dim = fusion_dim
        self.attention_heads = attention_heads
        self.modality_dropout = modality_dropout
        self.aux_loss_weight = aux_loss_weight
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

    # -- routing: encoder__<modality>__<arg> stays here, the rest goes to skorch
    def _routed_params(self):
        routed = super()._routed_params()
        return {k: v for k, v in routed.items() if not k.startswith(ENCODER_PREFIX)}

    def _encoder_kwargs(self, names, custom):
        """``{modality: {arg: value}}`` from ``encoder__<modality>__<arg>``."""
        kwargs = {m: {} for m in names}
        for key, value in self._extra_params().items():
            if not key.startswith(ENCODER_PREFIX):
                continue
            modality, _, arg = key[len(ENCODER_PREFIX):].partition("__")
            if not arg:
                raise TypeError(
                    f"{key!r} does not route to an encoder argument; use "
                    "encoder__<modality>__<arg>, e.g. encoder__pix__channels=8."
                )
            if modality not in kwargs:
                hint = did_you_mean(modality, names)
                raise ValueError(
                    f"{key!r} routes to modality {modality!r}, which is not one of "
                    f"the modalities {names}.{hint}"
                )
            if modality not in custom:
                raise ValueError(
                    f"{key!r} routes an argument to the encoder of modality "
                    f"{modality!r}, which has no custom encoder (pass one in "
                    "encoders=...); the default MLP encoder is set by "
                    "encoder_hidden_sizes."
                )
            kwargs[modality][arg] = value
        return kwargs

    # -- data ---------------------------------------------------------------
    def _input_blocks(self, X, reset):
        if reset:
            raw = X
            X = validate_data(self, X, reset=True, dtype=np.float32,
                              ensure_all_finite="allow-nan")
            names = getattr(self, "feature_names_in_", None)
            self.modalities_, self._by_name = resolve_modalities(
                self.modalities,
                raw if feature_names(raw) is not None else X,
                n_features=X.shape[1],
                names=names,
                remainder=self.remainder,
                reserved=self._get_param_names(),
            )
        else:
            check_is_fitted(self)
            if self._by_name and feature_names(X) is not None:
                X = self._match_columns(X)
            X = validate_data(self, X, reset=False, dtype=np.float32,
                              ensure_all_finite="allow-nan")
        blocks, present = {}, []
        for name, indices in self.modalities_.items():
            block = _column_block(X, indices)
            missing = np.isnan(block)
            absent = missing.all(1)
            partial = missing.any(1) & ~absent
            if partial.any():
                row = int(np.flatnonzero(partial)[0])
                raise ValueError(
                    f"Modality {name!r} is partly missing (NaN) in "
                    f"{int(partial.sum())} rows (e.g. row {row}: "
                    f"{int(missing[row].sum())} of {block.shape[1]} values NaN). A "
                    "modality must be complete or entirely NaN (absent) in each "
                    "row; put an imputer in front, e.g. make_pipeline("
                    "SimpleImputer(), MultiModalFusionClassifier(...))."
                )
            if absent.any():  # a new array: block may be a view of the caller's X
                # The network ignores absent rows' values, but NaN * 0 is NaN.
                block = np.where(absent[:, None], np.float32(0), block)
            blocks[name] = block
            present.append(~absent)
        # The presence mask travels with the blocks only when some row lacks a
        # modality; without it the network skips every masking operation.
        present = np.column_stack(present)
        if not present.all():
            blocks[PRESENT] = present
        return blocks

    def _match_columns(self, X):
        """Reorder a DataFrame's columns to the fit order, matching by name."""
        present = set(X.columns)
        fit_names = list(self.feature_names_in_)
        missing = [c for c in fit_names if c not in present]
        if missing:
            for name, indices in self.modalities_.items():
                for column in self.feature_names_in_[indices]:
                    if column not in present:
                        hint = did_you_mean(column, X.columns)
                        raise ValueError(
                            f"Column {column!r} of modality {name!r} is missing "
                            f"from X.{hint}"
                        )
            # Only columns no modality uses are missing: fill them.
            X = X.assign(**{c: 0.0 for c in missing})
        return X[fit_names]

    # -- network ------------------------------------------------------------
    def _build_module(self, n_features, n_classes):
        names = list(self.modalities_)
        n_features = {m: n_features[m] for m in names}
        custom = dict(self.encoders or {})
        for modality, spec in custom.items():
            if modality not in n_features:
                hint = did_you_mean(modality, names)
                raise ValueError(
                    f"encoders names the modality {modality!r}, which is not one "
                    f"of the modalities {names}.{hint}"
                )
            if isinstance(spec, nn.Module) or not callable(spec):
                raise TypeError(
                    f"encoders[{modality!r}] must be an nn.Module class or a factory "
                    "n_features -> nn.Module (called at every fit, so that clones "
                    f"do not share weights); got {spec!r}."
                )
        sizes = self.encoder_hidden_sizes
        if isinstance(sizes, dict):
            unknown = [m for m in sizes if m not in n_features]
            if unknown:
                raise ValueError(
                    f"encoder_hidden_sizes names the modality {unknown[0]!r}, which "
                    f"is not one of the modalities {names}."
                )
            sizes = {m: _widths(sizes.get(m, (64,)), f"encoder_hidden_sizes[{m!r}]")
                     for m in names}
        else:
            sizes = dict.fromkeys(names, _widths(sizes, "encoder_hidden_sizes"))
        kwargs = self._encoder_kwargs(names, custom)
        if self.fusion == "attention" and self.fusion_dim % self.attention_heads:
            raise ValueError(
                f"fusion_dim={self.fusion_dim} must be divisible by "
                f"attention_heads={self.attention_heads}."
            )
        layer = dict(activation=self.activation, dropout=self.dropout,
                     batch_norm=self.batch_norm)
        encoders = {}
        if self.fusion != "early":
            for m in names:
                if m in custom:
                    encoders[m] = _custom_encoder(m, custom[m], n_features[m], kwargs[m])
                else:
                    encoders[m] = mlp(n_features[m], sizes[m], **layer)
        return FusionNet(
            n_features, n_classes, encoders,
            fusion=self.fusion,
            hidden_layer_sizes=_widths(self.hidden_layer_sizes, "hidden_layer_sizes"),
            head_hidden_sizes=_widths(self.head_hidden_sizes, "head_hidden_sizes"),
            fusion_dim=self.fusion_dim,
            attention_heads=self.attention_heads,
            modality_dropout=self.modality_dropout,
            aux_loss_weight=self.aux_loss_weight,
            chain=([self.tasks_.index(t) for t in self.task_chain_]
                   if self.task_chain_ else None),
            **layer,
        )


def _custom_encoder(modality, spec, n_features, kwargs):
    """Build a user's encoder and find its output width on a dummy batch."""
    try:
        module = spec(n_features, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"The encoder of modality {modality!r} could not be built as "
            f"{getattr(spec, '__name__', spec)}({n_features}, **{kwargs!r}): {exc}"
        ) from exc
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"The encoder of modality {modality!r} must be an nn.Module; its "
            f"factory returned {type(module).__name__}."
        )
    dummy = torch.zeros(2, n_features)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(dummy)
    except Exception as exc:
        raise ValueError(
            f"The encoder of modality {modality!r} failed on an input of shape "
            f"{tuple(dummy.shape)} (batch, n_features): {exc}"
        ) from exc
    finally:
        module.train(was_training)
    shape = tuple(getattr(out, "shape", ()))
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or shape[0] != 2:
        raise ValueError(
            f"The encoder of modality {modality!r} returned shape {shape} for an "
            f"input of shape {tuple(dummy.shape)}; it must return a 2-D tensor "
            "(batch, width): one embedding per row (flatten the output)."
        )
    return module, int(shape[1])
