import numpy as np
import torch

from sklearn_mtmm._losses import MultiTaskLoss


def test_weighted_mean_over_labelled_rows():
    torch.manual_seed(0)
    logits = (torch.randn(4, 3), torch.randn(4, 2))
    y = torch.tensor([[0, 1], [2, -1], [1, 0], [0, -1]])
    w = torch.tensor([[1.0, 2.0], [1.0, 0.0], [3.0, 1.0], [1.0, 0.0]])
    losses = MultiTaskLoss()(logits, y, w)
    ce0 = torch.nn.functional.cross_entropy(logits[0], y[:, 0], reduction="none")
    expected0 = (w[:, 0] * ce0).sum() / w[:, 0].sum()
    ce1 = torch.nn.functional.cross_entropy(logits[1][[0, 2]], y[[0, 2], 1], reduction="none")
    expected1 = (torch.tensor([2.0, 1.0]) * ce1).sum() / 3.0
    torch.testing.assert_close(losses, torch.stack([expected0, expected1]))


def test_missing_label_contributes_exactly_zero_gradient():
    logits = torch.randn(3, 4, requires_grad=True)
    y = torch.tensor([[1], [-1], [3]])
    w = torch.tensor([[1.0], [0.0], [1.0]])
    MultiTaskLoss()((logits,), y, w)[0].backward()
    assert torch.equal(logits.grad[1], torch.zeros(4))
    assert logits.grad[0].abs().sum() > 0 and logits.grad[2].abs().sum() > 0


def test_batch_without_labels_gives_zero_loss():
    logits = torch.randn(2, 3, requires_grad=True)
    loss = MultiTaskLoss()((logits,), torch.tensor([[-1], [-1]]), torch.zeros(2, 1))
    assert loss.item() == 0.0
    loss.sum().backward()
    assert np.all(logits.grad.numpy() == 0)


def test_unweighted_path_equals_equal_weights():
    """weight=None (every label present, equal weights) is the plain mean."""
    torch.manual_seed(0)
    logits = (torch.randn(5, 3, requires_grad=True), torch.randn(5, 2, requires_grad=True))
    y = torch.tensor([[0, 1], [2, 0], [1, 0], [0, 1], [2, 1]])
    unweighted = MultiTaskLoss()(logits, y, None)
    weighted = MultiTaskLoss()(logits, y, torch.full((5, 2), 3.0))
    torch.testing.assert_close(unweighted, weighted)
    grads = torch.autograd.grad(unweighted.sum(), logits)
    expected = torch.autograd.grad(weighted.sum(), logits)
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e)
