"""PyTorch modules: MLP blocks, multi-task networks and fusion networks."""

from .mlp import head, mlp
from .multitask import MultiTaskMLP

__all__ = ["MultiTaskMLP", "head", "mlp"]
