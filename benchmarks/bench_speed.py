"""Speed benchmark: the package's data path against a hand-written PyTorch loop.

Every method trains on the same synthetic data (3 tasks with 2, 5 and 10
classes) with the same MLP (112-256-128, one linear head per task), Adam,
``lr=1e-3``, batch 256, a fixed number of epochs, in one process. Methods run
interleaved (method order rotates each repetition) after a warm-up on 1,024
rows; the report gives medians and ratios to the hand-written loop, which
slices pre-built tensors by a permuted index.

    python benchmarks/bench_speed.py              # the full run (~5 min)
    python benchmarks/bench_speed.py --quick      # smoke run (~20 s)
    python benchmarks/bench_speed.py --scaling    # time per row, 1e4..1e6 rows
    python benchmarks/bench_speed.py --threads-study
    python benchmarks/bench_speed.py --memory-study --n-samples 200000 --n-features 200
    python benchmarks/bench_speed.py --decompose --repeats 7

Peak memory is the largest resident-set size above the level before the fit,
sampled every 2 ms in a background thread, in one more fit of each method
after all timed runs: glibc's mmap threshold is pinned for it, so that large
freed blocks go back to the OS and the resident size tracks what is in use.
That pinning turns every large allocation into a fresh ``mmap`` (page faults
on every batch) and cannot be undone, so no timing is taken after it.
"""

import argparse
import contextlib
import ctypes
import gc
import os
import platform
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn import functional as F

N_CLASSES = (2, 5, 10)
HIDDEN = (256, 128)
BATCH = 256
LR = 1e-3
PREDICT_BATCH = 8192
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before main() changes it
COLUMNS = ["method", "fit_s", "fit_ratio", "predict_s", "predict_ratio",
           "peak_fit_MB", "peak_over_X32", "acc_task_0", "acc_task_1", "acc_task_2"]


# -- data ----------------------------------------------------------------------
def make_data(n_samples, n_features, seed=0):
    """Float32 features in three column groups and three learnable tasks."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    thirds = np.array_split(np.arange(n_features), 3)
    latent = []
    for k in range(3):  # each task mixes two modalities, nonlinearly
        cols = np.concatenate([thirds[k], thirds[(k + 1) % 3]])
        w = rng.normal(size=(len(cols), 2)) / np.sqrt(len(cols))
        z = X[:, cols] @ w
        latent.append(z[:, 0] + 0.5 * np.tanh(2 * z[:, 1]))
    Y = np.empty((n_samples, 3), dtype=np.int64)
    for t, (z, k) in enumerate(zip(latent, N_CLASSES)):
        z = z + 0.3 * rng.normal(size=n_samples)
        Y[:, t] = np.digitize(z, np.quantile(z, np.linspace(0, 1, k + 1)[1:-1]))
    modalities = {f"m{k}": thirds[k].tolist() for k in range(3)}
    return X, Y, modalities


# -- the shared network ------------------------------------------------------
def MLP3(n_features, n_classes=N_CLASSES):
    """The network of every torch method: MultiTaskClassifier's own module,
    a 112-256-128 trunk and one linear head per task, returning a tuple."""
    from sklearn_mtmm.modules import MultiTaskMLP

    return MultiTaskMLP(n_features, list(n_classes), hidden_layer_sizes=HIDDEN)


class SumCE(nn.Module):
    """Sum over tasks of the mean cross-entropy (the criterion of the loops)."""

    def forward(self, logits, y):
        return sum(F.cross_entropy(z, y[:, t]) for t, z in enumerate(logits))


def single_task_mlp(n_features, n_classes):
    return nn.Sequential(nn.Linear(n_features, HIDDEN[0]), nn.ReLU(),
                         nn.Linear(HIDDEN[0], HIDDEN[1]), nn.ReLU(),
                         nn.Linear(HIDDEN[1], n_classes))


# -- methods: each is (fit(X, Y) -> model, predict(model, X) -> (n, 3) codes) --
class HandLoop:
    """The reference: pre-built tensors, a permuted index, plain Adam steps."""

    def __init__(self, epochs, seed, device="cpu"):
        self.epochs, self.seed, self.device = epochs, seed, torch.device(device)

    def fit(self, X, Y):
        torch.manual_seed(self.seed)
        self.module = MLP3(X.shape[1]).to(self.device)
        opt = torch.optim.Adam(self.module.parameters(), lr=LR)
        Xt = torch.from_numpy(X).to(self.device)
        Yt = torch.from_numpy(Y).to(self.device)
        n = len(Xt)
        self.module.train()
        for _ in range(self.epochs):
            order = torch.randperm(n).to(self.device)
            for start in range(0, n, BATCH):
                idx = order[start:start + BATCH]
                loss = SumCE()(self.module(Xt[idx]), Yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def predict(self, X):
        self.module.eval()
        Xt = torch.from_numpy(X)
        out = [[] for _ in N_CLASSES]
        with torch.inference_mode():
            for start in range(0, len(Xt), PREDICT_BATCH):
                logits = self.module(Xt[start:start + PREDICT_BATCH].to(self.device))
                for t, z in enumerate(logits):
                    out[t].append(z.argmax(1).cpu())
        return np.column_stack([torch.cat(o).numpy() for o in out])


class SkorchDefault:
    """skorch's NeuralNet with its default Dataset/DataLoader, same module."""

    def __init__(self, epochs, seed):
        self.epochs, self.seed = epochs, seed

    def fit(self, X, Y):
        from skorch import NeuralNet

        torch.manual_seed(self.seed)
        self.net = NeuralNet(MLP3, module__n_features=X.shape[1], criterion=SumCE,
                             optimizer=torch.optim.Adam, lr=LR, batch_size=BATCH,
                             max_epochs=self.epochs, train_split=None,
                             iterator_train__shuffle=True, verbose=0)
        self.net.fit(X, Y)
        return self

    def predict(self, X):
        logits = self.net.forward(X)
        return np.column_stack([z.argmax(1).numpy() for z in logits])


class SkorchSeparate:
    """Three skorch NeuralNetClassifiers, one per task (the naive baseline)."""

    def __init__(self, epochs, seed):
        self.epochs, self.seed = epochs, seed

    def fit(self, X, Y):
        from skorch import NeuralNetClassifier

        torch.manual_seed(self.seed)
        self.nets = [
            NeuralNetClassifier(single_task_mlp, module__n_features=X.shape[1],
                                module__n_classes=k, criterion=nn.CrossEntropyLoss,
                                optimizer=torch.optim.Adam, lr=LR, batch_size=BATCH,
                                max_epochs=self.epochs, train_split=None,
                                iterator_train__shuffle=True, verbose=0).fit(X, Y[:, t])
            for t, k in enumerate(N_CLASSES)
        ]
        return self

    def predict(self, X):
        return np.column_stack([net.predict(X) for net in self.nets])


class Estimator:
    """A scikit-learn estimator used as is."""

    def __init__(self, make):
        self.make = make

    def fit(self, X, Y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning
            self.model = self.make().fit(X, Y)
        return self

    def predict(self, X):
        return np.asarray(self.model.predict(X))


def make_methods(args, modalities, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.neural_network import MLPClassifier

    from sklearn_mtmm import MultiTaskClassifier

    common = dict(lr=LR, max_epochs=args.epochs, batch_size=BATCH,
                  n_threads=args.threads, random_state=seed)
    methods = {
        "hand-written loop": lambda: HandLoop(args.epochs, seed),
        "skorch NeuralNet (default data path)": lambda: SkorchDefault(args.epochs, seed),
        "MultiTaskClassifier": lambda: Estimator(lambda: MultiTaskClassifier(
            hidden_layer_sizes=HIDDEN, **common)),
    }
    try:
        from sklearn_mtmm import MultiModalFusionClassifier
    except ImportError:
        pass
    else:
        # Three encoders of 86 units (258 in all), then 128: about the same
        # size as the 112-256-128 trunk, split by modality.
        methods["MultiModalFusionClassifier (3 modalities)"] = lambda: Estimator(
            lambda: MultiModalFusionClassifier(
                modalities=modalities, fusion="intermediate",
                encoder_hidden_sizes=(86,), hidden_layer_sizes=(HIDDEN[1],),
                **common))
    methods["3 separate skorch classifiers"] = lambda: SkorchSeparate(args.epochs, seed)
    methods["MultiOutputClassifier(MLPClassifier)"] = lambda: Estimator(
        lambda: MultiOutputClassifier(MLPClassifier(
            hidden_layer_sizes=HIDDEN, batch_size=BATCH, learning_rate_init=LR,
            max_iter=args.epochs, tol=0.0, n_iter_no_change=args.epochs + 1,
            random_state=seed)))
    methods["MultiOutputClassifier(HistGradientBoosting)"] = lambda: Estimator(
        lambda: MultiOutputClassifier(HistGradientBoostingClassifier(
            max_iter=args.hgb_iter, early_stopping=False, random_state=seed)))
    if args.methods:
        methods = {k: v for k, v in methods.items()
                   if k == "hand-written loop" or any(m.lower() in k.lower()
                                                      for m in args.methods)}
    return methods


# -- measurement -------------------------------------------------------------
def _pin_mmap_threshold():
    """Make glibc return large freed blocks to the OS, so RSS tracks usage."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD


def _trim_heap():
    """Return the heap's free pages to the OS (what earlier fits freed)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Largest RSS above the starting level while the block runs (bytes)."""

    def __enter__(self):
        gc.collect()
        _trim_heap()  # else reused free heap pages hide the increase
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.increase = self.peak - self.base


def run_once(factory, X, Y, X_test, Y_test, measure_memory=False):
    gc.collect()
    method = factory()
    memory = contextlib.nullcontext()
    if measure_memory:
        memory = PeakRSS()
    with memory:
        t0 = time.perf_counter()
        method.fit(X, Y)
        fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = method.predict(X_test)
    predict_s = time.perf_counter() - t0
    acc = (np.asarray(pred).astype(np.int64) == Y_test).mean(0)
    result = {"fit_s": fit_s, "predict_s": predict_s, "acc": acc}
    if measure_memory:
        result["peak"] = memory.increase
    del method
    gc.collect()
    return result


def benchmark(args):
    X_all, Y_all, modalities = make_data(args.n_samples + args.n_test, args.n_features)
    X, Y = X_all[:args.n_samples], Y_all[:args.n_samples]
    X_test, Y_test = X_all[args.n_samples:], Y_all[args.n_samples:]
    methods = make_methods(args, modalities, seed=0)
    names = list(methods)
    runs = {name: [] for name in names}
    for name in names:  # first-call costs (imports, thread pools, allocator)
        run_once(methods[name], X[:1024], Y[:1024], X_test[:1024], Y_test[:1024])
    for rep in range(args.repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            r = run_once(methods[name], X, Y, X_test, Y_test)
            runs[name].append(r)
            if args.verbose:
                print(f"  rep {rep} {name}: fit {r['fit_s']:.3f}s "
                      f"predict {r['predict_s']:.3f}s", file=sys.stderr, flush=True)
    # Memory last, in one more pass: pinning glibc's mmap threshold makes
    # every large allocation a fresh mmap, which slows the fits it measures
    # (and it cannot be undone), so no timed run may follow it.
    _pin_mmap_threshold()
    peaks, accs = {}, {}
    for name in names:
        r = run_once(methods[name], X, Y, X_test, Y_test, measure_memory=True)
        peaks[name], accs[name] = r["peak"], r["acc"]
    x32 = X.shape[0] * X.shape[1] * 4
    ref_fit = np.median([r["fit_s"] for r in runs[names[0]]])
    ref_pred = np.median([r["predict_s"] for r in runs[names[0]]])
    rows = []
    for name in names:
        fit_s = np.median([r["fit_s"] for r in runs[name]])
        pred_s = np.median([r["predict_s"] for r in runs[name]])
        rows.append([name, fit_s, fit_s / ref_fit, pred_s, pred_s / ref_pred,
                     peaks[name] / 2**20, peaks[name] / x32, *accs[name]])
    # per-repetition ratios (same repetition, adjacent in time): robust to load
    paired = {}
    for name in names:
        fr = [r["fit_s"] / h["fit_s"] for r, h in zip(runs[name], runs[names[0]])]
        pr = [r["predict_s"] / h["predict_s"] for r, h in zip(runs[name], runs[names[0]])]
        paired[name] = (fr, pr)
    return rows, paired


def format_table(rows):
    header = "| " + " | ".join(COLUMNS) + " |"
    lines = [header, "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [row[0], f"{row[1]:.3f}", f"{row[2]:.2f}x", f"{row[3]:.3f}",
                 f"{row[4]:.2f}x", f"{row[5]:.0f}", f"{row[6]:.2f}",
                 *(f"{a:.3f}" for a in row[7:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    import sklearn
    import skorch

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}, skorch "
            f"{skorch.__version__}, scikit-learn {sklearn.__version__}")


# -- scaling: time per row and peak memory from 1e4 to 1e6 rows ----------------
def scaling(args):
    from sklearn_mtmm import MultiTaskClassifier

    sizes = [int(s) for s in args.sizes]
    X, Y, _ = make_data(1000, args.n_features)  # first-call costs, not measured
    MultiTaskClassifier(hidden_layer_sizes=HIDDEN, max_epochs=1).fit(X, Y)
    HandLoop(1, 0).fit(X, Y)
    epochs = args.epochs

    def estimator():
        return MultiTaskClassifier(hidden_layer_sizes=HIDDEN, lr=LR, max_epochs=epochs,
                                   batch_size=BATCH, n_threads=args.threads, random_state=0)

    times = {}
    for n in sizes:  # times first: the memory pass pins the mmap threshold
        X, Y, _ = make_data(n, args.n_features, seed=1)
        t0 = time.perf_counter()
        estimator().fit(X, Y)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        HandLoop(epochs, 0).fit(X, Y)
        times[n] = fit_s, time.perf_counter() - t0
        del X, Y
        gc.collect()
    _pin_mmap_threshold()
    print(f"| rows | columns | epochs | MTC fit s | MTC us/row/epoch | hand us/row/epoch "
          f"| ratio | peak fit MB | X float32 MB | model MB | peak / (2 X32 + model) |")
    print("|" + "---|" * 11)
    for n in sizes:
        X, Y, _ = make_data(n, args.n_features, seed=1)
        clf = estimator()
        with PeakRSS() as mem:
            clf.fit(X, Y)
        fit_s, hand_s = times[n]
        model = sum(p.numel() * p.element_size() for p in clf.net_.module_.parameters())
        model_state = 4 * model  # weights, grads, two Adam moments
        x32 = X.nbytes
        print(f"| {n} | {X.shape[1]} | {epochs} | {fit_s:.2f} | "
              f"{1e6 * fit_s / n / epochs:.2f} | {1e6 * hand_s / n / epochs:.2f} | "
              f"{fit_s / hand_s:.2f}x | {mem.increase / 2**20:.0f} | "
              f"{x32 / 2**20:.0f} | {model_state / 2**20:.1f} | "
              f"{mem.increase / (2 * x32 + model_state):.2f} |", flush=True)
        del X, Y, clf
        gc.collect()


# -- where fit's time goes: data path, loss, skorch's loop ----------------------
def decompose(args):
    """Time the hand loop with the package's pieces swapped in one at a time."""
    from sklearn_mtmm import MultiTaskClassifier
    from sklearn_mtmm._data import BatchIterator, TensorBlocks
    from sklearn_mtmm._losses import MultiTaskLoss

    X, Y, _ = make_data(args.n_samples, args.n_features)

    def loop(loss="hand"):
        torch.manual_seed(0)
        module = MLP3(X.shape[1])
        opt = torch.optim.Adam(module.parameters(), lr=LR)
        weight = np.ones(Y.shape, np.float32) if loss == "weighted" else None
        data = TensorBlocks({"X": X}, Y, weight)
        criterion, weights = MultiTaskLoss(), torch.ones(len(N_CLASSES))
        for _ in range(args.epochs):
            for Xb, target in BatchIterator(data, BATCH, shuffle=True):
                logits = module(**Xb)
                if loss == "hand":
                    batch_loss = SumCE()(logits, target["y"])
                else:
                    batch_loss = (weights * criterion(logits, target["y"], target["w"])).sum()
                opt.zero_grad()
                batch_loss.backward()
                opt.step()

    def net_steps():
        """MultiTaskNet's train_step (get_loss, per-task totals), no skorch epoch loop."""
        torch.manual_seed(0)
        net = estimator.net_.initialize()
        net.on_train_begin(net)
        iterator = net.get_iterator(TensorBlocks({"X": X}, Y), training=True)
        for _ in range(args.epochs):
            net.on_epoch_begin(net)
            for batch in iterator:
                net.train_step(batch)

    def estimator_fit():
        return MultiTaskClassifier(hidden_layer_sizes=HIDDEN, lr=LR, max_epochs=args.epochs,
                                   batch_size=BATCH, n_threads=args.threads,
                                   random_state=0).fit(X, Y)

    estimator = estimator_fit()
    variants = {
        "hand-written loop": lambda: HandLoop(args.epochs, 0).fit(X, Y),
        "+ package's TensorBlocks/BatchIterator": lambda: loop("hand"),
        "+ package's loss (unweighted path: no missing label, equal weights)":
            lambda: loop("unweighted"),
        "  (the weighted path instead: missing labels or weights)": lambda: loop("weighted"),
        "+ MultiTaskNet.train_step (per-task totals), no skorch epoch loop": net_steps,
        "MultiTaskClassifier (+ skorch's loop, callbacks, history)": estimator_fit,
    }
    names = list(variants)
    times = {name: [] for name in names}
    for rep in range(args.repeats + 1):  # rep 0 warms up
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            t0 = time.perf_counter()
            variants[name]()
            if rep:
                times[name].append(time.perf_counter() - t0)
    ref = np.array(times[names[0]])
    print("| fit variant | median s | median of per-repetition ratios |")
    print("|---|---|---|")
    for name in names:
        t = np.array(times[name])
        print(f"| {name} | {np.median(t):.3f} | {np.median(t / ref):.3f}x |")


# -- memory by input type ------------------------------------------------------
def memory_study(args):
    import pandas as pd

    from sklearn_mtmm import MultiModalFusionClassifier, MultiTaskClassifier

    _pin_mmap_threshold()
    X, Y, modalities = make_data(args.n_samples, args.n_features)
    MultiTaskClassifier(max_epochs=1).fit(X[:500], Y[:500])  # first-call costs
    common = dict(max_epochs=1, batch_size=BATCH, n_threads=args.threads)
    stop = dict(early_stopping=True, n_iter_no_change=1)
    mtc = lambda **kw: MultiTaskClassifier(hidden_layer_sizes=HIDDEN, **common, **kw)  # noqa: E731
    frame = lambda A: pd.DataFrame(A, columns=[f"c{i}" for i in range(A.shape[1])])  # noqa: E731
    cases = [
        ("MultiTaskClassifier", "float32 array", lambda: X, lambda: mtc()),
        ("MultiTaskClassifier", "float32 array, early_stopping", lambda: X,
         lambda: mtc(**stop)),
        ("MultiTaskClassifier", "float64 array, early_stopping",
         lambda: X.astype(np.float64), lambda: mtc(**stop)),
        ("MultiTaskClassifier", "float64 DataFrame",
         lambda: frame(X.astype(np.float64)), lambda: mtc()),
        ("MultiModalFusionClassifier", "float32 array (3 modalities)", lambda: X,
         lambda: MultiModalFusionClassifier(modalities=modalities, **common)),
    ]
    print("| estimator | input | peak fit MiB | / float32 X |")
    print("|---|---|---|---|")
    for name, kind, data, make in cases:
        Xi, clf = data(), make()
        with PeakRSS() as mem:
            clf.fit(Xi, Y)
        print(f"| {name} | {kind} | {mem.increase / 2**20:.0f} | "
              f"{mem.increase / X.nbytes:.2f} |", flush=True)
        del Xi, clf
        gc.collect()


# -- threads: 1, 2 or torch's default, with and without a busy core ------------
@contextlib.contextmanager
def busy_core(seconds):
    """A process spinning on one core for at most ``seconds``; killed on exit."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def threads_study(args):
    from sklearn_mtmm import MultiTaskClassifier

    X, Y, _ = make_data(args.n_samples, args.n_features)
    torch.set_num_threads(TORCH_DEFAULT_THREADS)  # what n_threads=None keeps
    settings = [1, 2, None]
    print("| load | n_threads | fit s (median) | predict s (median) | fit vs n_threads=1 |")
    print("|---|---|---|---|---|")
    for loaded in (False, True):
        times = {s: ([], []) for s in settings}
        ctx = busy_core(600) if loaded else contextlib.nullcontext()
        with ctx:
            time.sleep(0.2)
            for rep in range(args.repeats):
                for s in settings[rep % 3:] + settings[:rep % 3]:
                    clf = MultiTaskClassifier(hidden_layer_sizes=HIDDEN, lr=LR,
                                              max_epochs=args.epochs, batch_size=BATCH,
                                              n_threads=s, random_state=0)
                    t0 = time.perf_counter()
                    clf.fit(X, Y)
                    times[s][0].append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    clf.predict(X)
                    times[s][1].append(time.perf_counter() - t0)
        ref = np.median(times[1][0])
        for s in settings:
            f, p = np.median(times[s][0]), np.median(times[s][1])
            label = f"None (torch default: {TORCH_DEFAULT_THREADS})" if s is None else s
            print(f"| {'1 core busy' if loaded else 'idle'} | {label} | {f:.3f} | "
                  f"{p:.3f} | {f / ref:.2f}x |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small data, few epochs: a smoke run (~20 s)")
    parser.add_argument("--n-samples", type=int, default=40_000)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--n-features", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hgb-iter", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and BLAS/OpenMP threads of every method")
    parser.add_argument("--methods", nargs="*",
                        help="substrings of method names to run (plus the loop)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--sizes", nargs="*", default=["1e4", "1e5", "1e6"],
                        type=lambda s: int(float(s)))
    parser.add_argument("--threads-study", action="store_true")
    parser.add_argument("--memory-study", action="store_true")
    parser.add_argument("--decompose", action="store_true",
                        help="fit time with the package's pieces swapped in one by one")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.hgb_iter = 3000, 2, 5
    args.n_test = args.n_test or args.n_samples

    with threadpool_limits(args.threads):
        previous = torch.get_num_threads()
        torch.set_num_threads(args.threads)
        try:
            if args.scaling:
                return scaling(args)
            if args.threads_study:
                return threads_study(args)
            if args.memory_study:
                return memory_study(args)
            if args.decompose:
                return decompose(args)
            print(f"Machine: {machine()}")
            print(f"Data: {args.n_samples} training rows (predict and accuracy on "
                  f"{args.n_test} more) x {args.n_features} float32 columns; tasks "
                  f"with {', '.join(map(str, N_CLASSES))} classes; MLP "
                  f"{args.n_features}-{HIDDEN[0]}-{HIDDEN[1]} + 3 heads; Adam lr={LR}; "
                  f"batch {BATCH}; {args.epochs} epochs; {args.threads} thread(s); "
                  f"median of {args.repeats} interleaved repetitions after a warm-up.")
            t0 = time.perf_counter()
            rows, paired = benchmark(args)
            print()
            print(format_table(rows))
            print()
            print("Per-repetition ratios to the hand-written loop (fit; predict):")
            for name, (fr, pr) in paired.items():
                print(f"  {name}: " + ", ".join(f"{a:.2f}" for a in fr) + "; "
                      + ", ".join(f"{b:.2f}" for b in pr))
            print(f"\nTotal time: {time.perf_counter() - t0:.0f} s")
        finally:
            torch.set_num_threads(previous)


if __name__ == "__main__":
    main()
