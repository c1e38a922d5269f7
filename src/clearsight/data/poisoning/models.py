"""Out-of-sample class probabilities: every poisoning signal that asks "what would a model say about this
row" must ask a model that never saw the row's own label, or the poison vouches for itself.

The model family follows the data: gradient boosting for tabular rows (mixed scales, categories, missing
values), and an average of a linear and a neighbour model for dense same-kind features (pixels,
embeddings), where boosting is slow and no better.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from clearsight.data.table import Encoded

FOLDS = 5


class Classifier(Protocol):
    classes_: NDArray[Any]

    def fit(self, x: NDArray[np.float64], y: NDArray[np.int64]) -> Any: ...

    def predict_proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...


def family(enc: Encoded) -> str:
    return "linear+neighbours" if enc.dense else "gradient-boosting"


def _boosting(enc: Encoded, columns: NDArray[np.int64], seed: int) -> Callable[[], Classifier]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    cats = enc.categorical[columns]
    return lambda: HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, categorical_features=cats if cats.any() else None, random_state=seed)


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


SVM_ROWS = 20_000  # a kernel machine's cost grows with the square of the rows: beyond this, linear + neighbours


def _dense(n: int) -> Callable[[], Classifier]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    k = int(np.clip(np.sqrt(n) / 4, 5, 25))

    def make() -> Classifier:
        members: list[Any] = [LogisticRegression(C=0.1, max_iter=3000), KNeighborsClassifier(k, weights="distance")]
        if n <= SVM_ROWS:
            members.append(CalibratedClassifierCV(SVC(), ensemble=False, cv=3))
        return _Average(members)

    return make


def oos_probabilities(enc: Encoded, *, drop: tuple[int, ...] = (), seed: int = 0,
                      folds: int = FOLDS) -> NDArray[np.float64]:
    """Class probabilities for every row from a model trained on the other folds (columns in ``drop`` hidden)."""
    from sklearn.model_selection import StratifiedKFold

    keep = _kept(enc, drop)
    x = view(enc, drop)
    make = _dense(len(enc.y)) if enc.dense else _boosting(enc, keep, seed)
    k = len(enc.classes)
    proba = np.zeros((len(enc.y), k))
    smallest = int(np.bincount(enc.y).min())
    splits = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the linear member on unscaled folds
        for train, test in splits.split(x, enc.y):
            model = make()
            model.fit(x[train], enc.y[train])
            proba[np.ix_(test, model.classes_.astype(np.int64))] = model.predict_proba(x[test])
    return proba


def fit_model(enc: Encoded, rows: NDArray[np.int64], seed: int = 0, drop: tuple[int, ...] = ()) -> Classifier:
    """A model of the same family trained on ``rows`` (columns in ``drop`` hidden; see :func:`view`)."""
    keep = _kept(enc, drop)
    make = _dense(len(rows)) if enc.dense else _boosting(enc, keep, seed)
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(view(enc, drop)[rows], enc.y[rows])
    return model


def _kept(enc: Encoded, drop: tuple[int, ...]) -> NDArray[np.int64]:
    return np.array([i for i in range(len(enc.names)) if i not in drop], dtype=np.int64)


def view(enc: Encoded, drop: tuple[int, ...] = ()) -> NDArray[np.float64]:
    """The matrix a model of this family sees, without the columns in ``drop``."""
    keep = _kept(enc, drop)
    if enc.dense:
        return enc.distance[:, np.isin(enc.distance_owner, keep)]
    return enc.model[:, keep]


def features(enc: Encoded) -> NDArray[np.float64]:
    return enc.distance if enc.dense else enc.model
