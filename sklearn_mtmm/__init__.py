"""scikit-learn estimators for multi-task and multi-modal classification."""

from ._multitask import MultiTaskClassifier

__all__ = ["MultiTaskClassifier"]
__version__ = "0.1.0.dev0"
