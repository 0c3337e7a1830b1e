"""Chained task heads: later heads also see earlier tasks' predicted probabilities.

``ChainedHeads`` is the package's hierarchical (chained) output block, a
scikit-learn ``ClassifierChain`` inside one network: the heads are evaluated in
a given order and the head of each task takes, besides the shared
representation, the class probabilities predicted for every task before it in
the chain. All heads are trained jointly, with the one multi-task loss.

It is independent of what produces the representation, so every network of
the package (``MultiTaskMLP``, the fusion networks) can use it in place of an
``nn.ModuleList`` of heads.
"""

from numbers import Integral

import numpy as np
import torch
from torch import nn

from .._messages import did_you_mean
from .mlp import head


class ChainedHeads(nn.Module):
    """Task heads evaluated in a chain, each fed the previous tasks' probabilities.

    Parameters
    ----------
    n_in : int
        Width of the representation the heads read (the shared trunk's or
        fusion block's output, or the width of each task's tower).
    n_classes : list of int
        Number of classes of each task, in task order.
    order : sequence of int, default=None
        Task indices in chain order. The head of ``order[k]`` takes the
        representation concatenated with the probabilities of
        ``order[0], ..., order[k-1]`` (in that order). Tasks not listed are
        not chained: their heads read the representation only and their
        predictions feed no other head. None chains all tasks in task order.
    hidden_sizes : tuple of int, default=()
        Hidden widths of each head, before its output layer.
    detach : bool, default=True
        Stop the gradient through the probabilities passed down the chain, so
        that each head is trained by its own task's loss only (as the models
        of a ``ClassifierChain`` are). With False, later tasks' losses also
        train earlier heads.
    **layer
        ``activation``, ``dropout`` and ``batch_norm`` of the heads' hidden
        layers; see :func:`~sklearn_mtmm.modules.mlp.mlp`.

    Attributes
    ----------
    heads : nn.ModuleList
        One head per task, in task order (not chain order).
    order : list of int
        The chain order.

    Notes
    -----
    The probabilities passed down the chain are always the network's own
    predictions (a softmax of the earlier heads' logits), in training as at
    prediction time, rather than the true labels (teacher forcing). Training
    thus sees exactly what prediction will see (no exposure bias: a later head
    learns how much to trust an earlier, imperfect head), rows with a missing
    label for an earlier task need no special case, and the module needs only
    the representation, not the targets.

    ``forward(rep)`` takes one tensor of shape ``(batch, n_in)`` shared by all
    heads, or a sequence of one such tensor per task (per-task towers), and
    returns a tuple of logits in task order.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtmm.modules.chain import ChainedHeads
    >>> heads = ChainedHeads(8, [3, 2], order=[0, 1])
    >>> [z.shape for z in heads(torch.zeros(5, 8))]
    [torch.Size([5, 3]), torch.Size([5, 2])]
    >>> heads.heads[1][-1].in_features  # 8 features + 3 probabilities
    11
    """

    def __init__(self, n_in, n_classes, order=None, *, hidden_sizes=(), detach=True,
                 **layer):
        super().__init__()
        n_tasks = len(n_classes)
        order = list(range(n_tasks)) if order is None else [int(t) for t in order]
        if len(set(order)) != len(order) or not all(0 <= t < n_tasks for t in order):
            raise ValueError(
                f"order must hold distinct task indices in [0, {n_tasks}); got "
                f"{order}."
            )
        self.order = order
        self.detach = detach
        n_extra = {}
        width = 0
        for t in order:
            n_extra[t] = width
            width += n_classes[t]
        self.heads = nn.ModuleList(
            head(n_in + n_extra.get(t, 0), hidden_sizes, c, **layer)
            for t, c in enumerate(n_classes)
        )

    def forward(self, rep):
        n_tasks = len(self.heads)
        inputs = list(rep) if isinstance(rep, (list, tuple)) else [rep] * n_tasks
        logits = [None] * n_tasks
        probas = []
        last = len(self.order) - 1
        for k, t in enumerate(self.order):
            x = torch.cat([inputs[t], *probas], dim=1) if probas else inputs[t]
            logits[t] = self.heads[t](x)
            if k < last:
                p = torch.softmax(logits[t], dim=1)
                probas.append(p.detach() if self.detach else p)
        for t in range(n_tasks):
            if logits[t] is None:
                logits[t] = self.heads[t](inputs[t])
        return tuple(logits)


def resolve_task_chain(task_chain, tasks):
    """Validate the ``task_chain`` parameter against the fitted task names.

    Parameters
    ----------
    task_chain : None, bool or sequence of str or int
        The estimator parameter: None or False (no chain), True (all tasks in
        the order of ``y``'s columns), or task names or column indices in
        chain order.
    tasks : list of str
        Task names, in column order.

    Returns
    -------
    order : list of int or None
        Task indices in chain order; None when there is no chain.
    """
    if task_chain is None or task_chain is False or (
            isinstance(task_chain, np.bool_) and not task_chain):
        return None
    if task_chain is True or isinstance(task_chain, np.bool_):
        return list(range(len(tasks)))
    if isinstance(task_chain, str) or not hasattr(task_chain, "__iter__"):
        raise TypeError(
            "task_chain must be None, a bool, or a list of task names or column "
            f"indices; got {task_chain!r}."
        )
    order = []
    for entry in task_chain:
        if isinstance(entry, Integral) and not isinstance(entry, (bool, np.bool_)):
            if not 0 <= entry < len(tasks):
                raise ValueError(
                    f"task_chain holds the column index {entry}, but y has "
                    f"{len(tasks)} task(s) (indices 0 to {len(tasks) - 1})."
                )
            order.append(int(entry))
        elif isinstance(entry, str):
            if entry not in tasks:
                raise ValueError(
                    f"task_chain names the task {entry!r}, which is not a task "
                    f"of y; tasks: {tasks}.{did_you_mean(entry, tasks)}"
                )
            order.append(tasks.index(entry))
        else:
            raise TypeError(
                "task_chain entries must be task names (str) or column indices "
                f"(int); got {entry!r} of type {type(entry).__name__}."
            )
    if len(set(order)) != len(order):
        names = [tasks[t] for t in order]
        raise ValueError(f"task_chain lists a task more than once: {names}.")
    return order
