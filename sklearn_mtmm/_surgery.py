"""Gradient surgery: combining conflicting task gradients on shared parameters.

With ``gradient_surgery`` set, each training step computes one gradient per
task on the *shared* parameters (one backward pass per task), combines them
with the chosen method, and uses the result in place of their sum. Parameters
that are not shared (the task heads) keep their ordinary gradient, which only
their own task produces.

``"pcgrad"``
    Projecting conflicting gradients, Yu, Kumar, Gupta, Levine, Hausman &
    Finn (2020), "Gradient surgery for multi-task learning", NeurIPS. Each
    task's gradient ``g_i``, taking the other tasks in a random order, is
    projected onto the normal plane of every ``g_j`` it conflicts with
    (``g_i . g_j < 0``); the projected gradients are summed. With two tasks
    the result has a non-negative inner product with both gradients.
``"mgda"``
    The multiple-gradient descent algorithm as used for multi-task learning
    by Sener & Koltun (2018), "Multi-task learning as multi-objective
    optimization", NeurIPS: the minimum-norm point ``d`` of the convex hull
    of the task gradients, solved exactly on their Gram matrix.
    Chosen as the second method because, unlike PCGrad, it guarantees for
    *any* number of tasks a direction that no task's loss opposes
    (``d . g_t >= ||d||^2 >= 0`` for every task at the optimum, i.e. a
    common descent direction, zero only at a Pareto-stationary point), has
    no hyperparameter, and costs only an ``n_tasks x n_tasks`` problem per
    step (CAGrad needs an inner optimisation and a tuned ``c``). ``d`` is
    scaled by the number of tasks with a gradient so that its size is
    comparable with the sum the other settings use.

The gradients combined are the *weighted* task gradients
``loss_weight_t * factor_t * grad L_t`` (see ``_weighting``), so weighting
strategies and surgery compose. A task with no labelled row in the batch has
a zero gradient and takes no part.

Shared parameters
-----------------
``shared_parameters(module)`` returns ``module.shared_parameters()`` when the
module defines it (``MultiTaskMLP``: the trunk under ``sharing="hard"``;
nothing under ``"soft"`` or ``"none"``, whose towers belong to one task each),
else every parameter that is not inside a direct child module whose name ends
in ``heads`` (the package's convention for per-task heads: ``heads``, an
``nn.ModuleList`` or ``ChainedHeads``, and e.g. ``aux_heads``). Gradient surgery and GradNorm need at least one shared
parameter and raise otherwise.
"""

import numpy as np
import torch
from skorch.dataset import unpack_data

GRADIENT_SURGERIES = ("pcgrad", "mgda")


def shared_parameters(module):
    """The parameters of ``module`` that every task's loss depends on.

    Parameters
    ----------
    module : nn.Module
        The network.

    Returns
    -------
    params : list of nn.Parameter
        Shared parameters that require a gradient, in a fixed order.
    """
    method = getattr(module, "shared_parameters", None)
    if callable(method):
        params = list(method())
    else:
        in_heads = {id(p) for name, child in module.named_children()
                    if name.endswith("heads") for p in child.parameters()}
        params = [p for p in module.parameters() if id(p) not in in_heads]
    return [p for p in params if p.requires_grad]


def task_gradients(per_task, params):
    """Flattened gradient of each task's loss on ``params``.

    Parameters
    ----------
    per_task : Tensor of shape (n_tasks,)
        Per-task losses, still attached to the graph (which is retained).
    params : list of Tensor
        The parameters.

    Returns
    -------
    grads : Tensor of shape (n_tasks, n_params)
        Row ``t`` is the gradient of ``per_task[t]``; zero where a parameter
        is unused or the task has no loss in the batch.
    """
    rows = []
    for loss in per_task:
        if not loss.requires_grad:
            rows.append(torch.cat([torch.zeros_like(p).reshape(-1) for p in params]))
            continue
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([
            (torch.zeros_like(p) if g is None else g).reshape(-1)
            for g, p in zip(grads, params)
        ]))
    return torch.stack(rows)


def pcgrad(grads, generator=None):
    """Combine task gradients with PCGrad (Yu et al., 2020).

    Parameters
    ----------
    grads : Tensor of shape (n_tasks, n_params)
        One gradient per task.
    generator : torch.Generator, default=None
        Source of the random task orders (torch's global generator if None).

    Returns
    -------
    combined : Tensor of shape (n_params,)
        Sum of the projected gradients.
    """
    n_tasks = len(grads)
    sq_norms = (grads * grads).sum(1).clamp(min=torch.finfo(grads.dtype).tiny)
    # Row i of ``orders`` is task i's random order of the other tasks; step k
    # projects every task at once against its k-th task (n steps, not n^2).
    orders = torch.argsort(torch.rand(n_tasks, n_tasks, generator=generator), dim=1)
    orders = orders.to(grads.device)
    rows = torch.arange(n_tasks, device=grads.device)
    projected = grads.clone()
    for k in range(n_tasks):
        others = orders[:, k]
        g_other = grads[others]
        # Project only when conflicting; torch.clamp avoids a host sync.
        dot = torch.clamp((projected * g_other).sum(1), max=0.0)
        coef = torch.where(others == rows, torch.zeros_like(dot), dot / sq_norms[others])
        projected = projected - coef[:, None] * g_other
    return projected.sum(0)


def min_norm_weights(gram):
    """Convex weights of the minimum-norm point of the hull of vectors.

    Solved exactly through non-negative least squares: with ``A`` such that
    ``A.T @ A = gram``, ``beta = argmin_{beta >= 0} ||A beta||^2 +
    (sum(beta) - 1)^2`` is a positive multiple of the minimum-norm weights
    (for a fixed sum ``s``, the first term is ``s^2 ||A alpha||^2``), so
    ``alpha = beta / sum(beta)``. Sener & Koltun (2018) use Frank-Wolfe,
    which converges slowly when the optimum lies on a face of the simplex.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Gram matrix of the vectors, ``gram[i, j] = g_i . g_j``.

    Returns
    -------
    alpha : ndarray of shape (n,)
        Non-negative weights summing to one.
    """
    from scipy.optimize import nnls

    n = len(gram)
    eigval, eigvec = np.linalg.eigh((gram + gram.T) / 2)
    factor = np.sqrt(np.clip(eigval, 0, None))[:, None] * eigvec.T
    design = np.vstack([factor, np.ones((1, n))])
    target = np.zeros(n + 1)
    target[-1] = 1.0
    beta, _ = nnls(design, target)
    return beta / beta.sum()


def mgda(grads):
    """Combine task gradients with MGDA's minimum-norm direction.

    Parameters
    ----------
    grads : Tensor of shape (n_tasks, n_params)
        One gradient per task.

    Returns
    -------
    combined : Tensor of shape (n_params,)
        ``k * sum_t alpha_t g_t``, the minimum-norm convex combination of the
        ``k`` non-zero task gradients, scaled by ``k``.
    """
    gram = (grads @ grads.T).detach().to("cpu", torch.float64).numpy()
    active = np.flatnonzero(np.diag(gram) > 0)
    if len(active) == 0:
        return grads.sum(0)
    # Scale-free solve: normalise the Gram matrix by its largest entry.
    sub = gram[np.ix_(active, active)]
    alpha = min_norm_weights(sub / sub.max())
    weights = np.zeros(len(grads))
    weights[active] = alpha * len(active)
    return torch.as_tensor(weights, dtype=grads.dtype, device=grads.device) @ grads


def combine_gradients(method, grads):
    """Apply the surgery ``method`` ("pcgrad" or "mgda") to task gradients."""
    if method == "pcgrad":
        return pcgrad(grads)
    if method == "mgda":
        return mgda(grads)
    raise ValueError(
        f"gradient_surgery must be None or one of {list(GRADIENT_SURGERIES)}; "
        f"got {method!r}."
    )


def train_step_single(net, batch, **fit_params):
    """skorch ``train_step_single`` with per-task gradients on shared parameters.

    Called by ``MultiTaskNet.train_step_single`` when gradient surgery or
    GradNorm is on. It runs the forward pass and the loss as skorch does
    (``net.infer``, ``net.get_loss``), then one backward pass per task on
    the shared parameters, hands their norms to GradNorm, runs the ordinary
    backward pass of the total loss, and finally replaces the shared
    parameters' share of the task sum by the surgery's combination (other
    gradient terms on shared parameters, e.g. a regulariser, are kept).

    Returns
    -------
    step : dict
        ``{"loss": loss, "y_pred": y_pred}``, as skorch expects.
    """
    net._set_training(True)
    Xi, yi = unpack_data(batch)
    y_pred = net.infer(Xi, **fit_params)
    loss = net.get_loss(y_pred, yi, X=Xi, training=True)
    step = net._task_step
    params = shared_parameters(net.module_)
    grads = task_gradients(step["per_task"], params)
    weighting = net.weighting_
    if weighting is not None and weighting.needs_task_gradients:
        weighting.update(step["per_task"].detach(), grads.norm(dim=1),
                         step["loss_weights"], step["present"])
    loss.backward()
    if net.gradient_surgery is not None:
        weighted = grads * step["weights"].to(grads.dtype)[:, None]
        delta = combine_gradients(net.gradient_surgery, weighted) - weighted.sum(0)
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                change = delta[offset:offset + n].view_as(p)
                if p.grad is None:
                    p.grad = change.clone()
                else:
                    p.grad.add_(change)
                offset += n
    net._task_step = None
    return {"loss": loss, "y_pred": y_pred}
