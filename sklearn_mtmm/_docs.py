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
    0: silent. 1: a table per epoch with the total and per-task losses,
    plus a progress bar when an epoch has 500 batches or more. 2: always a
    progress bar.
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, dropout and the validation
    split. An int gives identical results on the CPU for equal seeds. Torch's
    global RNG state is restored after each call.
task_weighting : {"fixed", "uncertainty", "dwa", "gradnorm"}, default="fixed"
    How the per-task losses are weighted in training. The effective weight of
    a task is its ``loss_weights`` entry times a factor: ``"fixed"``: 1.
    ``"uncertainty"``: ``exp(-s_t)`` with a learned log-variance ``s_t`` per
    task (Kendall, Gal & Cipolla, 2018; the loss adds ``s_t / 2``), so noisier
    tasks weigh less. ``"dwa"``: dynamic weight average (Liu, Johns & Davison,
    2019), ``K softmax(r / 2)`` with ``r_t`` the ratio of the task's training
    losses in the two previous epochs, so slowly improving tasks weigh more.
    ``"gradnorm"``: learned factors (summing to the number of tasks) that
    pull the norms of the tasks' gradients on the shared parameters towards a
    common scale, adjusted by their training rates (Chen et al., 2018); here
    ``loss_weights`` only set the starting weights, which it then rebalances.
    The validation loss always uses the fixed ``loss_weights``. Per-epoch factors
    times loss weights are in ``history_`` as ``task_weight_<task>``.
gradnorm_alpha : float, default=1.5
    GradNorm's asymmetry ``alpha``: 0 equalises the gradient norms, larger
    values favour tasks that train slower. Used with
    ``task_weighting="gradnorm"``.
gradient_surgery : {None, "pcgrad", "mgda"}, default=None
    Combine the tasks' gradients on the shared parameters (one backward pass
    per task) instead of summing them. ``"pcgrad"`` (Yu et al., 2020) removes
    from each task's gradient its component against any task it conflicts
    with. ``"mgda"`` (Sener & Koltun, 2018) takes the minimum-norm convex
    combination, a direction along which no task's loss increases (to first
    order). Shared parameters: the module's ``shared_parameters()`` (the trunk
    with ``sharing="hard"``), else all parameters outside its ``*heads``
    sub-modules; a network without any raises. Task heads keep their own
    gradients.
task_chain : None, bool or list of str or int, default=None
    Chain the task heads as scikit-learn's ``ClassifierChain`` does, inside
    one network trained jointly: the head of each listed task also reads the
    predicted class probabilities of the tasks listed before it. True chains
    all tasks in the order of ``y``'s columns; a list gives task names or
    column indices in chain order (unlisted tasks are not chained). Training
    feeds the heads the network's own predictions, not the true labels, with
    the gradient stopped, so training matches prediction and each head is
    trained by its own task's loss.
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
    ``valid_acc_<task>``; with a non-fixed ``task_weighting``, the
    effective weights at the end of each epoch as ``task_weight_<task>``.
task_weights_ : ndarray of shape (n_tasks,)
    Effective training weight of each task at the end of training
    (``loss_weights_`` times the learned or dynamic factor).
task_chain_ : list of str
    The tasks chained, in chain order; empty without a chain.
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
