"""PRADA's statistics as SciPy and NumPy compute them, without the wrappers that cost most of the time.

Every ``prada_every`` queries a client's last ``prada_distances`` distances are trimmed at three standard
deviations and tested with Shapiro-Wilk. At 1,000 distances ``stats.shapiro`` spends about 120 of its 140
microseconds in its generic axis and NaN-policy wrapper, and ``np.std`` about 12 of its 17 in Python. Here
the same kernels run on the same inputs: SciPy's Shapiro-Wilk routine after the same preparation (sort,
subtract the middle input value), and NumPy's own steps for the mean and standard deviation. Each shortcut is
compared bit for bit with the public function once, at import, and the public function is used whenever they
disagree (another SciPy or NumPy that computes differently, or a kernel that moved), so W and every trimming
decision stay exactly what ``stats.shapiro`` and ``np.std`` give.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats  # type: ignore[import-untyped,import-not-found,unused-ignore]

from clearsight.guard.extraction._types import FloatArray

try:  # the routine stats.shapiro calls (SciPy >= 1.12); older SciPy keeps it elsewhere
    from scipy.stats._morestats import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        swilk as _swilk,
    )
except ImportError:  # pragma: no cover - the public function still works
    _swilk = None

# The Shapiro-Wilk coefficients depend only on the sample size: the routine computes them when told to (init 0)
# and otherwise uses the ones it is given (init 1), with the same W. Full windows test 1,000 distances less the
# few trimmed ones, so a handful of sizes recur; shared by all monitors (read-only once stored), capped in floats.
_COEFFICIENTS: dict[int, FloatArray] = {}
_COEFFICIENT_FLOATS = 1 << 20


def _shapiro_public(values: FloatArray, ordered: FloatArray | None = None) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "range zero" / "p-value may be inaccurate" concern p, not W
        return float(stats.shapiro(values).statistic)


def _shapiro_direct(values: FloatArray, ordered: FloatArray | None = None) -> float:
    y = np.sort(values) if ordered is None else ordered
    y -= values[values.size // 2]  # as stats.shapiro does (its gh-15777), with the unsorted input's middle
    n = values.size
    coefficients = _COEFFICIENTS.get(n)
    if coefficients is not None:
        return float(_swilk(y, coefficients, 1)[0])
    coefficients = np.zeros(n // 2)
    w = float(_swilk(y, coefficients, 0)[0])
    if (len(_COEFFICIENTS) + 1) * (n // 2 + 1) <= _COEFFICIENT_FLOATS:
        _COEFFICIENTS[n] = coefficients
    return w


def _spread_public(values: FloatArray) -> tuple[float, FloatArray]:
    return float(values.std()), values - values.mean()


def _spread_direct(values: FloatArray) -> tuple[float, FloatArray]:
    # np.mean and np.std's steps (pairwise sum, divide; subtract, square, pairwise sum, divide, sqrt), the mean once.
    n = values.size
    centered = values - np.add.reduce(values) / n
    return math.sqrt(np.add.reduce(np.square(centered)) / n), centered


def _shapiro_agrees() -> bool:
    if _swilk is None:
        return False
    probe = np.sin(np.arange(1.0, 120.0)) ** 3 + np.arange(119.0) / 50
    try:  # twice: computing the coefficients, then reusing them
        return _shapiro_direct(probe) == _shapiro_public(probe) == _shapiro_direct(probe, np.sort(probe))
    except Exception:  # pragma: no cover - a changed private signature
        _COEFFICIENTS.clear()
        return False


def _spread_agrees() -> bool:
    probe = np.exp(np.sin(np.arange(1.0, 1001.0)) * 3)[3:990]  # a view, as the distance ring's slice is
    std, centered = _spread_direct(probe)
    return std == float(probe.std()) and bool(np.array_equal(centered, probe - probe.mean()))


_shapiro: Callable[[FloatArray, FloatArray | None], float] = (
    _shapiro_direct if _shapiro_agrees() else _shapiro_public
)
_spread: Callable[[FloatArray], tuple[float, FloatArray]] = _spread_direct if _spread_agrees() else _spread_public


def shapiro_w(values: FloatArray, ordered: FloatArray | None = None) -> float:
    """``stats.shapiro(values).statistic``, bit for bit; ``ordered`` (``np.sort(values)``, overwritten) saves a sort."""
    return _shapiro(values, ordered)


def spread(values: FloatArray) -> tuple[float, FloatArray]:
    """``float(values.std())`` and ``values - values.mean()``, bit for bit, for a 1-D float64 array."""
    return _spread(values)
