"""The weighted, masked multi-task loss.

For a batch, task ``t`` contributes the weighted mean of its rows'
cross-entropies over the rows that have a label for it::

    L_t = sum_i w_it * CE(z_it, y_it) / sum_i w_it

where ``w_it`` is zero for a missing label and otherwise the product of the
row's sample weight and its class weight. A row with a missing label therefore
contributes exactly zero loss and zero gradient to that task. The total loss is
``sum_t loss_weight_t * L_t`` (see ``_net.py``).

When every row has a label for every task and all weights are equal, ``L_t``
is the plain mean cross-entropy; the data set then carries no weights
(``weight=None``) and the loss takes that shorter path: fewer operations per
batch, forward and backward.
"""

import torch
from torch import nn
from torch.nn import functional as F


class MultiTaskLoss(nn.Module):
    """Per-task weighted mean cross-entropy over the labelled rows.

    ``forward(logits, y, weight)`` takes a sequence of per-task logits of
    shape (batch, n_classes_t), integer codes ``y`` of shape (batch, n_tasks)
    with -1 for a missing label, and row weights of shape (batch, n_tasks)
    that are zero where the label is missing, or None when every label is
    present and every weight equal. It returns the per-task losses as a
    tensor of shape (n_tasks,).
    """

    def forward(self, logits, y, weight):
        if weight is None:
            return torch.stack([F.cross_entropy(z, y[:, t]) for t, z in enumerate(logits)])
        ce = torch.stack([
            F.cross_entropy(z, y[:, t], ignore_index=-1, reduction="none")
            for t, z in enumerate(logits)
        ], 1)
        tiny = torch.finfo(weight.dtype).tiny
        return (weight * ce).sum(0) / weight.sum(0).clamp(min=tiny)
