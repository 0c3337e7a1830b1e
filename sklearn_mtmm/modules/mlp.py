"""Multi-layer perceptron blocks shared by every network of the package."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def mlp(n_in, hidden_sizes, *, activation="relu", dropout=0.0, batch_norm=False):
    """Stack of ``Linear -> [BatchNorm] -> activation -> [Dropout]`` layers.

    Parameters
    ----------
    n_in : int
        Input width.
    hidden_sizes : tuple of int
        Width of each hidden layer; empty gives an identity block.
    activation : {"relu", "tanh", "logistic", "gelu", "identity"}, default="relu"
    dropout : float, default=0.0
    batch_norm : bool, default=False

    Returns
    -------
    block : nn.Sequential
    n_out : int
        Output width (``n_in`` when ``hidden_sizes`` is empty).
    """
    layers = []
    for width in hidden_sizes:
        layers.append(nn.Linear(n_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(dropout))
        n_in = width
    return nn.Sequential(*layers), n_in


def head(n_in, hidden_sizes, n_classes, **kwargs):
    """A task head: an MLP followed by a linear layer to ``n_classes`` logits."""
    body, width = mlp(n_in, hidden_sizes, **kwargs)
    return nn.Sequential(body, nn.Linear(width, n_classes))
