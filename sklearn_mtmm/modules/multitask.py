"""The network of ``MultiTaskClassifier``: a trunk (or towers) and task heads."""

import torch
from torch import nn

from .chain import ChainedHeads
from .mlp import head, mlp


class MultiTaskMLP(nn.Module):
    """MLP with hard, soft or no parameter sharing and one head per task.

    Parameters
    ----------
    n_features : int
        Input width.
    n_classes : list of int
        Number of classes of each task, in task order.
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the shared trunk (``"hard"``) or of each task's tower.
    head_hidden_sizes : tuple of int, default=()
        Hidden widths of each task head.
    sharing : {"hard", "soft", "none"}, default="hard"
        ``"hard"``: one trunk feeds every head. ``"soft"``: one tower per
        task, corresponding tower layers pulled together by
        :meth:`regularization`. ``"none"``: independent towers.
    sharing_strength : float, default=0.01
        Factor of the soft-sharing penalty.
    activation, dropout, batch_norm
        See :func:`~sklearn_mtmm.modules.mlp.mlp`.
    chain : list of int, default=None
        Task indices in chain order: the heads become
        :class:`~sklearn_mtmm.modules.chain.ChainedHeads`, each chained head
        also reading the predicted probabilities of the tasks before it.
        None: independent heads.

    Notes
    -----
    ``forward(X)`` returns a tuple of logits, one ``(batch, n_classes_t)``
    tensor per task. Heads live in an ``nn.ModuleList`` in task order (an
    ``nn.ModuleDict`` would reject task names that contain a dot).
    """

    def __init__(self, n_features, n_classes, *, hidden_layer_sizes=(100,),
                 head_hidden_sizes=(), sharing="hard", sharing_strength=0.01,
                 activation="relu", dropout=0.0, batch_norm=False, chain=None):
        super().__init__()
        layer = dict(activation=activation, dropout=dropout, batch_norm=batch_norm)
        self.sharing = sharing
        self.sharing_strength = sharing_strength
        n_towers = 1 if sharing == "hard" else len(n_classes)
        towers = [mlp(n_features, hidden_layer_sizes, **layer) for _ in range(n_towers)]
        self.towers = nn.ModuleList(t for t, _ in towers)
        width = towers[0][1]
        self.chained = chain is not None
        if self.chained:
            self.heads = ChainedHeads(width, n_classes, chain,
                                      hidden_sizes=head_hidden_sizes, **layer)
        else:
            self.heads = nn.ModuleList(
                head(width, head_hidden_sizes, c, **layer) for c in n_classes
            )

    def shared_parameters(self):
        """Parameters every task depends on: the trunk under ``sharing="hard"``.

        Under ``"soft"`` and ``"none"`` each tower belongs to one task, so
        nothing is shared. Used by gradient surgery and GradNorm.
        """
        return iter(self.towers[0].parameters()) if self.sharing == "hard" else iter(())

    def forward(self, X):
        if self.chained:
            if self.sharing == "hard":
                return self.heads(self.towers[0](X))
            return self.heads([tower(X) for tower in self.towers])
        if self.sharing == "hard":
            shared = self.towers[0](X)
            return tuple(h(shared) for h in self.heads)
        return tuple(h(tower(X)) for tower, h in zip(self.towers, self.heads))

    def regularization(self):
        """Soft-sharing penalty ``strength * sum_t ||theta_t - mean theta||^2``.

        Sums over every parameter of the towers, comparing each task's copy
        with the mean of all copies. None (no penalty) for ``"hard"`` and
        ``"none"``.
        """
        if self.sharing != "soft" or len(self.towers) < 2:
            return None
        penalty = 0.0
        for copies in zip(*(tower.parameters() for tower in self.towers)):
            stacked = torch.stack(copies)
            penalty = penalty + ((stacked - stacked.mean(0)) ** 2).sum()
        return self.sharing_strength * penalty
