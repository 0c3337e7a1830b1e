"""Callbacks of the multi-task nets (skorch callbacks)."""

import numpy as np
from skorch.callbacks import Callback


class PerTaskHistory(Callback):
    """Record per-task losses and validation accuracies in the history.

    At the end of each epoch, adds ``train_loss_<task>`` and, when a
    validation set exists, ``valid_loss_<task>`` and ``valid_acc_<task>`` for
    every task. Losses are each task's weighted mean over all its labelled
    rows of the epoch (not an average of batch means); accuracies count only
    rows that have a label for the task. The estimators add this callback
    themselves; ``verbose=1`` prints its columns.
    """

    def on_epoch_end(self, net, **kwargs):
        for prefix, sums in net.pop_task_sums().items():
            loss, weight = sums[0], sums[1]
            for task, l, w in zip(net.tasks, loss, weight):
                net.history.record(f"{prefix}_loss_{task}", float(l / w) if w > 0 else np.nan)
            if prefix == "valid":
                for task, c, n in zip(net.tasks, sums[2], sums[3]):
                    net.history.record(f"valid_acc_{task}", float(c / n) if n > 0 else np.nan)
