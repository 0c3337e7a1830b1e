"""scikit-learn estimators for multi-task and multi-modal classification."""

from ._fusion import MultiModalFusionClassifier
from ._multitask import MultiTaskClassifier

__all__ = ["MultiModalFusionClassifier", "MultiTaskClassifier"]
__version__ = "0.1.0.dev0"
