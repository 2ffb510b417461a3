"""Small numerical kernels shared by the engine.

Everything here works on plain numpy arrays. The helpers exist because the same
three operations appear in every score and Hessian: a weighted cross-product of
two designs, a max-shifted log-sum-exp over classes, and a solve with a
possibly ill-conditioned negative-definite matrix.
"""

from __future__ import annotations

import numpy as np

#: A design is an (n, p) float array, or ``None`` for the constant design of an
#: ancillary parameter (a column of ones that is never materialised).
Design = np.ndarray | None


def design_width(design: Design) -> int:
    """Number of columns of a design (1 for the implicit constant)."""
    return 1 if design is None else design.shape[1]


def weighted_sum(design: Design, c: np.ndarray) -> np.ndarray:
    """Return ``D' c`` as a 1-D array."""
    if design is None:
        return np.atleast_1d(c.sum())
    return design.T @ c


#: Rows per block in :func:`weighted_cross`: the scaled block stays in cache
#: instead of a full n x p temporary going through memory (2x faster at n=1e6).
CROSS_BLOCK = 16_384


def weighted_cross(a: Design, c: np.ndarray, b: Design) -> np.ndarray:
    """Return ``A' diag(c) B`` without forming ``diag(c)``.

    The constant design is handled without a column of ones, so ancillary
    blocks cost one pass over ``c``. Large designs are processed in row
    blocks of :data:`CROSS_BLOCK`.
    """
    if a is None and b is None:
        return np.array([[c.sum()]])
    if a is None:
        return (b.T @ c)[None, :]
    if b is None:
        return (a.T @ c)[:, None]
    n = a.shape[0]
    if n <= 2 * CROSS_BLOCK:
        return (a.T * c) @ b
    out = np.zeros((a.shape[1], b.shape[1]))
    buf = np.empty((CROSS_BLOCK, a.shape[1]))
    for start in range(0, n, CROSS_BLOCK):
        stop = min(start + CROSS_BLOCK, n)
        blk = buf[: stop - start]
        np.multiply(a[start:stop], c[start:stop, None], out=blk)
        out += blk.T @ b[start:stop]
    return out


def matmul_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a tall ``a`` and a narrow ``b``, as a column-major result.

    One matrix-vector product per column of ``b``: on tall-skinny operands
    OpenBLAS's gemv is several times faster than its gemm, and column-major
    output keeps each column contiguous for the per-class loops.
    """
    b = np.asarray(b, dtype=float)
    out = np.empty((a.shape[0], b.shape[1]), order="F")
    for j in range(b.shape[1]):
        np.dot(a, np.ascontiguousarray(b[:, j]), out=out[:, j])
    return out


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp of an (n, K) array, max-shifted.

    Hand written because ``scipy.special.logsumexp`` copies and checks more
    than this hot path needs (measured ~3x slower at n = 1e5).
    """
    # column loops: numpy reductions along a short last axis are slow
    k = a.shape[1]
    m = a[:, 0].copy()
    for j in range(1, k):
        np.maximum(m, a[:, j], out=m)
    m[~np.isfinite(m)] = 0.0
    s = np.exp(a[:, 0] - m)
    for j in range(1, k):
        s += np.exp(a[:, j] - m)
    with np.errstate(divide="ignore"):
        return np.log(s) + m


def jacobi_scale(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale a symmetric matrix to unit diagonal: ``a_s = a / (d d')``, ``d = sqrt|diag a|``.

    Coefficients of ``age**2`` and of a constant differ by orders of
    magnitude; scaled, the condition number reflects the model, not the units.
    """
    d = np.sqrt(np.abs(np.diag(a)))
    d = np.where(d > 0, d, 1.0)
    return a / d[:, None] / d[None, :], d


def solve_negdef(h: np.ndarray, g: np.ndarray, ridge: float = 0.0) -> tuple[np.ndarray, bool]:
    """Solve ``(-h) x = g`` for a Hessian ``h`` that should be negative definite.

    The system is Jacobi-scaled first (coefficients of ``age**2`` and of a
    constant differ by orders of magnitude, the raw condition number can be
    1e12). Returns the solution and whether ``-h`` (plus ``ridge`` times its
    diagonal) was positive definite. When it is not, the returned step is a
    Levenberg-damped one that still ascends.
    """
    a_s, d = jacobi_scale(-h)
    g_s = g / d
    if not (np.all(np.isfinite(a_s)) and np.all(np.isfinite(g_s))):
        # overflowing derivatives (a class at the edge of the parameter space):
        # LAPACK would return NaN or fail; steepest ascent on the finite part instead
        return np.where(np.isfinite(g_s), g_s, 0.0) / d, False
    if ridge:
        a_s = a_s + ridge * np.eye(len(g))
    try:
        chol = np.linalg.cholesky(a_s)
        x = np.linalg.solve(chol.T, np.linalg.solve(chol, g_s))
        return x / d, True
    except np.linalg.LinAlgError:
        pass
    try:
        w, v = np.linalg.eigh(a_s)
    except np.linalg.LinAlgError:
        # LAPACK gives up on a badly scaled or non-finite matrix: steepest ascent
        # on the scaled problem, which the caller's line search shortens as needed
        return np.where(np.isfinite(g_s), g_s, 0.0) / d, False
    shift = max(1e-8, -w.min() + 1e-3 * max(1.0, abs(w).max()))
    x = v @ ((v.T @ g_s) / (w + shift))
    return x / d, False
