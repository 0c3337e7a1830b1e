"""The network of ``MultiModalFusionClassifier``: encoders, fusion, task heads.

``FusionNet.forward(**blocks)`` takes one float32 block per modality and,
when some row lacks a modality, a boolean ``(batch, n_modalities)`` block
under the key ``PRESENT`` (``"__present__"``, a name no modality can take)
saying which modalities each row has. An absent modality's embedding is
replaced by a learned "absent" embedding, and late, gated and attention
fusion leave it out of the combination; its input values are ignored (the
estimator passes zeros). Without ``PRESENT`` every row has every modality,
and the network skips all masking. In training mode the module returns the task logits
followed by one group of task logits per modality (auxiliary heads) when
``aux_loss_weight > 0``; the net adds their losses (see ``_net.py``).
"""

import torch
from torch import nn

from .chain import ChainedHeads
from .mlp import head, mlp

FUSIONS = ("early", "intermediate", "late", "gated", "attention")
PRESENT = "__present__"
"""Key of the presence mask among the input blocks (modality names cannot hold '__')."""


class FusionNet(nn.Module):
    """Per-modality encoders, a fusion block, a shared trunk and task heads.

    Parameters
    ----------
    n_features : dict of str to int
        Input width of each modality, in modality order.
    n_classes : list of int
        Number of classes of each task.
    encoders : dict of str to (nn.Module, int)
        Each modality's encoder and its output width (ignored by ``"early"``,
        which uses the raw inputs).
    fusion : {"early", "intermediate", "late", "gated", "attention"}
    hidden_layer_sizes : tuple of int
        Widths of the shared trunk (of each modality's classifier for
        ``"late"``).
    head_hidden_sizes : tuple of int
        Hidden widths of each task head.
    fusion_dim : int
        Common width modality embeddings are projected to by ``"gated"`` and
        ``"attention"``.
    attention_heads : int
        Heads of the self-attention block of ``"attention"``.
    modality_dropout : float
        Probability of dropping each present modality of each row in training
        (a row always keeps at least one).
    aux_loss_weight : float
        Weight of the auxiliary per-modality heads' losses; 0 builds none.
    chain : list of int, default=None
        Task indices in chain order: the heads are a
        :class:`~sklearn_mtmm.modules.chain.ChainedHeads`. None: independent
        heads.
    activation, dropout, batch_norm
        See :func:`~sklearn_mtmm.modules.mlp.mlp`.
    """

    def __init__(self, n_features, n_classes, encoders, *, fusion="intermediate",
                 hidden_layer_sizes=(100,), head_hidden_sizes=(), fusion_dim=64,
                 attention_heads=4, modality_dropout=0.0, aux_loss_weight=0.0,
                 chain=None, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        layer = dict(activation=activation, dropout=dropout, batch_norm=batch_norm)
        self.names = list(n_features)
        self.fusion = fusion
        self.modality_dropout = modality_dropout
        self.aux_loss_weight = aux_loss_weight
        self.n_tasks = len(n_classes)
        if fusion == "early":
            self.encoders = nn.ModuleList(nn.Identity() for _ in self.names)
            widths = [n_features[m] for m in self.names]
        else:
            self.encoders = nn.ModuleList(encoders[m][0] for m in self.names)
            widths = [encoders[m][1] for m in self.names]
        self.absent = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths)

        if fusion == "late":
            towers = [mlp(w, hidden_layer_sizes, **layer) for w in widths]
            self.towers = nn.ModuleList(t for t, _ in towers)
            self.modality_heads = nn.ModuleList(
                _task_heads(w, n_classes, head_hidden_sizes, chain, layer)
                for _, w in towers
            )
            self.late_weights = nn.Parameter(torch.zeros(len(n_classes), len(widths)))
            return

        if fusion in ("gated", "attention"):
            self.projections = nn.ModuleList(nn.Linear(w, fusion_dim) for w in widths)
            fused_width = fusion_dim
            if fusion == "gated":
                self.gate = nn.Linear(sum(widths), len(widths))
            else:
                self.modality_tokens = nn.Parameter(
                    0.02 * torch.randn(len(widths), fusion_dim))
                self.attention = nn.TransformerEncoderLayer(
                    fusion_dim, attention_heads, dim_feedforward=2 * fusion_dim,
                    dropout=dropout, batch_first=True)
        else:
            fused_width = sum(widths)
        self.trunk, width = mlp(fused_width, hidden_layer_sizes, **layer)
        self.heads = _task_heads(width, n_classes, head_hidden_sizes, chain, layer)
        if aux_loss_weight > 0:
            self.aux_heads = nn.ModuleList(
                nn.ModuleList(nn.Linear(w, c) for c in n_classes) for w in widths)

    def _drop_modalities(self, present):
        """Drop each present modality of each row with ``modality_dropout``."""
        keep = torch.rand(present.shape, device=present.device) >= self.modality_dropout
        dropped = present & keep
        # A row that would lose every modality keeps what it had.
        return torch.where(dropped.any(1, keepdim=True), dropped, present)

    def forward(self, **blocks):
        xs = [blocks[m] for m in self.names]
        present = blocks.get(PRESENT)  # None: every row has every modality
        if self.training and self.modality_dropout > 0:
            if present is None:
                present = torch.ones(len(xs[0]), len(xs), dtype=torch.bool,
                                     device=xs[0].device)
            present = self._drop_modalities(present)
        embeddings = [encoder(x) for x, encoder in zip(xs, self.encoders)]
        use = None  # which embeddings a row combines; None: all of them
        if present is not None:
            embeddings = [torch.where(present[:, m:m + 1], e, self.absent[m].to(e.dtype))
                          for m, e in enumerate(embeddings)]
            # Rows with no modality at all fall back to the absent embeddings.
            use = present | ~present.any(1, keepdim=True)

        if self.fusion == "late":
            per_modality = [_apply(heads, tower(e)) for e, tower, heads
                            in zip(embeddings, self.towers, self.modality_heads)]
            outputs = []
            for t in range(self.n_tasks):
                weights = torch.softmax(_mask(self.late_weights[t].expand(
                    len(xs[0]), len(xs)), use), 1)
                stacked = torch.stack([z[t] for z in per_modality], 1)
                outputs.append((weights.unsqueeze(2) * stacked).sum(1))
            if self.training and self.aux_loss_weight > 0:
                outputs += [z for group in per_modality for z in group]
            return tuple(outputs)

        if self.fusion in ("early", "intermediate"):
            fused = torch.cat(embeddings, 1)
        elif self.fusion == "gated":
            tokens = torch.stack([p(e) for p, e in zip(self.projections, embeddings)], 1)
            scores = _mask(self.gate(torch.cat(embeddings, 1)), use)
            fused = (torch.softmax(scores, 1).unsqueeze(2) * tokens).sum(1)
        else:
            tokens = torch.stack([p(e) for p, e in zip(self.projections, embeddings)], 1)
            tokens = self.attention(tokens + self.modality_tokens,
                                    src_key_padding_mask=None if use is None else ~use)
            if use is None:
                fused = tokens.mean(1)
            else:
                weights = use.to(tokens.dtype).unsqueeze(2)
                fused = (tokens * weights).sum(1) / weights.sum(1)
        shared = self.trunk(fused)
        outputs = _apply(self.heads, shared)
        if self.training and self.aux_loss_weight > 0:
            outputs += [h(e) for e, heads in zip(embeddings, self.aux_heads) for h in heads]
        return tuple(outputs)


def _mask(scores, use):
    """``scores`` with the modalities a row does not use at -inf (None: all used)."""
    return scores if use is None else scores.masked_fill(~use, float("-inf"))


def _task_heads(width, n_classes, hidden_sizes, chain, layer):
    """One head per task: a ``ModuleList``, or ``ChainedHeads`` given a chain."""
    if chain:
        return ChainedHeads(width, n_classes, order=chain, hidden_sizes=hidden_sizes,
                            **layer)
    return nn.ModuleList(head(width, hidden_sizes, c, **layer) for c in n_classes)


def _apply(heads, rep):
    """The task logits of ``heads`` on the representation ``rep``, as a list."""
    if isinstance(heads, ChainedHeads):
        return list(heads(rep))
    return [h(rep) for h in heads]
