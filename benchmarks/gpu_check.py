"""GPU check: CUDA fit/predict agree with CPU, and throughput vs a hand loop.

    python benchmarks/gpu_check.py            # ~1-3 minutes on one GPU

1. Fits ``MultiTaskClassifier`` with the same seed on CPU and on CUDA and
   checks that the predictions agree (float arithmetic differs between the
   devices, so agreement is required on at least 99% of the labels, and the
   CUDA model's accuracy must match the CPU model's within 1 point).
2. Checks that a CPU-fitted model predicts the same on CUDA (same weights).
3. Runs the pinned-memory path (data set larger than the device budget,
   forced by setting ``DEVICE_MEMORY_FRACTION`` to 0) and checks it agrees
   with the device-resident path.
4. Times fit and predict on CUDA against a hand-written loop on the same GPU
   (tensors on the device, a permuted index), interleaved, median of 3.

Exits 0 with a clear message when CUDA is unavailable.
"""

import copy
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_speed import BATCH, HIDDEN, LR, HandLoop, make_data  # noqa: E402

N_SAMPLES, N_FEATURES, EPOCHS = 100_000, 112, 5


def main():
    if not torch.cuda.is_available():
        print("gpu_check: CUDA is not available on this machine "
              f"(torch {torch.__version__}, built with CUDA "
              f"{torch.version.cuda}); nothing to check.")
        return 0
    from sklearn_mtmm import MultiTaskClassifier, _data

    device = "cuda"
    print(f"gpu_check on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    X_all, Y_all, _ = make_data(N_SAMPLES + 20_000, N_FEATURES)
    X, Y = X_all[:N_SAMPLES], Y_all[:N_SAMPLES]
    X_test, Y_test = X_all[N_SAMPLES:], Y_all[N_SAMPLES:]
    params = dict(hidden_layer_sizes=HIDDEN, lr=LR, batch_size=BATCH,
                  max_epochs=EPOCHS, random_state=0)
    failures = []

    def check(ok, message):
        print(("ok    " if ok else "FAIL  ") + message)
        if not ok:
            failures.append(message)

    cpu = MultiTaskClassifier(device="cpu", **params).fit(X, Y)
    gpu = MultiTaskClassifier(device=device, **params).fit(X, Y)
    p_cpu, p_gpu = cpu.predict(X_test), gpu.predict(X_test)
    agree = (p_cpu == p_gpu).mean()
    acc_cpu, acc_gpu = (p_cpu == Y_test).mean(), (p_gpu == Y_test).mean()
    check(agree >= 0.99, f"CUDA-fitted vs CPU-fitted predictions agree on {agree:.4f} "
                         "of labels (>= 0.99)")
    check(abs(acc_cpu - acc_gpu) <= 0.01,
          f"accuracy CPU {acc_cpu:.4f} vs CUDA {acc_gpu:.4f} (within 0.01)")
    check(str(next(gpu.net_.module_.parameters()).device).startswith("cuda"),
          "the CUDA model's weights live on the GPU")
    probas_gpu = gpu.predict_proba(X_test)
    check(all(isinstance(p, np.ndarray) for p in probas_gpu),
          "predict_proba on CUDA returns NumPy arrays")

    # Same weights, other device: predictions must match almost exactly.
    moved = copy.deepcopy(cpu)
    moved.device_ = device
    moved.net_.set_params(device=device)
    moved.net_.module_.to(device)
    same = (moved.predict(X_test) == p_cpu).mean()
    check(same >= 0.999, f"CPU weights predict the same on CUDA: {same:.4f} (>= 0.999)")

    # Pinned host memory: force the "does not fit" branch.
    fraction = _data.DEVICE_MEMORY_FRACTION
    _data.DEVICE_MEMORY_FRACTION = 0.0
    try:
        pinned = MultiTaskClassifier(device=device, **params).fit(X, Y)
        p_pinned = pinned.predict(X_test)
    finally:
        _data.DEVICE_MEMORY_FRACTION = fraction
    agree = (p_pinned == p_gpu).mean()
    check(agree >= 0.99, f"pinned-memory batches vs device-resident data agree on "
                         f"{agree:.4f} of labels (>= 0.99)")

    # Throughput against a hand-written loop on the same GPU.
    times = {"hand-written loop": ([], []), "MultiTaskClassifier": ([], [])}
    for rep in range(4):  # rep 0 warms up
        for name in (list(times) if rep % 2 else list(times)[::-1]):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            if name == "hand-written loop":
                model = HandLoop(EPOCHS, 0, device=device).fit(X, Y)
            else:
                model = MultiTaskClassifier(device=device, **params).fit(X, Y)
            torch.cuda.synchronize()
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            model.predict(X_test)
            torch.cuda.synchronize()
            if rep:
                times[name][0].append(fit_s)
                times[name][1].append(time.perf_counter() - t0)
    ref_fit, ref_pred = (np.median(t) for t in times["hand-written loop"])
    print(f"\n{N_SAMPLES} rows x {N_FEATURES} columns, {EPOCHS} epochs, batch {BATCH}")
    print("| method | fit s | fit ratio | rows/s (fit) | predict s | predict ratio |")
    print("|---|---|---|---|---|---|")
    for name, (f, p) in times.items():
        f, p = np.median(f), np.median(p)
        print(f"| {name} | {f:.2f} | {f / ref_fit:.2f}x | {N_SAMPLES * EPOCHS / f:,.0f} "
              f"| {p:.3f} | {p / ref_pred:.2f}x |")
    if failures:
        print(f"\n{len(failures)} check(s) failed.")
        return 1
    print("\nAll GPU checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
