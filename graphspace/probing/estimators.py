"""The probes: linear models with their regularization chosen on the validation rows, and gradient-boosted
trees. Each fits on the train rows and predicts every row."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.linalg import LinAlgWarning
from scipy.stats import kendalltau
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

REGULARIZATION = np.logspace(-3, 4, 15)  # ridge alpha; 1 / C of the logistic regression


def linear_probe(
    kind: str,
    views: Sequence[np.ndarray],
    y: np.ndarray,
    train: np.ndarray,
    select: np.ndarray,
    blas_threads: int | None = 1,
) -> np.ndarray:
    """Predictions for every row of a standardized linear model (ridge for "continuous" targets, multinomial
    logistic regression for "categorical" ones) fitted on the `train` rows, on the one of `views` (alternative
    feature matrices of the same rows) and with the strength of its L2 penalty that score best on the `select`
    rows (boolean masks).

    The fits run on `blas_threads` BLAS threads (None: the libraries' default). One, because the products are
    small: on two OpenBLAS threads scipy's L-BFGS-B (the logistic regression) runs several times slower (see
    `benchmarks/probe.py`)."""
    best, best_score = None, -np.inf
    with threadpool_limits(blas_threads, user_api="blas"):
        for x, alpha in itertools.product(views, REGULARIZATION):
            model, score = _fit_linear(kind, x, alpha, y, train, select)
            if best is None or score > best_score:
                best, best_score, chosen = model, score, x
        return best.predict(chosen)


def _fit_linear(
    kind: str, x: np.ndarray, alpha: float, y: np.ndarray, train: np.ndarray, select: np.ndarray
) -> tuple[Pipeline, float]:
    """A standardized linear model with penalty `alpha` fitted on the `train` rows, and its score on `select`."""
    estimator = Ridge(alpha=alpha) if kind == "continuous" else LogisticRegression(C=1 / alpha, max_iter=1000)
    model = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():  # weak penalties are tried too: ill-conditioned, or not converged within
        warnings.simplefilter("ignore", LinAlgWarning)  # max_iter; the validation score judges the result
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[train], y[train])
    return model, next(iter(scores(kind, y[select], model.predict(x[select])).values()))


def gbt_probe(kind: str, x: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """Predictions for every row of gradient-boosted trees (scikit-learn's histogram GBT, default settings)
    fitted on the `train` rows."""
    estimator = HistGradientBoostingRegressor if kind == "continuous" else HistGradientBoostingClassifier
    return estimator(random_state=seed).fit(x[train], y[train]).predict(x)


def scores(kind: str, truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """R² and Kendall's tau (continuous targets) or accuracy (categorical), first the one that selects."""
    if kind == "categorical":
        return {"accuracy": float(accuracy_score(truth, prediction))}
    if len(truth) < 2:  # neither is defined on fewer than two rows (a split of a tiny zoo)
        return {"r2": float("nan"), "kendall_tau": float("nan")}
    tau = kendalltau(truth, prediction).statistic if np.ptp(prediction) > 0 else 0.0
    return {"r2": float(r2_score(truth, prediction)), "kendall_tau": float(tau)}
