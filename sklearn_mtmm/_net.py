"""The private skorch net: multi-task loss, tuple outputs and the fast data path.

Customised only through skorch's documented hooks: ``get_dataset``,
``get_iterator``, ``get_loss``, ``train_step_single`` (per-task gradients,
only when gradient surgery or GradNorm is on) and ``get_default_callbacks``. skorch still
runs the training loop, the callbacks and the history.
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import to_tensor

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
    def get_loss(self, y_pred, y_true, X=None, training=False):
        n_tasks = len(self.tasks)
        logits = y_pred if isinstance(y_pred, (tuple, list)) else (y_pred,)
        target = to_tensor(y_true, device=self.device)
        per_task = self.criterion_(logits[:n_tasks], target["y"], target["w"])
        weights = self._loss_weights_tensor
        if training and self.weighting_ is not None:
            loss, weights = self.weighting_.combine(per_task, weights,
                                                    target["w"].sum(0) > 0)
        else:
            loss = (weights * per_task).sum()
        if training and self._needs_task_gradients():
            self._task_step = {"per_task": per_task, "weights": weights,
                               "loss_weights": self._loss_weights_tensor,
                               "present": target["w"].sum(0) > 0}
        regularization = getattr(self.module_, "regularization", None)
        penalty = regularization() if training and regularization is not None else None
        if penalty is not None:
            loss = loss + penalty
        # Auxiliary heads: extra groups of n_tasks logits after the task
        # logits, weighted by the module's ``aux_loss_weight``.
        aux_weight = getattr(self.module_, "aux_loss_weight", 0.0)
        if training and aux_weight and len(logits) > n_tasks:
            for start in range(n_tasks, len(logits), n_tasks):
                aux = self.criterion_(logits[start:start + n_tasks], target["y"], target["w"])
                loss = loss + aux_weight * (weights.detach() * aux).sum()
        self._record_tasks(per_task, target, logits[:n_tasks], training)
        return loss

    def _record_tasks(self, per_task, target, logits, training):
        """Add this batch's per-task sums to the epoch's running totals.

        Rows: weighted loss sum, weight sum and, in validation, correct and
        labelled counts. The totals stay on the device, so a batch costs no
        host transfer; ``PerTaskHistory`` reads them once per epoch.
        """
        w = target["w"].sum(0)
        stats = [per_task.detach() * w, w]
        if not training:
            labelled = target["y"] >= 0
            correct = torch.stack(
                [(z.argmax(1) == target["y"][:, t]) & labelled[:, t]
                 for t, z in enumerate(logits)], 1)
            stats += [correct.sum(0).to(w.dtype), labelled.sum(0).to(w.dtype)]
        stats = torch.stack(stats)
        prefix = "train" if training else "valid"
        total = self._task_sums.get(prefix)
        self._task_sums[prefix] = stats if total is None else total + stats

    def pop_task_sums(self):
        """The epoch's per-task totals by ``"train"``/``"valid"``, as arrays; resets them."""
        sums = {k: v.cpu().double().numpy() for k, v in self._task_sums.items()}
        self._task_sums = {}
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
        self._task_sums = {}
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
