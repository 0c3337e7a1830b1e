"""PyTorch modules: MLP blocks, multi-task networks and fusion networks."""

from .fusion import FusionNet
from .mlp import head, mlp
from .multitask import MultiTaskMLP

__all__ = ["FusionNet", "MultiTaskMLP", "head", "mlp"]
