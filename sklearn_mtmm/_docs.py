"""Docstring text shared by the estimators, written once.

``fill_doc`` substitutes ``%(name)s`` placeholders in a class docstring, as
imbalanced-learn's ``Substitution`` does.
"""

import textwrap

_DOCS = {
    "training_parameters": """\
loss_weights : None, sequence of float or dict, default=None
    Weight of each task's loss in the total: None for equal weights, one
    number per task in task order, or a dict by task name (tasks it does not
    name get 1.0). Non-negative; validated at fit.
class_weight : None, "balanced", dict or list, default=None
    Class weights: None, ``"balanced"`` for every task, ``{label: weight}``
    for a single task, or per task as a dict by task name or a list, each
    entry None, ``"balanced"`` or ``{label: weight}``.
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
    Optimizer. Its other arguments are routed with skorch's syntax, e.g.
    ``optimizer__weight_decay=1e-4``.
lr : float, default=1e-3
    Learning rate.
max_epochs : int, default=100
    Number of passes over the training data (at most, with early stopping).
batch_size : int, default=128
    Rows per training batch. Prediction uses batches of at least 8192 rows.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows, stop when the validation
    loss has not improved by ``tol`` (relative) for ``n_iter_no_change``
    epochs, and restore the weights of the best epoch.
validation_fraction : float, default=0.1
    Fraction of rows held out when ``early_stopping=True``.
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.
tol : float, default=1e-4
    Relative improvement of the validation loss that counts for early
    stopping.
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks (instances or ``(name, callback)`` pairs), copied
    at fit.
warm_start : bool, default=False
    If True, ``fit`` continues training the fitted network instead of
    starting anew (same tasks and classes required).
device : str, default="cpu"
    Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or
    ``"auto"`` (cuda, then mps, then cpu). A fitted model unpickles on a
    machine without that device and then runs on the CPU.
n_threads : int or None, default=1
    Torch threads used during ``fit`` and ``predict``; the previous setting
    is restored afterwards. One thread does not collapse when other processes
    keep the cores busy; None leaves torch's own setting.
verbose : int, default=0
    0: silent. 1: a table per epoch with the total and per-task losses.
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, dropout and the validation
    split. An int gives identical results on the CPU for equal seeds. Torch's
    global RNG state is restored after each call.
**kwargs
    Arguments routed to skorch by prefix (``optimizer__*``).""",
    "fitted_attributes": """\
tasks_ : list of str
    Task names: the columns of a DataFrame ``y`` (or a Series' name), else
    ``task_0``, ``task_1``, ...
classes_ : list of ndarray
    Classes of each task; a single array when ``y`` was 1-D.
n_features_in_ : int
    Number of features seen during fit.
feature_names_in_ : ndarray of str
    Feature names seen during fit, when ``X`` had string column names.
loss_weights_ : ndarray of shape (n_tasks,)
    The task loss weights used.
device_ : str
    The torch device the network was trained on.
net_ : skorch.NeuralNet
    The trained skorch net; ``net_.module_`` is the torch module.
history_ : skorch.History
    Per-epoch records: ``train_loss``, ``train_loss_<task>`` and, with
    early stopping, ``valid_loss``, ``valid_loss_<task>`` and
    ``valid_acc_<task>``.
n_iter_ : int
    Number of epochs trained.""",
}


def fill_doc(obj):
    """Substitute the shared docstring sections into ``obj.__doc__``."""
    doc = obj.__doc__
    for name, text in _DOCS.items():
        placeholder = f"%({name})s"
        for line in doc.splitlines():
            if line.strip() == placeholder:
                indent = line[: len(line) - len(line.lstrip())]
                doc = doc.replace(line, textwrap.indent(text, indent), 1)
                break
    obj.__doc__ = doc
    return obj
