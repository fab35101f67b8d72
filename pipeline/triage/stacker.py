"""``SharedWeightsStacker``: turning the base views' scores into probabilities with few weights, for many classes."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin


class SharedWeightsStacker(ClassifierMixin, BaseEstimator):
    """A stacker with one weight per view, shared by all classes, and a bias per class (a conditional logit).

    logit(c) = sum over views v of w_v * score_v(c) + b_c. With many classes a multinomial regression over every
    view's score of every class has too many weights for the data; this one has (views + classes) and still
    learns how far to trust each view. ``n_views`` blocks of ``n_classes`` columns lead the input (columns
    are class codes 0..n_classes-1); any further columns (not per class) are ignored.
    """

    def __init__(self, *, n_classes: int, n_views: int = 4, alpha: float = 1e-2) -> None:
        self.n_classes = n_classes
        self.n_views = n_views
        self.alpha = alpha

    def _views(self, X: np.ndarray) -> np.ndarray:
        k = len(self.classes_)
        views = np.stack([X[:, v * k : (v + 1) * k] for v in range(self.n_views)], axis=2)
        return (views - self.mean_) / self.scale_

    def fit(self, X: np.ndarray, y: np.ndarray) -> SharedWeightsStacker:
        self.classes_ = np.arange(self.n_classes)  # codes: every class has its columns, seen in y or not
        k, n = len(self.classes_), len(y)
        raw = np.stack([X[:, v * k : (v + 1) * k] for v in range(self.n_views)], axis=2)
        self.mean_, self.scale_ = raw.reshape(-1, self.n_views).mean(0), raw.reshape(-1, self.n_views).std(0) + 1e-9
        views = (raw - self.mean_) / self.scale_
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y] = 1

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = params[: self.n_views], params[self.n_views :]
            logits = views @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(logits).sum(axis=1))
            nll = -(logits[np.arange(n), y] - log_norm).mean() + self.alpha * (w @ w + b @ b)
            residual = (np.exp(logits - log_norm[:, None]) - onehot) / n
            grad_w = np.einsum("nk,nkv->v", residual, views) + 2 * self.alpha * w
            grad_b = residual.sum(axis=0) + 2 * self.alpha * b
            return nll, np.concatenate([grad_w, grad_b])

        self.coef_ = minimize(loss, np.zeros(self.n_views + k), jac=True, method="L-BFGS-B").x
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits = self._views(X) @ self.coef_[: self.n_views] + self.coef_[self.n_views :]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)
