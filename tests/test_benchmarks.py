"""Smoke tests of the benchmark scripts: they run and report what they promise.

Timings are not asserted (the machine is shared); the table's shape, its
reference row and the accuracies are.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"

METHODS = [
    "hand-written loop",
    "skorch NeuralNet (default data path)",
    "MultiTaskClassifier",
    "MultiModalFusionClassifier (3 modalities)",
    "3 separate skorch classifiers",
    "MultiOutputClassifier(MLPClassifier)",
    "MultiOutputClassifier(HistGradientBoosting)",
]


def _run(*args, timeout):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _table(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return header, rows


def test_bench_speed_quick_reports_every_method():
    sys.path.insert(0, str(BENCH))
    try:
        from bench_speed import COLUMNS
    finally:
        sys.path.remove(str(BENCH))
    result = _run(BENCH / "bench_speed.py", "--quick", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("Machine: ")
    header, rows = _table(result.stdout)
    assert header == COLUMNS
    assert [row[0] for row in rows] == METHODS
    assert all(len(row) == len(COLUMNS) for row in rows)
    reference = rows[0]
    assert reference[2] == "1.00x" and reference[4] == "1.00x"
    for row in rows:
        assert float(row[1]) > 0 and float(row[3]) > 0
        accuracies = [float(a) for a in row[7:]]
        # Better than chance on every task (2, 5 and 10 balanced classes).
        assert all(a > 1.2 / k for a, k in zip(accuracies, (2, 5, 10))), row


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA exit")
def test_gpu_check_exits_cleanly_without_cuda():
    result = _run(BENCH / "gpu_check.py", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "CUDA is not available" in result.stdout
