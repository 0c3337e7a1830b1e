"""The data path: contiguous float32 blocks, sliced into batches by index.

``fit`` and ``predict`` convert ``X`` once into a dict of float32 tensors
(one block per modality; ``{"X": ...}`` for a single block). Batches are then
drawn by indexing those tensors with a slice of a permuted index: no per-row
``__getitem__``, no ``collate``. skorch sees a ``TensorBlocks`` as its dataset
and a ``BatchIterator`` as its iterator, so its callbacks, history and early
stopping keep working.
"""

import numpy as np
import torch


class TensorBlocks:
    """Input blocks, targets and weights of a data set, as tensors.

    Parameters
    ----------
    blocks : dict of str to ndarray or Tensor
        Float32 inputs, one per block, all with the same number of rows.
    codes : ndarray of shape (n_samples, n_tasks), default=None
        Integer label codes (-1: missing). None at predict time.
    weight : ndarray of shape (n_samples, n_tasks), default=None
        Row weights, zero where the label is missing.
    """

    def __init__(self, blocks, codes=None, weight=None):
        self.blocks = {k: torch.as_tensor(v) for k, v in blocks.items()}
        self.codes = None if codes is None else torch.as_tensor(codes)
        self.weight = None if weight is None else torch.as_tensor(weight)

    def __len__(self):
        return len(next(iter(self.blocks.values())))

    def take(self, index):
        """The rows at ``index`` (a slice or an integer tensor), as a batch."""
        X = {k: v[index] for k, v in self.blocks.items()}
        if self.codes is None:
            return X, None
        return X, {"y": self.codes[index], "w": self.weight[index]}

    def subset(self, index):
        """A new ``TensorBlocks`` holding the rows at ``index``."""
        X, target = self.take(torch.as_tensor(index))
        if target is None:
            return TensorBlocks(X)
        return TensorBlocks(X, target["y"], target["w"])

    def to(self, device):
        """Move every tensor to ``device`` (once, before training)."""
        moved = TensorBlocks({k: v.to(device) for k, v in self.blocks.items()})
        if self.codes is not None:
            moved.codes = self.codes.to(device)
            moved.weight = self.weight.to(device)
        return moved


class BatchIterator:
    """Iterate over a ``TensorBlocks`` in batches of ``batch_size`` rows.

    With ``shuffle=True`` each pass draws a new permutation from torch's
    global generator (seeded by the estimator's ``random_state``). A last
    batch of a single row is merged into the previous one, so that batch
    normalisation never sees a batch of one.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return starts + [n]

    def __len__(self):
        return len(self._bounds()) - 1

    def __iter__(self):
        bounds = self._bounds()
        if self.shuffle:
            order = torch.randperm(len(self.dataset))
            for start, stop in zip(bounds[:-1], bounds[1:]):
                yield self.dataset.take(order[start:stop])
        else:
            for start, stop in zip(bounds[:-1], bounds[1:]):
                yield self.dataset.take(slice(start, stop))


class ValidationSplit:
    """skorch ``train_split``: hold out a random fraction of the rows.

    Parameters
    ----------
    fraction : float
        Fraction of rows held out for validation.
    seed : int or None
        Seed of the split; None draws from numpy's global generator.
    """

    def __init__(self, fraction, seed=None):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = int(round(self.fraction * n))
        if n_valid < 1 or n_valid >= n:
            raise ValueError(
                f"validation_fraction={self.fraction} leaves {n_valid} of {n} "
                "rows for validation; early stopping needs at least one row on "
                "each side. Use more data, another fraction, or "
                "early_stopping=False."
            )
        rng = np.random.RandomState(self.seed)
        order = rng.permutation(n)
        return dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])
