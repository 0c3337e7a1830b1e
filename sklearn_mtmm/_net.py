"""The private skorch net: multi-task loss, tuple outputs and the fast data path.

Customised through skorch's documented methods: ``get_dataset``,
``get_iterator``, ``infer`` (batches are already dicts of tensors on the
device), ``get_loss``, ``train_step`` (a direct optimizer step when nothing
needs skorch's closure), ``train_step_single`` (per-task gradients, only when
gradient surgery or GradNorm is on) and ``get_default_callbacks``; plus one
private method, ``_set_training``, which only walks the modules when the
mode changes. skorch still runs the training loop, the callbacks and the
history.
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

from ._data import BatchIterator, TensorBlocks, for_device
from . import _surgery
from ._losses import MultiTaskLoss
from ._weighting import make_weighting
from .callbacks import PerTaskHistory


class MultiTaskNet(NeuralNet):
    """skorch ``NeuralNet`` whose module returns a tuple of per-task logits.

    Parameters
    ----------
    module : nn.Module
        Takes the input blocks as keyword arguments and returns one logits
        tensor per task. Extra outputs after the first ``n_tasks`` are
        groups of ``n_tasks`` auxiliary logits: in training, their losses are
        added with weight ``module.aux_loss_weight`` (ignored if absent or 0).
    tasks : list of str
        Task names, in output order.
    loss_weights : ndarray of shape (n_tasks,)
        Weight of each task's loss in the total.
    predict_batch_size : int
        Rows per batch at prediction and validation time.
    task_weighting : {"fixed", "uncertainty", "dwa", "gradnorm"}, default="fixed"
        Training-time task weighting; see ``_weighting``.
    gradnorm_alpha : float, default=1.5
        GradNorm's ``alpha``.
    gradient_surgery : {None, "pcgrad", "mgda"}, default=None
        Combination of task gradients on shared parameters; see ``_surgery``.
    **kwargs
        Passed to ``skorch.NeuralNet``.
    """

    def __init__(self, module, *args, tasks, loss_weights, predict_batch_size,
                 task_weighting="fixed", gradnorm_alpha=1.5, gradient_surgery=None,
                 **kwargs):
        super().__init__(module, *args, criterion=MultiTaskLoss, **kwargs)
        self.tasks = tasks
        self.loss_weights = loss_weights
        self.predict_batch_size = predict_batch_size
        self.task_weighting = task_weighting
        self.gradnorm_alpha = gradnorm_alpha
        self.gradient_surgery = gradient_surgery

    # -- task balancing (``_weighting``, ``_surgery``) ---------------------
    def initialize_module(self):
        super().initialize_module()
        # A registered skorch module: its parameters (learned log-variances,
        # GradNorm weights) join the optimizer and follow the device.
        self.weighting_ = make_weighting(self.task_weighting, len(self.tasks),
                                         gradnorm_alpha=self.gradnorm_alpha)
        self._task_step = None
        if self._needs_task_gradients() and not _surgery.shared_parameters(self.module_):
            what = (f"gradient_surgery={self.gradient_surgery!r}"
                    if self.gradient_surgery is not None
                    else "task_weighting='gradnorm'")
            raise ValueError(
                f"{what} needs parameters shared by all tasks, but the network "
                "has none (MultiTaskClassifier: use sharing='hard' with at least "
                "one hidden layer)."
            )
        return self

    def _needs_task_gradients(self):
        return self.gradient_surgery is not None or self.task_weighting == "gradnorm"

    def train_step(self, batch, **fit_params):
        """One optimizer step; skorch's own when a gradient hook or closure is needed.

        skorch's ``train_step`` wraps the step in a closure and notifies
        ``on_grad_computed`` with a generator over every parameter on every
        batch (about 3% of a fit on a small MLP). When no callback listens to
        ``on_grad_computed`` (e.g. ``GradientNormClipping``) and no optimizer
        needs a closure (LBFGS), the step is taken directly.
        """
        if not self._direct_step:
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self._step_optimizer(None)
        return step

    def train_step_single(self, batch, **fit_params):
        if not self._needs_task_gradients():
            return super().train_step_single(batch, **fit_params)
        return _surgery.train_step_single(self, batch, **fit_params)

    def task_weights(self):
        """Current effective training weight of each task, as an ndarray."""
        weights = np.asarray(self.loss_weights, dtype=float)
        if getattr(self, "weighting_", None) is not None:
            weights = weights * self.weighting_.factors().cpu().double().numpy()
        return weights

    # -- data path -------------------------------------------------------
    def get_dataset(self, X, y=None):
        if isinstance(X, TensorBlocks):
            return X
        return TensorBlocks(X)

    def get_iterator(self, dataset, training=False):
        dataset = for_device(dataset, self.device)
        if training:
            return BatchIterator(dataset, self.batch_size, shuffle=True)
        return BatchIterator(dataset, self.predict_batch_size, shuffle=False)

    # -- loss ------------------------------------------------------------
    def infer(self, x, **fit_params):
        # Batches come from ``get_iterator``: dicts of tensors already on the
        # device, so skorch's conversion and merging are skipped.
        return self.module_(**x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        n_tasks = len(self.tasks)
        logits = y_pred if isinstance(y_pred, (tuple, list)) else (y_pred,)
        y, w = y_true["y"], y_true["w"]  # tensors on the device (``get_iterator``)
        per_task = self.criterion_(logits[:n_tasks], y, w)
        weights = self._loss_weights_tensor
        if training and self.weighting_ is not None:
            loss, weights = self.weighting_.combine(per_task, weights, self._present(w))
        else:
            loss = (weights * per_task).sum()
        if training and self._needs_task_gradients():
            self._task_step = {"per_task": per_task, "weights": weights,
                               "loss_weights": self._loss_weights_tensor,
                               "present": self._present(w)}
        regularization = getattr(self.module_, "regularization", None)
        penalty = regularization() if training and regularization is not None else None
        if penalty is not None:
            loss = loss + penalty
        # Auxiliary heads: extra groups of n_tasks logits after the task
        # logits, weighted by the module's ``aux_loss_weight``.
        aux_weight = getattr(self.module_, "aux_loss_weight", 0.0)
        if training and aux_weight and len(logits) > n_tasks:
            for start in range(n_tasks, len(logits), n_tasks):
                aux = self.criterion_(logits[start:start + n_tasks], y, w)
                loss = loss + aux_weight * (weights.detach() * aux).sum()
        self._record_tasks(per_task, y, w, logits[:n_tasks], training)
        return loss

    def _present(self, w):
        """Which tasks have a labelled row of non-zero weight in the batch."""
        if w is None:
            return torch.ones(len(self.tasks), dtype=torch.bool, device=self.device)
        return w.sum(0) > 0

    def _record_tasks(self, per_task, y, w, logits, training):
        """Keep this batch's per-task losses for the epoch's history.

        Kept as they are, on the device: a training batch costs one
        ``detach``, no host transfer and no arithmetic; :meth:`pop_task_sums`
        reduces the epoch once. Each entry: the per-task losses, the per-task
        weight totals (the row count when the data set has no weights) and,
        in validation, correct and labelled counts.
        """
        entry = [per_task.detach(), len(y) if w is None else w.sum(0)]
        if not training:
            labelled = y >= 0
            correct = torch.stack(
                [(z.argmax(1) == y[:, t]) & labelled[:, t] for t, z in enumerate(logits)], 1)
            entry += [correct.sum(0), labelled.sum(0)]
        self._task_batches.setdefault("train" if training else "valid", []).append(entry)

    def pop_task_sums(self):
        """The epoch's per-task totals by ``"train"``/``"valid"``; resets them.

        Each value is an array of rows: weighted loss sum, weight sum and,
        in validation, correct and labelled counts.
        """
        sums = {}
        for prefix, batches in self._task_batches.items():
            columns = list(zip(*batches))
            loss = torch.stack(columns[0])
            if torch.is_tensor(columns[1][0]):
                weight = torch.stack(columns[1]).to(loss.dtype)
            else:
                weight = torch.tensor(columns[1], dtype=loss.dtype,
                                      device=loss.device)[:, None].expand_as(loss)
            rows = [(loss * weight).sum(0), weight.sum(0)]
            rows += [torch.stack(c).sum(0).to(loss.dtype) for c in columns[2:]]
            sums[prefix] = torch.stack(rows).cpu().double().numpy()
        self._task_batches = {}
        return sums

    def _set_training(self, training=True):
        # skorch calls this before every batch and walks every submodule; on a
        # small MLP that is ~2% of a fit. Only walk when the mode changes.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    # -- callbacks -------------------------------------------------------
    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        names = [name for name, _ in callbacks]
        at = names.index("print_log") if "print_log" in names else len(callbacks)
        callbacks.insert(at, ("per_task_history", PerTaskHistory()))
        return callbacks

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        listens = [cb for _, cb in self.callbacks_
                   if type(cb).on_grad_computed is not Callback.on_grad_computed]
        closures = [name for name in self._optimizers
                    if isinstance(getattr(self, name + "_"), torch.optim.LBFGS)]
        self._direct_step = not listens and not closures
        # Converted once per fit call, not once per batch.
        self._loss_weights_tensor = torch.as_tensor(
            self.loss_weights, dtype=torch.float32, device=self.device)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self._task_batches = {}
        if self.weighting_ is not None:
            self.weighting_.on_epoch_begin(self.history, self.tasks)

    def on_epoch_end(self, net, **kwargs):
        if self.weighting_ is not None:
            for task, weight in zip(self.tasks, self.task_weights()):
                self.history.record(f"task_weight_{task}", float(weight))
        losses = [b["train_loss"] for b in self.history[-1]["batches"]
                  if "train_loss" in b]
        if losses and not math.isfinite(float(np.mean(losses))):
            raise FloatingPointError(
                f"Training diverged in epoch {len(self.history)}: the training "
                f"loss became {np.mean(losses)}. Lower the learning rate (lr="
                f"{self.lr}), scale the features (e.g. StandardScaler), or clip "
                "gradients."
            )
