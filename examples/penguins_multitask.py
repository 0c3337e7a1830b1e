"""Three tasks at once on the Palmer penguins: species, island and sex.

One MultiTaskClassifier learns all three targets from the four body
measurements, with a shared trunk and one head per task. ``sex`` has missing
labels: those rows still train ``species`` and ``island``. The script prints
cross-validated per-task accuracy next to per-task LogisticRegression and
HistGradientBoosting baselines, then grid-searches the task loss weights.

Run: python examples/penguins_multitask.py   (about 20 s on one CPU core)
"""

import numpy as np
import palmerpenguins
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtmm import MultiTaskClassifier
from sklearn_mtmm.metrics import mean_task_accuracy

torch.set_num_threads(1)

data = palmerpenguins.load_penguins()
features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
data = data.dropna(subset=features).reset_index(drop=True)
X, Y = data[features], data[["species", "island", "sex"]]
print(f"{len(X)} penguins, {X.shape[1]} features, tasks {list(Y)}; "
      f"{Y['sex'].isna().sum()} rows miss the 'sex' label\n")

# Missing labels make Y unsuitable for stratified splits: use a plain KFold.
cv = KFold(5, shuffle=True, random_state=0)


def multitask():
    return make_pipeline(StandardScaler(), MultiTaskClassifier(
        hidden_layer_sizes=(64,), lr=0.01, max_epochs=60, random_state=0))


def per_task_accuracy(make_model, one_model_per_task):
    """Cross-validated accuracy of each task, on its labelled rows."""
    scores = {task: [] for task in Y}
    for train, test in cv.split(X):
        if not one_model_per_task:
            pred = make_model().fit(X.iloc[train], Y.iloc[train]).predict(X.iloc[test])
        for j, task in enumerate(Y):
            labelled = Y[task].iloc[test].notna().to_numpy()
            truth = Y[task].iloc[test].to_numpy()[labelled]
            if one_model_per_task:
                keep = Y[task].iloc[train].notna().to_numpy()
                model = make_model().fit(X.iloc[train][keep], Y[task].iloc[train][keep])
                guess = model.predict(X.iloc[test][labelled])
            else:
                guess = pred[labelled, j]
            scores[task].append(np.mean(guess == truth))
    return {task: np.mean(s) for task, s in scores.items()}


rows = {
    "MultiTaskClassifier (one network)": per_task_accuracy(multitask, False),
    "LogisticRegression per task": per_task_accuracy(
        lambda: make_pipeline(StandardScaler(), LogisticRegression()), True),
    "HistGradientBoosting per task": per_task_accuracy(
        lambda: HistGradientBoostingClassifier(random_state=0), True),
}
print(f"{'5-fold CV accuracy':36}" + "".join(f"{t:>10}" for t in Y) + f"{'mean':>10}")
for name, scores in rows.items():
    values = list(scores.values())
    print(f"{name:36}" + "".join(f"{v:10.3f}" for v in values) + f"{np.mean(values):10.3f}")

search = GridSearchCV(
    multitask(),
    {"multitaskclassifier__loss_weights": [None, {"island": 2.0}, {"sex": 2.0},
                                           {"species": 0.5, "island": 2.0}]},
    scoring=mean_task_accuracy, cv=KFold(3, shuffle=True, random_state=0))
search.fit(X, Y)
print("\nGridSearchCV over loss_weights (mean per-task accuracy, 3-fold):")
for params, score in zip(search.cv_results_["params"],
                         search.cv_results_["mean_test_score"]):
    print(f"  {str(params['multitaskclassifier__loss_weights']):36} {score:.3f}")
print(f"best: {search.best_params_['multitaskclassifier__loss_weights']}")
