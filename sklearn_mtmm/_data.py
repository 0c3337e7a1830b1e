"""The data path: contiguous float32 blocks, sliced into batches by index.

``fit`` and ``predict`` convert ``X`` once into a dict of float32 tensors
(one block per modality; ``{"X": ...}`` for a single block). Batches are then
drawn by indexing those tensors with a slice of a permuted index: no per-row
``__getitem__``, no ``collate``. skorch sees a ``TensorBlocks`` as its dataset
and a ``BatchIterator`` as its iterator, so its callbacks, history and early
stopping keep working.

On a CUDA device (:func:`for_device`), a data set that fits in a fraction of
the free device memory moves there once, so batches are sliced on the device;
a larger one is pinned in host memory and each batch is gathered into a
pinned buffer and copied asynchronously. The CPU path does none of this.
"""

import copy
import warnings

import numpy as np
import torch


def _as_tensor(array):
    """``torch.as_tensor``, sharing memory even with a read-only array.

    Read-only arrays are common (pandas' copy-on-write views); torch warns
    that writing to such a tensor is undefined, and the data path never
    writes to its tensors, so the warning is silenced rather than paid for
    with a copy.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable",
                                category=UserWarning)
        return torch.as_tensor(array)


class TensorBlocks:
    """Input blocks, targets and weights of a data set, as tensors.

    Parameters
    ----------
    blocks : dict of str to ndarray or Tensor
        The module's inputs (float32 blocks; fusion's boolean presence
        mask), all with the same number of rows.
    codes : ndarray of shape (n_samples, n_tasks), default=None
        Integer label codes (-1: missing). None at predict time.
    weight : ndarray of shape (n_samples, n_tasks), default=None
        Row weights, zero where the label is missing. None at predict time,
        and in training when every label is present and every weight equal
        (the loss is then a plain mean; see ``_losses``).

    Notes
    -----
    :meth:`subset` returns a view: the same tensors and an index of rows
    (``rows``), so a train/validation split costs no copy of ``X``; a batch
    of a view gathers ``rows[index]``.
    """

    def __init__(self, blocks, codes=None, weight=None):
        self.blocks = {k: _as_tensor(v) for k, v in blocks.items()}
        self.codes = None if codes is None else torch.as_tensor(codes, dtype=torch.int64)
        # float32 like the inputs: float64 weights would make every batch's
        # loss arithmetic run in float64.
        self.weight = None if weight is None else torch.as_tensor(weight, dtype=torch.float32)
        # Set by ``pin_memory``: the device batches are copied to.
        self.target_device = None
        # Set by ``subset``: the rows of the tensors this data set holds.
        self.rows = None

    def __len__(self):
        if self.rows is not None:
            return len(self.rows)
        return len(next(iter(self.blocks.values())))

    def take(self, index):
        """The rows at ``index`` (a slice or an integer tensor), as a batch."""
        if self.rows is not None:
            index = self.rows[index]
        return self.batch([t[index] for t in self.tensors()])

    def batch(self, tensors):
        """``(X, target)`` from batch tensors in the order of :meth:`tensors`.

        ``X`` maps block names to inputs; ``target`` is None at predict time,
        else ``{"y": codes, "w": weights or None}``.
        """
        X = dict(zip(self.blocks, tensors))
        if self.codes is None:
            return X, None
        rest = tensors[len(self.blocks):]
        return X, {"y": rest[0], "w": rest[1] if len(rest) > 1 else None}

    def subset(self, index):
        """A view of the rows at ``index``: no data is copied."""
        index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        view = copy.copy(self)
        view.rows = index if self.rows is None else self.rows[index]
        return view

    def tensors(self):
        """Every tensor of the data set: the blocks, then codes and weights if any."""
        extra = [t for t in (self.codes, self.weight) if t is not None]
        return list(self.blocks.values()) + extra

    @property
    def nbytes(self):
        """Bytes of this data set's rows."""
        return sum(t.element_size() * t[:1].nelement() for t in self.tensors()) * len(self)

    @property
    def device(self):
        return next(iter(self.blocks.values())).device

    def _map(self, fn):
        """A new data set of ``fn(tensor)``; a view is gathered first."""
        rows = self.rows
        if rows is not None:
            fn = (lambda f: lambda t: f(t[rows]))(fn)
        moved = TensorBlocks({k: fn(v) for k, v in self.blocks.items()})
        moved.codes = None if self.codes is None else fn(self.codes)
        moved.weight = None if self.weight is None else fn(self.weight)
        return moved

    def to(self, device):
        """Move every tensor to ``device`` (once, before training)."""
        return self._map(lambda t: t.to(device))

    def pin_memory(self, target_device):
        """Pin every tensor in host memory; batches go to ``target_device``."""
        pinned = self._map(lambda t: t.pin_memory())
        pinned.target_device = torch.device(target_device)
        return pinned


DEVICE_MEMORY_FRACTION = 0.5
"""Largest share of the free device memory a data set may take on the device."""


def for_device(dataset, device):
    """Put ``dataset`` where batches for ``device`` are best drawn from.

    CPU: unchanged. CUDA: moved to the device once when it takes at most
    ``DEVICE_MEMORY_FRACTION`` of the free device memory, else pinned in host
    memory for asynchronous batch copies. Other devices (MPS): moved once.
    skorch builds its iterators once per fit loop, so this runs once per
    ``fit`` and ``predict``.
    """
    device = torch.device(device)
    if device.type == "cpu" or dataset.device.type == device.type:
        return dataset
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if dataset.nbytes > DEVICE_MEMORY_FRACTION * free:
            return dataset.pin_memory(device)
    return dataset.to(device)


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
        if self.dataset.target_device is not None:
            yield from _PinnedBatches(self.dataset, bounds, self.shuffle)
            return
        if self.shuffle:
            # Drawn on the CPU generator whatever the device, so a seed gives
            # the same batches on CPU and GPU.
            order = torch.randperm(len(self.dataset)).to(self.dataset.device)
            for start, stop in zip(bounds[:-1], bounds[1:]):
                yield self.dataset.take(order[start:stop])
        else:
            for start, stop in zip(bounds[:-1], bounds[1:]):
                yield self.dataset.take(slice(start, stop))


class _PinnedBatches:
    """Batches of a pinned host data set, copied asynchronously to the GPU.

    A shuffled batch is gathered (``index_select``) into one of two pinned
    staging buffers per tensor, then copied with ``non_blocking=True``; a
    CUDA event guards each buffer so it is not overwritten while its copy is
    in flight. An unshuffled batch is a contiguous view of pinned memory and
    is copied directly.
    """

    def __init__(self, dataset, bounds, shuffle):
        self.dataset = dataset
        self.bounds = bounds
        self.shuffle = shuffle

    def __iter__(self):
        dataset, bounds = self.dataset, self.bounds
        sources = dataset.tensors()
        if not self.shuffle:
            for start, stop in zip(bounds[:-1], bounds[1:]):
                yield dataset.batch([t[start:stop].to(dataset.target_device, non_blocking=True)
                                     for t in sources])
            return
        size = max(stop - start for start, stop in zip(bounds[:-1], bounds[1:]))
        buffers = [
            [torch.empty((size,) + tuple(t.shape[1:]), dtype=t.dtype).pin_memory()
             for t in sources]
            for _ in range(2)
        ]
        events = [None, None]
        order = torch.randperm(len(dataset))
        for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            slot = i % 2
            if events[slot] is not None:
                events[slot].synchronize()
            index = order[start:stop]
            staged = [torch.index_select(t, 0, index, out=b[:len(index)])
                      for t, b in zip(sources, buffers[slot])]
            moved = [t.to(dataset.target_device, non_blocking=True) for t in staged]
            events[slot] = torch.cuda.Event()
            events[slot].record()
            yield dataset.batch(moved)


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
