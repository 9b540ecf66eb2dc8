"""
An L2-regularised logistic regression, fitted by Newton's method (IRLS).

The data are sparse rows (``(column, value)`` pairs, columns from 1; column
0 is the intercept, always 1), grouped: identical rows become one with a
count ``n`` and a number of positives ``y``, which gives the same likelihood
exactly.  The objective is

    sum_k [ n_k log(1 + exp(eta_k)) - y_k eta_k ] + l2/2 * sum_j beta_j^2

with ``eta_k = b0 + sum_j beta_j x_kj``; the intercept ``b0`` is not
penalised.  It is strictly convex when both classes occur and ``l2 > 0``,
so the minimum is unique and finite, even when the data are separable.

Each step solves ``H d = g`` (Cholesky in pure Python, ``numpy.linalg.solve``
in the numpy engine) and halves the step until the objective does not rise;
the fit stops once the largest change of a coefficient is below
:data:`TOLERANCE`, or after :data:`MAX_ITERATIONS` steps.  Starting point:
the intercept at the log odds of the base rate, every coefficient 0.  The
pure-Python engine is the oracle; the numpy engine runs the same steps with
arrays and agrees with it to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: The most Newton steps a fit takes.
MAX_ITERATIONS = 100
#: A fit stops once no coefficient moves by more than this in a step.
TOLERANCE = 1e-10

Row = tuple[tuple[int, float], ...]


def sigmoid(eta: float) -> float:
    """``1 / (1 + exp(-eta))``, without overflow."""
    if eta >= 0:
        return 1.0 / (1.0 + math.exp(-eta))
    z = math.exp(eta)
    return z / (1.0 + z)


def softplus(eta: float) -> float:
    """``log(1 + exp(eta))``, without overflow."""
    if eta > 0:
        return eta + math.log1p(math.exp(-eta))
    return math.log1p(math.exp(eta))


class _Python:
    """The pure-Python arithmetic of a fit: the oracle."""

    def __init__(self, rows: Sequence[Row], n: Sequence[int], y: Sequence[int], p: int) -> None:
        self.rows, self.n, self.y, self.p = rows, n, y, p

    def etas(self, theta: list[float]) -> list[float]:
        b0 = theta[0]
        return [b0 + sum(theta[j] * v for j, v in row) for row in self.rows]

    def objective(self, theta: list[float], l2: float) -> float:
        loss = math.fsum(
            nk * softplus(e) - yk * e for nk, yk, e in zip(self.n, self.y, self.etas(theta), strict=True)
        )
        return loss + l2 / 2 * math.fsum(b * b for b in theta[1:])

    def step(self, theta: list[float], l2: float) -> list[float]:
        size = self.p + 1
        g = [0.0] * size
        h = [[0.0] * size for _ in range(size)]
        h0 = h[0]
        for row, nk, yk, e in zip(self.rows, self.n, self.y, self.etas(theta), strict=True):
            pk = sigmoid(e)
            r = nk * pk - yk
            w = nk * pk * (1.0 - pk)
            g[0] += r
            h0[0] += w
            for i, (j, v) in enumerate(row):
                g[j] += r * v
                wv = w * v
                h0[j] += wv
                hj = h[j]
                for k, u in row[i:]:
                    hj[k] += wv * u
        for j in range(1, size):
            g[j] += l2 * theta[j]
            h[j][j] += l2
        for j in range(size):  # the upper triangle was summed: mirror it
            for k in range(j + 1, size):
                h[k][j] = h[j][k]
        return cholesky_solve(h, g)


def cholesky_solve(a: list[list[float]], b: list[float]) -> list[float]:
    """The solution of ``a x = b`` for a symmetric positive definite *a* (Cholesky)."""
    m = len(b)
    low = [[0.0] * m for _ in range(m)]
    for i in range(m):
        li = low[i]
        for j in range(i + 1):
            lj = low[j]
            s = a[i][j] - math.fsum(li[k] * lj[k] for k in range(j))
            if i == j:
                li[i] = math.sqrt(s) if s > 0 else 1e-300
            else:
                li[j] = s / lj[j]
    z = [0.0] * m
    for i in range(m):
        z[i] = (b[i] - math.fsum(low[i][k] * z[k] for k in range(i))) / low[i][i]
    x = [0.0] * m
    for i in reversed(range(m)):
        x[i] = (z[i] - math.fsum(low[k][i] * x[k] for k in range(i + 1, m))) / low[i][i]
    return x


class _Numpy:
    """The same arithmetic with numpy arrays (dense), for speed."""

    def __init__(self, np: Any, rows: Sequence[Row], n: Sequence[int], y: Sequence[int], p: int) -> None:
        self.np = np
        x = np.zeros((len(rows), p + 1))
        x[:, 0] = 1.0
        for i, row in enumerate(rows):
            for j, v in row:
                x[i, j] = v
        self.x = x
        self.n = np.asarray(n, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.mask = np.ones(p + 1)
        self.mask[0] = 0.0

    def objective(self, theta: list[float], l2: float) -> float:
        np = self.np
        t = np.asarray(theta)
        eta = self.x @ t
        loss = math.fsum((self.n * np.logaddexp(0.0, eta) - self.y * eta).tolist())
        return loss + l2 / 2 * math.fsum((t[1:] * t[1:]).tolist())

    def step(self, theta: list[float], l2: float) -> list[float]:
        np = self.np
        t = np.asarray(theta)
        eta = self.x @ t
        pk = np.exp(-np.logaddexp(0.0, -eta))  # the sigmoid, without overflow
        r = self.n * pk - self.y
        w = self.n * pk * (1.0 - pk)
        g = self.x.T @ r + l2 * self.mask * t
        h = (self.x * w[:, None]).T @ self.x + np.diag(l2 * self.mask)
        return [float(v) for v in np.linalg.solve(h, g)]


def fit(  # noqa: PLR0917 - the arrays of one fit, in order
    rows: Sequence[Row], n: Sequence[int], y: Sequence[int], p: int, l2: float, np: Any = None
) -> tuple[list[float], int, bool]:
    """
    The coefficients ``[b0, beta_1, ..., beta_p]`` minimising the
    objective, the steps taken, and whether the fit converged; with *np*
    (the numpy module) the numpy engine, else pure Python.
    """
    ops: _Python | _Numpy = _Python(rows, n, y, p) if np is None else _Numpy(np, rows, n, y, p)
    total, positives = sum(n), sum(y)
    theta = [math.log(positives / (total - positives))] + [0.0] * p
    f = ops.objective(theta, l2)
    for it in range(1, MAX_ITERATIONS + 1):
        d = ops.step(theta, l2)
        size = max(abs(v) for v in d)
        if not math.isfinite(size):
            return theta, it, False
        if size <= TOLERANCE:
            return [t - v for t, v in zip(theta, d, strict=True)], it, True
        t = 1.0
        while True:
            cand = [th - t * v for th, v in zip(theta, d, strict=True)]
            fc = ops.objective(cand, l2)
            if fc <= f or t * size <= TOLERANCE:
                break
            t /= 2
        theta, f = cand, fc
    return theta, MAX_ITERATIONS, False
