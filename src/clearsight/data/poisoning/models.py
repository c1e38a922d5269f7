"""Out-of-sample class probabilities: every poisoning signal that asks "what would a model say about this
row" must ask a model that never saw the row's own label, or the poison vouches for itself.

The model family follows the data: gradient boosting for tabular rows (mixed scales, categories, missing
values), and an average of a linear, a neighbour and (up to 20,000 rows) a kernel model for dense same-kind
features (pixels, embeddings), where boosting is slow and no better.

Each fit is an independent task (a fold, a trigger test) described by a picklable :class:`ModelSpec`, so an
executor can run them in worker processes or on a Dask cluster; every model has a fixed seed, so the
probabilities are the same wherever they were computed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from clearsight.data.table import Encoded
from clearsight.executors import Executor, SerialExecutor

FOLDS = 5
SVM_ROWS = 20_000  # a kernel machine's cost grows with the square of the rows: beyond this, linear + neighbours


class Classifier(Protocol):
    classes_: NDArray[Any]

    def fit(self, x: NDArray[np.float64], y: NDArray[np.int64]) -> Any: ...

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...


def family(enc: Encoded) -> str:
    return "linear+neighbours+svm" if enc.dense else "gradient-boosting"


class _Average:
    """Mean of member probabilities (scikit-learn's VotingClassifier refits label encoders we do not need)."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        self.classes_: NDArray[Any] = np.zeros(0)

    def fit(self, x: NDArray[np.float64], y: NDArray[np.int64]) -> _Average:
        for m in self.members:
            m.fit(x, y)
        self.classes_ = self.members[0].classes_
        return self

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.mean([m.predict_proba(x) for m in self.members], axis=0)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build the same model in another process."""

    dense: bool
    categorical: tuple[bool, ...]
    rows: int
    seed: int

    def build(self) -> Classifier:
        if self.dense:
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.linear_model import LogisticRegression
            from sklearn.neighbors import KNeighborsClassifier
            from sklearn.svm import SVC

            k = int(np.clip(np.sqrt(self.rows) / 4, 5, 25))
            members: list[Any] = [LogisticRegression(C=0.1, max_iter=3000), KNeighborsClassifier(k, weights="distance")]
            if self.rows <= SVM_ROWS:
                members.append(CalibratedClassifierCV(SVC(), ensemble=False, cv=3))
            return _Average(members)
        from sklearn.ensemble import HistGradientBoostingClassifier

        cats = np.array(self.categorical, dtype=bool)
        return HistGradientBoostingClassifier(  # type: ignore[no-any-return]
            max_iter=150, learning_rate=0.1, categorical_features=cats if cats.any() else None,
            random_state=self.seed)


Task = tuple[ModelSpec, NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]


def fit_predict(task: Task) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Train on one part, predict another: the unit of work an executor ships (module level, so it pickles)."""
    spec, x_train, y_train, x_test = task
    model = spec.build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the linear member
        model.fit(x_train, y_train)
        return model.classes_.astype(np.int64), model.predict_proba(x_test)


def _kept(enc: Encoded, drop: tuple[int, ...]) -> NDArray[np.int64]:
    return np.array([i for i in range(len(enc.names)) if i not in drop], dtype=np.int64)


def view(enc: Encoded, drop: tuple[int, ...] = ()) -> NDArray[np.float64]:
    """The matrix a model of this family sees, without the columns in ``drop``."""
    keep = _kept(enc, drop)
    if enc.dense:
        return enc.distance[:, np.isin(enc.distance_owner, keep)]
    return enc.model[:, keep]


def spec_for(enc: Encoded, rows: int, seed: int, drop: tuple[int, ...] = ()) -> ModelSpec:
    return ModelSpec(dense=enc.dense, categorical=tuple(bool(c) for c in enc.categorical[_kept(enc, drop)]),
                     rows=rows, seed=seed)


def oos_probabilities(enc: Encoded, *, seed: int = 0, folds: int = FOLDS,
                      executor: Executor | None = None) -> NDArray[np.float64]:
    """Class probabilities for every row from a model trained on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    x = view(enc)
    smallest = int(np.bincount(enc.y).min())
    splits = list(StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
                  .split(x, enc.y))
    spec = spec_for(enc, len(enc.y), seed)
    tasks: list[Task] = [(spec, x[train], enc.y[train], x[test]) for train, test in splits]
    proba = np.zeros((len(enc.y), len(enc.classes)))
    results = (executor or SerialExecutor()).map(fit_predict, tasks)
    for (_train, test), (classes, p) in zip(splits, results, strict=True):
        proba[np.ix_(test, classes)] = p
    return proba


def predict_held_out(enc: Encoded, jobs: list[tuple[NDArray[np.int64], NDArray[np.int64], tuple[int, ...]]], *,
                     seed: int = 0, executor: Executor | None = None) -> list[NDArray[np.float64]]:
    """For each (train rows, test rows, hidden columns): full-width probabilities for the test rows."""
    tasks: list[Task] = []
    for train, test, drop in jobs:
        x = view(enc, drop)
        tasks.append((spec_for(enc, len(train), seed, drop), x[train], enc.y[train], x[test]))
    out = []
    for (classes, p), (_train, test, _drop) in zip((executor or SerialExecutor()).map(fit_predict, tasks), jobs,
                                                   strict=True):
        full = np.zeros((len(test), len(enc.classes)))
        full[:, classes] = p
        out.append(full)
    return out
