"""Task-weighting strategies: how the per-task losses are combined in training.

Every strategy multiplies the user's ``loss_weights`` by a dynamic factor per
task; the effective weight of task ``t`` is ``loss_weight_t * factor_t``:

``"fixed"``
    Factor 1: the total is ``sum_t loss_weight_t * L_t``. No object is built
    and training takes the plain path.
``"uncertainty"``
    Kendall, Gal & Cipolla (2018), "Multi-task learning using uncertainty to
    weigh losses for scene geometry and semantics", CVPR. One learned
    log-variance ``s_t = log sigma_t^2`` per task; the classification form of
    their objective, ``sum_t loss_weight_t * (exp(-s_t) L_t + s_t / 2)``, i.e.
    ``L_t / sigma_t^2 + log sigma_t``. Its minimiser in ``s_t`` is
    ``sigma_t^2 = 2 L_t``: a task with a higher irreducible loss (noisier
    labels) gets a larger variance and a smaller factor ``exp(-s_t)``.
``"dwa"``
    Dynamic Weight Average, Liu, Johns & Davison (2019), "End-to-end
    multi-task learning with attention", CVPR. Per epoch ``e``,
    ``factor_t = K exp(r_t / T) / sum_k exp(r_k / T)`` with
    ``r_t = L_t(e-1) / L_t(e-2)`` the ratio of the task's mean training loss
    in the last two epochs, ``K`` the number of tasks and ``T = 2`` (the
    paper's temperature). Factors are 1 in the first two epochs. A task
    whose loss falls slowly gets more weight.
``"gradnorm"``
    Chen, Badrinarayanan, Lee & Rabinovich (2018), "GradNorm: gradient
    normalization for adaptive loss balancing in deep multitask networks",
    ICML. Learned factors ``w_t`` (renormalised to sum to ``K`` before each
    step) are trained, alongside the network and by its optimizer, to
    minimise ``sum_t |G_t - mean(G) r_t^alpha|`` where
    ``G_t = ||grad_W loss_weight_t w_t L_t||`` is the norm of the task's
    weighted gradient on the shared parameters ``W``, and
    ``r_t = (L_t / L_t(0)) / mean_k (L_k / L_k(0))`` is its relative inverse
    training rate (``L_t(0)``: its loss in the first batch that labels it).
    This brings the tasks' gradient norms towards a common scale, more so
    for tasks that train slower (``alpha`` > 0). ``W`` is every shared
    parameter (see ``_surgery.shared_parameters``), not only the last shared
    layer as in the paper: the per-task gradients are computed anyway when
    gradient surgery is on, and the choice does not depend on the
    architecture.

Rows without a label for a task contribute nothing to its loss; a task with no
labelled row in a batch contributes no term, and its uncertainty or GradNorm
parameters get no update from that batch.

The validation loss (early stopping) always uses the fixed ``loss_weights``,
so that epochs are compared on one scale while the training weights move.
"""

import math

import torch
from torch import nn

TASK_WEIGHTINGS = ("fixed", "uncertainty", "dwa", "gradnorm")

DWA_TEMPERATURE = 2.0
"""Temperature ``T`` of dynamic weight average (the paper's value)."""

_MIN_GRADNORM_WEIGHT = 1e-3


class TaskWeighting(nn.Module):
    """Base of the dynamic strategies: factors multiplying the loss weights.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    """

    needs_task_gradients = False
    """Whether :meth:`update` needs the per-task gradient norms each step."""

    def __init__(self, n_tasks):
        super().__init__()
        self.n_tasks = n_tasks

    def factors(self):
        """Current factors, a detached tensor of shape (n_tasks,)."""
        raise NotImplementedError

    def combine(self, per_task, loss_weights, present):
        """Training loss and effective weights for one batch.

        Parameters
        ----------
        per_task : Tensor of shape (n_tasks,)
            Each task's loss on the batch.
        loss_weights : Tensor of shape (n_tasks,)
            The fixed loss weights.
        present : Tensor of shape (n_tasks,), dtype=bool
            Whether the batch labels each task.

        Returns
        -------
        loss : Tensor
            Scalar total loss.
        weights : Tensor of shape (n_tasks,)
            Detached effective weights: ``loss`` depends on the network only
            through ``sum_t weights_t * per_task_t``.
        """
        weights = loss_weights * self.factors().to(per_task.dtype)
        return (weights * per_task).sum(), weights

    def on_epoch_begin(self, history, tasks):
        """Called at the start of each training epoch."""

    def update(self, per_task, grad_norms, loss_weights, present):
        """Set the gradient of the strategy's own parameters for this step."""


class UncertaintyWeighting(TaskWeighting):
    """Learned homoscedastic uncertainty per task (Kendall et al., 2018).

    Attributes
    ----------
    log_vars : nn.Parameter of shape (n_tasks,)
        ``s_t = log sigma_t^2``, initialised at 0 (factor 1).
    """

    def __init__(self, n_tasks):
        super().__init__(n_tasks)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks))

    def factors(self):
        return torch.exp(-self.log_vars.detach())

    def combine(self, per_task, loss_weights, present):
        s = self.log_vars.to(per_task.dtype)
        precision = torch.exp(-s)
        # The log-variance term only counts for tasks the batch labels, so a
        # task's variance is not driven down by batches that carry no label.
        terms = loss_weights * (precision * per_task + 0.5 * s * present)
        return terms.sum(), (loss_weights * precision).detach()


class DynamicWeightAverage(TaskWeighting):
    """Dynamic weight average (Liu et al., 2019), updated once per epoch.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    temperature : float, default=2.0
        Softness ``T`` of the softmax over loss ratios.
    """

    def __init__(self, n_tasks, temperature=DWA_TEMPERATURE):
        super().__init__(n_tasks)
        self.temperature = temperature
        self.register_buffer("current", torch.ones(n_tasks))

    def factors(self):
        return self.current

    def on_epoch_begin(self, history, tasks):
        # history[-1] is the epoch that starts; its two predecessors hold the
        # per-task mean training losses recorded by PerTaskHistory.
        if len(history) < 3:
            return
        ratios = []
        for task in tasks:
            key = f"train_loss_{task}"
            last, before = history[-2].get(key), history[-3].get(key)
            ok = (last is not None and before is not None and math.isfinite(last)
                  and math.isfinite(before) and before > 0)
            ratios.append(last / before if ok else 1.0)
        r = torch.tensor(ratios, dtype=torch.float64) / self.temperature
        factors = self.n_tasks * torch.softmax(r, dim=0)
        self.current.copy_(factors.to(self.current.dtype))


class GradNormWeighting(TaskWeighting):
    """GradNorm (Chen et al., 2018): learned factors balancing gradient norms.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    alpha : float, default=1.5
        Strength of the pull towards the relative training rates; 0 equalises
        the gradient norms.

    Attributes
    ----------
    weights : nn.Parameter of shape (n_tasks,)
        Unnormalised factors, initialised at 1.
    initial_losses : Tensor of shape (n_tasks,)
        Each task's first recorded batch loss (NaN until seen).
    """

    needs_task_gradients = True

    def __init__(self, n_tasks, alpha=1.5):
        super().__init__(n_tasks)
        self.alpha = alpha
        self.weights = nn.Parameter(torch.ones(n_tasks))
        self.register_buffer("initial_losses", torch.full((n_tasks,), math.nan))

    def factors(self):
        w = self.weights.detach().clamp(min=_MIN_GRADNORM_WEIGHT)
        return self.n_tasks * w / w.sum()

    def update(self, per_task, grad_norms, loss_weights, present):
        with torch.no_grad():
            self.weights.copy_(self.factors())
            first = present & torch.isnan(self.initial_losses)
            self.initial_losses.copy_(
                torch.where(first, per_task.to(self.initial_losses.dtype),
                            self.initial_losses))
        dtype = per_task.dtype
        initial = self.initial_losses.to(dtype)
        active = (present & (initial > 0)).to(dtype)
        n_active = active.sum().clamp(min=1.0)
        ratio = torch.where(active > 0, per_task / initial.clamp(min=1e-12),
                            torch.zeros_like(per_task))
        rate = ratio / ((ratio * active).sum() / n_active).clamp(min=1e-12)
        G = loss_weights * self.weights.to(dtype) * grad_norms
        target = ((G * active).sum() / n_active * rate ** self.alpha).detach()
        gradnorm_loss = ((G - target).abs() * active).sum()
        (grad,) = torch.autograd.grad(gradnorm_loss, self.weights)
        self.weights.grad = grad


def make_weighting(task_weighting, n_tasks, *, gradnorm_alpha=1.5):
    """Build the strategy module for ``task_weighting`` (None for ``"fixed"``)."""
    if task_weighting == "fixed":
        return None
    if task_weighting == "uncertainty":
        return UncertaintyWeighting(n_tasks)
    if task_weighting == "dwa":
        return DynamicWeightAverage(n_tasks)
    if task_weighting == "gradnorm":
        return GradNormWeighting(n_tasks, alpha=gradnorm_alpha)
    raise ValueError(
        f"task_weighting must be one of {list(TASK_WEIGHTINGS)}; got "
        f"{task_weighting!r}."
    )
